"""Authenticating an async receiver's callback: the run's token, plus its signature if sent."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot import inbound
from bot.webhooks import render
from bot.webhooks.signing import standard_signature

if TYPE_CHECKING:
    from bot.runtime import Runtime

TOLERANCE = 300  # seconds, as Standard Webhooks' libraries use


def _token(headers: Mapping[str, str], query: Mapping[str, str], prefix: str) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get(f"{prefix}-Callback-Token".lower()) or query.get("token") or ""


def signature_ok(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """A Standard Webhooks signature (any of the space-separated ones) over the body."""
    msg_id = headers.get("webhook-id", "")
    stamp = inbound.timestamp(headers.get("webhook-timestamp", ""))
    if not msg_id or stamp is None or abs(time.time() - stamp) > TOLERANCE:
        return False
    expected = standard_signature(secret, msg_id, stamp, body)
    offered = headers.get("webhook-signature", "").encode("utf-8", "replace").split()
    return any(hmac.compare_digest(expected.encode(), sig) for sig in offered)


def authentic(
    runtime: Runtime,
    run_id: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    body: bytes,
) -> bool:
    prefix = runtime.settings.WEBHOOK_HEADER_PREFIX.lower()
    token = _token(headers, query, prefix)
    expected = render.callback_tokens(runtime.settings, run_id)
    # Compared as bytes: compare_digest refuses str with non-ASCII characters.
    offered = token.encode("utf-8", "replace")
    if not token or not any(hmac.compare_digest(offered, e.encode()) for e in expected):
        return False
    if "webhook-signature" in headers:
        return any(signature_ok(s, headers, body) for s in runtime.settings.webhook_secrets)
    return True
