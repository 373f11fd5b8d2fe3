"""Both signatures every webhook carries: OpsLevel-compatible and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence


def opslevel_content(headers: Mapping[str, str], body: bytes) -> bytes:
    """`Name:Value` pairs sorted by name in code-point order, joined by `,`, then `+body`."""
    head = ",".join(f"{name}:{headers[name]}" for name in sorted(headers))
    return head.encode("utf-8") + b"+" + body


def opslevel_signature(secret: str, signed_headers: Mapping[str, str], body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 keyed by the secret string's UTF-8 bytes."""
    content = opslevel_content(signed_headers, body)
    return "sha256=" + hmac.new(secret.encode("utf-8"), content, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret: the base64-decoded part after the prefix."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(
    *,
    secret: str | Sequence[str],
    prefix: str,
    run_id: str,
    msg_id: str,
    timestamp: int,
    configured: Mapping[str, str],
    body: bytes,
) -> dict[str, str]:
    """The headers to add to a request whose configured headers are ``configured``.

    The OpsLevel-style signature covers the timing header, the run-id header and each
    header configured on the action, named exactly as configured; it is made with the first
    secret. With several secrets (a rotation), `webhook-signature` carries one signature per
    secret, space-separated, so receivers verify with either the old or the new one.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    ours = {f"{prefix}-Timing": str(timestamp), f"{prefix}-Action-Uuid": run_id}
    signature = opslevel_signature(secrets[0], {**configured, **ours}, body)
    standard = " ".join(standard_signature(s, msg_id, timestamp, body) for s in secrets)
    return {
        **ours,
        f"{prefix}-Signature": signature,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
    }
