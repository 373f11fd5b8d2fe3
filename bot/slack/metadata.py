"""Sealed private_metadata: a modal's context comes back exactly as we wrote it.

A view_submission payload can be forged by anyone holding a valid Slack session, so the
action and channel a form was opened for are signed, not trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class Sealer:
    def __init__(self, key: str) -> None:
        self._key = hashlib.sha256(b"private_metadata:" + key.encode()).digest()

    def _mac(self, data: bytes) -> str:
        digest = hmac.new(self._key, data, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def seal(self, value: dict[str, Any]) -> str:
        data = json.dumps(value, separators=(",", ":"), sort_keys=True)
        return f"{data}|{self._mac(data.encode())}"

    def open(self, sealed: str) -> dict[str, Any] | None:
        """The original value, or None when missing, malformed or tampered with."""
        data, _, mac = (sealed or "").rpartition("|")
        if not data or not hmac.compare_digest(mac, self._mac(data.encode())):
            return None
        try:
            value = json.loads(data)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
