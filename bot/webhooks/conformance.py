"""The receiver check: six requests a well-behaved receiver answers in a known way.

Each request is rendered and signed as a run's would be, then altered the way a forger, a
replayer or a retrying sender would alter it, and sent through the one guarded client.
Every request carries ``{prefix}-Conformance-Check: true``, unsigned (like the callback
headers), so a receiver that verifies exactly the configured headers still verifies it.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bot.catalog import Action, Catalog, Service
from bot.inputs import resolve, validate
from bot.redaction import Redactor
from bot.settings import Settings
from bot.webhooks import delivery, render
from bot.webhooks.signing import sign

DOCS = "README.md#webhooks-and-how-receivers-verify-them"
STALE_BY = 600  # seconds: twice the 5 minutes a receiver should allow


class CheckError(Exception):
    """The check cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class Probe:
    number: int
    title: str
    expect_ok: bool  # 2xx expected; otherwise 4xx
    advice: str  # what failing it means and how to fix it


PROBES = (
    Probe(
        1,
        "a valid signed request",
        True,
        "A genuine request was refused. Check the secret (WEBHOOK_SIGNING_SECRET), the header "
        "prefix, and that the OpsLevel-style signature covers the action's configured headers, "
        "named exactly as configured.",
    ),
    Probe(
        2,
        "wrong signatures",
        False,
        "A request with a wrong signature was accepted: anyone can call this receiver. Verify "
        "the signature before anything else, de-duplication included.",
    ),
    Probe(
        3,
        f"signed {STALE_BY // 60} minutes ago",
        False,
        "A correctly signed but old request was accepted: a captured request can be replayed "
        "later. Reject a timing header more than 5 minutes from your clock.",
    ),
    Probe(
        4,
        "an exact replay of request 1",
        False,
        "The same request was accepted twice: a captured request can be replayed within the "
        "5 minutes. Remember the signatures you have accepted and refuse repeats (409).",
    ),
    Probe(
        5,
        "a retry of request 1 (same webhook-id, fresh signature)",
        True,
        "A retry was refused: when an answer is lost the sender tries again with the same "
        "webhook-id. Answer 2xx, and do the work only once.",
    ),
    Probe(
        6,
        "one body byte changed",
        False,
        "A body that does not match its signature was accepted. Verify over the raw body "
        "bytes, before parsing them.",
    ),
)


@dataclass
class Result:
    probe: Probe
    status: int | None  # None when nothing came back
    error: str | None = None

    @property
    def passed(self) -> bool:
        if self.status is None:
            return False
        low = 200 if self.probe.expect_ok else 400
        return low <= self.status < low + 100

    @property
    def answer(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})"

    def explain(self) -> str:
        """Why this answer fails, or '' when it passes."""
        if self.passed:
            return ""
        said = f"Expected {'2xx' if self.probe.expect_ok else '4xx'}, got {self.answer}."
        if self.status is None and self.probe.expect_ok:
            return f"{said} Is the receiver up, and reachable from the bot?"
        if self.probe.expect_ok or (self.status is not None and self.status < 300):
            return f"{said} {self.probe.advice}"
        # Not accepted, but not a clear refusal either.
        return (
            f"{said} Refuse a bad request with a 4xx: a 5xx, a redirect or no answer makes "
            "senders retry a request that can never be valid."
        )


@dataclass
class Scorecard:
    action: Action
    method: str
    url: str  # redacted
    results: list[Result]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def summary(self) -> str:
        count = sum(r.passed for r in self.results)
        return f"{count} of {len(self.results)} passed"


def refusal(action: Action, force: bool, how_to_force: str) -> str | None:
    """Why the check must not run against this action's receiver, or None."""
    if action.conformance_ok or force:
        return None
    return (
        f"{action.id} is not marked `conformance_ok: true`: the check sends its receiver "
        f"{len(PROBES)} real requests. Mark the action so in the config if its receiver may "
        f"get them, or {how_to_force}."
    )


def parse_words(words: Sequence[str]) -> tuple[str, str | None, list[str], bool]:
    """`<id> [--service s] [--input k=v | k=v …] [--force]` → (id, service, pairs, force)."""
    action_id, service, pairs, force = "", None, [], False
    rest = iter(words)
    for word in rest:
        if word == "--force":
            force = True
        elif word in ("--service", "--input"):
            value = next(rest, None)
            if value is None:
                raise CheckError(f"{word} needs a value")
            if word == "--service":
                service = value
            else:
                pairs.append(value)
        elif "=" in word:
            pairs.append(word)
        elif not action_id:
            action_id = word
        else:
            raise CheckError(f"unexpected {word!r}")
    if not action_id:
        raise CheckError("which action? Give its id")
    return action_id, service, pairs, force


def prepare(
    catalog: Catalog, action: Action, service_id: str | None, pairs: Sequence[str]
) -> tuple[dict[str, Any], Service | None]:
    """Inputs from ``KEY=VALUE`` pairs, validated like a form; and the service."""
    service = catalog.service(service_id) if service_id else None
    if service_id and service is None:
        raise CheckError(f"no service {service_id!r}")
    if action.scope == "service" and service is None:
        raise CheckError(f"{action.id} runs on a service: give one with --service")
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CheckError(f"--input {pair!r}: expected KEY=VALUE")
        try:
            raw[key] = json.loads(value) if value[:1] in "[{" else value
        except ValueError:
            raw[key] = value
    values, errors = validate(action, raw, resolve(catalog, action, values=raw, service=service))
    if errors:
        raise CheckError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    return values, service


def tamper(body: bytes) -> bytes:
    """The body with one byte changed, keeping JSON valid so only the signature can tell."""
    data = bytearray(body or b" ")
    # The last letter or digit is most likely inside a value, not a key or the syntax.
    for index in range(len(data) - 1, -1, -1):
        char = chr(data[index])
        if char.isascii() and char.isalpha():
            data[index] = ord(char.swapcase())
            return bytes(data)
        if char.isdigit():
            data[index] = ord(str((int(char) + 1) % 10))
            return bytes(data)
    data[-1] ^= 1
    return bytes(data)


async def build(
    settings: Settings,
    catalog: Catalog,
    action: Action,
    *,
    user: Mapping[str, Any],
    inputs: Mapping[str, Any],
    service: Service | None,
    now: int | None = None,
) -> list[delivery.Request]:
    """The six requests, in order (see PROBES)."""
    run_id = str(uuid.uuid4())
    start = int(time.time()) if now is None else now

    async def signed_at(stamp: int) -> delivery.Request:
        try:
            rendered = await render.render(
                settings,
                catalog,
                action,
                run_id=run_id,
                user=user,
                inputs=inputs,
                service=service,
                timestamp=stamp,
            )
        except render.RenderError as exc:
            raise CheckError(str(exc)) from None
        request = rendered.request
        request.headers[f"{settings.WEBHOOK_HEADER_PREFIX}-Conformance-Check"] = "true"
        return request

    valid = await signed_at(start)
    stale = await signed_at(start - STALE_BY)
    retry = await signed_at(start + 1)  # a later second: a fresh signature
    changed = await signed_at(start + 2)  # a signature no earlier request had
    return [
        valid,
        _forged(valid, settings.WEBHOOK_HEADER_PREFIX, run_id, start),
        stale,
        replace(valid, headers=dict(valid.headers)),
        retry,
        replace(changed, body=tamper(changed.body)),
    ]


def _forged(request: delivery.Request, prefix: str, run_id: str, stamp: int) -> delivery.Request:
    """The same request with both signatures made by a key nobody has."""
    wrong = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    forged = sign(
        secret=wrong,
        prefix=prefix,
        run_id=run_id,
        msg_id=request.headers["webhook-id"],
        timestamp=stamp,
        configured={},
        body=request.body,
    )
    headers = dict(request.headers)
    for name in (f"{prefix}-Signature", "webhook-signature"):
        headers[name] = forged[name]
    return replace(request, headers=headers)


async def check(
    client: httpx.AsyncClient,
    settings: Settings,
    catalog: Catalog,
    action: Action,
    *,
    user: Mapping[str, Any],
    inputs: Mapping[str, Any],
    service: Service | None,
    redact: Redactor,
) -> Scorecard:
    """Send the six requests one after another and grade the answers."""
    requests = await build(settings, catalog, action, user=user, inputs=inputs, service=service)
    results = []
    for probe, request in zip(PROBES, requests, strict=True):
        try:
            # No traceparent: request 4 must be request 1 byte for byte.
            timeout = action.webhook.timeout if action.webhook else 10.0
            response = await delivery.send(client, request, timeout, propagate=False)
        except delivery.DeliveryError as exc:
            results.append(Result(probe, None, redact(exc.message)))
            continue
        results.append(Result(probe, response.status))
    return Scorecard(action, requests[0].method, redact(requests[0].url), results)


def text(card: Scorecard) -> str:
    """The scorecard for a terminal."""
    lines = [f"Receiver check of {card.action.id}: {card.method} {card.url}"]
    for result in card.results:
        mark = "pass" if result.passed else "FAIL"
        lines.append(f"  {result.probe.number}. {mark}  {result.probe.title}: {result.answer}")
        if not result.passed:
            lines.append(f"        {result.explain()}")
    lines.append(f"{card.summary}. How receivers verify: {DOCS}")
    return "\n".join(lines)
