"""Encrypts the values of `secret` inputs while their run waits to be delivered.

A durable queue must survive a restart, so a secret input cannot live only in memory;
it is kept encrypted (Fernet, keyed from WEBHOOK_SIGNING_SECRET) in the delivery job and
erased once the run is final. It never reaches the run's inputs or the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(Exception):
    """The sealed values cannot be opened (the signing secret changed since)."""


class Vault:
    def __init__(self, secrets: list[str]) -> None:
        # The newest secret encrypts; older ones (during a rotation) still decrypt.
        keys = [hashlib.sha256(b"secret-inputs:" + s.encode()).digest() for s in secrets]
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(k)) for k in keys])

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise VaultError("the secret inputs of this run can no longer be read") from None
