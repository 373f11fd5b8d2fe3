"""Verify this bot's webhooks in a Python receiver. Standard library only: copy this file.

    from bot.receiver import Replays, VerificationError, verify

    replays = Replays()

    def handle(headers, body):                      # body: the raw bytes, before parsing
        try:
            request = verify(headers, body, SECRET, signed_headers=["Content-Type"])
        except VerificationError as exc:
            return 401, str(exc)
        seen = replays.check(request)
        if seen == "replay":                        # this exact request came before
            return 409, "replayed request"
        if seen == "retry":                         # a new attempt of a run already handled
            return 200, "already done"
        ...                                         # do the work once
        return 200, "ok"

Both signatures the bot sends are checked when present (at least one must be):
- Standard Webhooks: ``webhook-signature`` over ``{webhook-id}.{webhook-timestamp}.{body}``,
  keyed by the base64 part of the ``whsec_…`` secret;
- OpsLevel-style: ``{prefix}-Signature`` over the timing header, the run-id header and the
  action's configured headers (``signed_headers``, named exactly as configured), keyed by the
  secret string itself. It works for OpsLevel's own webhooks too (``prefix="X-OpsLevel"``).
Timestamps further than ``tolerance`` seconds (5 minutes) from the clock are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Replays", "VerificationError", "Verified", "verify"]

TOLERANCE = 300  # seconds
Getter = Callable[[str], str | None]  # a header by its lower-case name


class VerificationError(ValueError):
    """The request is not authentic or not fresh; the message says which check failed."""


@dataclass(frozen=True)
class Verified:
    """What an authentic request tells a receiver."""

    id: str  # webhook-id: the same on every attempt of a run (the run id without webhook-id)
    timestamp: int
    signature: str  # what was signed this time: differs between attempts
    schemes: tuple[str, ...]  # "standard", "opslevel": the signatures that were checked


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | Sequence[str],
    *,
    prefix: str = "X-Actions",
    signed_headers: Iterable[str] = (),
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> Verified:
    """Check every signature the request carries; raise VerificationError if any fails.

    ``secret`` may be a list while rotating secrets: a signature made with any of them passes.
    """
    get = {str(k).lower(): str(v) for k, v in headers.items()}.get
    secrets = [secret] if isinstance(secret, str) else list(secret)
    clock = time.time() if now is None else now
    checked: list[Verified] = []
    if get("webhook-signature") is not None:
        checked.append(_standard(get, body, secrets, tolerance, clock))
    if get(f"{prefix}-signature".lower()) is not None:
        checked.append(_opslevel(get, body, secrets, prefix, signed_headers, tolerance, clock))
    if not checked:
        raise VerificationError(f"no signature: expected webhook-signature or {prefix}-Signature")
    first = checked[0]
    schemes = tuple(s for v in checked for s in v.schemes)
    return Verified(first.id, first.timestamp, first.signature, schemes)


def _fresh(name: str, value: str | None, tolerance: int, clock: float) -> int:
    if value is None:
        raise VerificationError(f"missing {name} header")
    try:
        stamp = int(value.strip())
    except ValueError:
        raise VerificationError(f"{name} is not a Unix time in seconds") from None
    if abs(clock - stamp) > tolerance:
        off = int(clock - stamp)
        when = f"{off} s old" if off > 0 else f"{-off} s in the future"
        raise VerificationError(f"{name} is {when}, more than the {tolerance} s allowed")
    return stamp


def _standard(
    get: Getter, body: bytes, secrets: list[str], tolerance: int, clock: float
) -> Verified:
    msg_id = get("webhook-id")
    if not msg_id:
        raise VerificationError("missing webhook-id header")
    stamp = _fresh("webhook-timestamp", get("webhook-timestamp"), tolerance, clock)
    content = f"{msg_id}.{stamp}.".encode() + body
    expected = [
        base64.b64encode(hmac.new(_key(s), content, hashlib.sha256).digest()).decode()
        for s in secrets
    ]
    # Several signatures, space-separated, while the sender rotates its secret.
    offered = [part.partition(",") for part in (get("webhook-signature") or "").split()]
    for version, _, value in offered:
        if version == "v1" and any(hmac.compare_digest(value, e) for e in expected):
            return Verified(msg_id, stamp, value, ("standard",))
    raise VerificationError("webhook-signature does not match the body (wrong secret or body)")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("the secret is not 'whsec_' + base64") from None


def _opslevel(
    get: Getter,
    body: bytes,
    secrets: list[str],
    prefix: str,
    signed_headers: Iterable[str],
    tolerance: int,
    clock: float,
) -> Verified:
    timing, uuid = f"{prefix}-Timing", f"{prefix}-Action-Uuid"
    stamp = _fresh(timing, get(timing.lower()), tolerance, clock)
    names = [timing, *([uuid] if get(uuid.lower()) is not None else []), *signed_headers]
    missing = [n for n in names if get(n.lower()) is None]
    if missing:
        raise VerificationError(f"signed header {missing[0]} is missing")
    # Names as configured, sorted by code point; the values as received.
    content = ",".join(f"{n}:{get(n.lower())}" for n in sorted(set(names))).encode()
    content += b"+" + body
    offered = get(f"{prefix}-signature".lower()) or ""
    for secret in secrets:
        digest = hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
        if hmac.compare_digest(offered, "sha256=" + digest):
            msg_id = get("webhook-id") or get(uuid.lower()) or ""
            return Verified(msg_id, stamp, offered, ("opslevel",))
    raise VerificationError(
        f"{prefix}-Signature does not match (wrong secret, body, or signed_headers: "
        "list the action's configured header names)"
    )


class Replays:
    """Remembers requests by ``webhook-id``, to tell a replay from a retry.

    - ``"new"``: the first time this id is seen: do the work;
    - ``"retry"``: the same id with a fresh signature: the sender tried again (it may not
      have seen your answer); answer 2xx without doing the work twice;
    - ``"replay"``: the exact signature was seen before: someone re-sent a captured request;
      answer 4xx.

    In memory, for one process. With several receiver processes keep the same two keys in a
    shared store (a unique index on the id, or Redis ``SET NX``).
    """

    def __init__(self, keep: float = 24 * 3600.0) -> None:
        self.keep = keep  # how long to remember an id: longer than the sender retries
        self._seen: dict[str, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()

    def check(
        self, request: Verified, now: float | None = None
    ) -> Literal["new", "retry", "replay"]:
        clock = time.time() if now is None else now
        with self._lock:
            self._forget_before(clock - self.keep)
            _, signatures = self._seen.setdefault(request.id, (clock, set()))
            if request.signature in signatures:
                return "replay"
            signatures.add(request.signature)
            return "new" if len(signatures) == 1 else "retry"

    def forget(self, msg_id: str) -> None:
        """Call when the work failed, so that the sender's next attempt does it again."""
        with self._lock:
            self._seen.pop(msg_id, None)

    def _forget_before(self, cutoff: float) -> None:
        # Ids are kept in the order first seen: the oldest are at the front.
        while self._seen:
            key, (first, _) = next(iter(self._seen.items()))
            if first >= cutoff:
                return
            del self._seen[key]
