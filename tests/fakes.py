"""Test doubles for end-to-end tests.

The Slack simulator and the webhook receiver live in :mod:`bot.testing`, shared with the
playground and ``bench/``; they are re-exported here so tests import them from one place:

* :class:`FakeSlack` imitates the Slack Web API (``/api/<method>``) and ``response_url`` endpoints.
* :class:`SlackRequests` imitates Slack itself calling the bot: it signs and posts slash commands,
  interactive payloads and Events API envelopes to the bot's HTTP endpoint.
* :class:`Receiver` imitates a third-party webhook endpoint that the bot's actions call.

:func:`verify_opslevel_style` and :func:`verify_standard` check webhook signatures the way a
receiver would, written independently of the ``bot`` package: a test must not verify with the
code it tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

from bot.testing.http import Headers
from bot.testing.receiver import Received, Receiver
from bot.testing.requests import SlackRequests, values_for
from bot.testing.slack import FakeSlack
from bot.testing.workspace import Call

__all__ = [
    "Call",
    "FakeSlack",
    "Headers",
    "Received",
    "Receiver",
    "SlackRequests",
    "values_for",
    "verify_opslevel_style",
    "verify_standard",
]


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (dict, Headers, httpx.Headers...)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


# --------------------------------------------------------------------------------------------
# Receiver-side signature checks
# --------------------------------------------------------------------------------------------


def verify_opslevel_style(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    prefix: str = "X-Actions",
    signed_headers: Iterable[str] = (),
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    """Check an OpsLevel-style signature as a receiver would; AssertionError says why not.

    ``{prefix}-Signature`` must be ``sha256=`` + hex HMAC-SHA256(secret) of the ``Name:Value``
    pairs for ``{prefix}-Timing``, ``{prefix}-Action-Uuid`` (if present) and ``signed_headers``,
    sorted by name, joined by ``,``, then ``+`` and the raw body.
    """
    signature = _lookup(headers, f"{prefix}-Signature")
    if not signature:
        raise AssertionError(f"missing {prefix}-Signature header")
    if not signature.startswith("sha256="):
        raise AssertionError(f"{prefix}-Signature is not sha256=...: {signature!r}")

    timing_name = f"{prefix}-Timing"
    timing = _lookup(headers, timing_name)
    if timing is None:
        raise AssertionError(f"missing {timing_name} header")
    try:
        timing_value = int(timing.strip())
    except ValueError as exc:
        raise AssertionError(f"{timing_name} is not an integer: {timing!r}") from exc
    current = time.time() if now is None else now
    if abs(current - timing_value) > tolerance:
        raise AssertionError(
            f"{timing_name} {timing_value} is outside the {tolerance}s tolerance (now {current})"
        )

    pairs: dict[str, str] = {timing_name: timing}
    uuid_name = f"{prefix}-Action-Uuid"
    uuid = _lookup(headers, uuid_name)
    if uuid is not None:
        pairs[uuid_name] = uuid
    for name in signed_headers:
        if any(existing.lower() == name.lower() for existing in pairs):
            continue
        value = _lookup(headers, name)
        if value is None:
            raise AssertionError(f"signed header {name} is missing from the request")
        pairs[name] = value

    canonical = ",".join(f"{name}:{pairs[name]}" for name in sorted(pairs))
    message = canonical.encode("utf-8") + b"+" + body
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AssertionError(
            f"signature mismatch over {canonical!r}+<{len(body)} body bytes>: "
            f"got {signature}, expected {expected}"
        )


def verify_standard(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check a Standard Webhooks signature with the reference ``standardwebhooks`` library."""
    from standardwebhooks.webhooks import Webhook

    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    try:
        Webhook(secret).verify(body, lowered, json_parse=False)
    except Exception as exc:
        raise AssertionError(f"standard webhook verification failed: {exc!r}") from exc
