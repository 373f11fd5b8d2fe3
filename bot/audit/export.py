"""Signed audit exports: a manifest beside the file, signed with Ed25519, checked offline.

The manifest holds the file's SHA-256 and size, how many events it has, the seq and hash of
its first and last event, the period, and an Ed25519 signature over the canonical JSON of
every other field. The signing key is `AUDIT_SIGNING_KEY` (base64 of the 32-byte private
key, from `python -m bot audit keygen`). The manifest names the public key too, but only
as a hint: whoever verifies passes the key they trust (`--public-key`), since a forger
would simply put their own key in the manifest.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.store.chain import canonical
from bot.store.models import utcnow

VERSION = 1


class BadKey(ValueError):
    """A key that cannot be read; the message says what was expected."""


def keygen() -> tuple[str, str]:
    """A new key pair: (private key for AUDIT_SIGNING_KEY, public key), both base64."""
    key = Ed25519PrivateKey.generate()
    return _b64(_raw_private(key)), public_key_of(key)


def _key_bytes(text: str) -> bytes:
    """A key's raw bytes from base64, or b"" when it is not base64 (the caller says why)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def private_key(value: str) -> Ed25519PrivateKey:
    raw = _key_bytes(value.strip())
    if len(raw) != 32:
        raise BadKey(
            "AUDIT_SIGNING_KEY: expected base64 of a 32-byte Ed25519 private key; "
            "make one with `python -m bot audit keygen`"
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(value: str) -> Ed25519PublicKey:
    """A public key given as base64 (as keygen prints it), PEM, or a file holding either."""
    text = value.strip()
    path = Path(text)
    if len(text) < 4096 and not text.startswith("-----") and path.is_file():
        text = path.read_text().strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_public_key(text.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            raise BadKey("--public-key: the PEM key is not an Ed25519 key")
        return loaded
    raw = _key_bytes(text)
    if len(raw) != 32:
        raise BadKey(
            "--public-key: expected base64 of a 32-byte Ed25519 public key (as "
            "`python -m bot audit keygen` prints it), a PEM key, or a file holding one"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_of(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64(raw)


def manifest(
    content: bytes,
    rows: list[dict[str, Any]],
    *,
    fmt: str,
    name: str,
    since: datetime,
    until: datetime,
    key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """The signed manifest of an export whose bytes are ``content`` and rows ``rows``."""
    first, last = (rows[0], rows[-1]) if rows else ({}, {})
    body: dict[str, Any] = {
        "version": VERSION,
        "algorithm": "Ed25519",
        "file": name,
        "format": fmt,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "events": len(rows),
        "first_seq": first.get("seq"),
        "first_hash": first.get("hash"),
        "last_seq": last.get("seq"),
        "last_hash": last.get("hash"),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "created_at": utcnow().isoformat(),
        "public_key": public_key_of(key),
    }
    return {**body, "signature": _b64(key.sign(_signed(body)))}


def verify(content: bytes, found: dict[str, Any], key: Ed25519PublicKey) -> list[str]:
    """What is wrong with an export and its manifest; empty if the signature and file match."""
    problems: list[str] = []
    body = {k: v for k, v in found.items() if k != "signature"}
    try:
        key.verify(base64.b64decode(str(found.get("signature", ""))), _signed(body))
    except (InvalidSignature, binascii.Error, ValueError):
        problems.append(
            "the signature does not verify with the given public key: the manifest was "
            "changed or signed with another key"
        )
    digest = hashlib.sha256(content).hexdigest()
    if digest != found.get("sha256"):
        problems.append(
            f"the file's SHA-256 is {digest}, the manifest says {found.get('sha256')}: "
            "the file was changed"
        )
    try:
        rows = _rows(content, str(found.get("format", "jsonl")))
    except ValueError as exc:
        return [*problems, f"the file cannot be read as {found.get('format')}: {exc}"]
    first, last = (rows[0], rows[-1]) if rows else ({}, {})
    expected = {
        "events": len(rows),
        "first_hash": first.get("hash"),
        "last_hash": last.get("hash"),
    }
    for field, value in expected.items():
        if found.get(field) != value:
            problems.append(f"{field}: the file has {value}, the manifest says {found.get(field)}")
    return problems


def _rows(content: bytes, fmt: str) -> list[dict[str, Any]]:
    text = content.decode("utf-8")
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _signed(body: dict[str, Any]) -> bytes:
    return b"slack-actions audit export manifest\n" + canonical(body)


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
