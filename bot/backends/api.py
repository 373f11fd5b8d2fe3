"""One call to a CI API: audited (credentials never), bounded, and rate-limit aware.

The API base URLs come from the operator's environment (trusted), so the client may reach
private networks (GitHub Enterprise Server, a self-hosted GitLab), as audit sinks may.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.redaction import redact_headers

Audit = Callable[[str, dict[str, Any]], Awaitable[None]]
TIMEOUT = 15.0
AUDIT_BODY_CHARS = 4000
MAX_WAIT = 3600.0


class CiError(Exception):
    """A CI API refused or failed; ``status`` is its HTTP status, if it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimited(CiError):
    """The API's rate limit is spent: nothing is sent to it for ``delay`` seconds."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message, 429)
        self.delay = delay


@dataclass
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def wait_from(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from Retry-After, or from a spent limit's reset time (epoch s)."""
    wait = _wait(headers, time.time() if now is None else now)
    return wait if wait is None or math.isfinite(wait) else None  # "nan", "inf"


def _wait(headers: Mapping[str, str], now: float) -> float | None:
    after = _header(headers, "retry-after")
    if after:
        try:
            return min(max(float(after), 0.0), MAX_WAIT)
        except ValueError:
            try:
                return min(max(parsedate_to_datetime(after).timestamp() - now, 0.0), MAX_WAIT)
            except (TypeError, ValueError, OverflowError):
                pass
    remaining = _header(headers, "x-ratelimit-remaining", "ratelimit-remaining")
    reset = _header(headers, "x-ratelimit-reset", "ratelimit-reset")
    if remaining is not None and remaining.strip() == "0" and reset:
        try:
            return min(max(float(reset) - now, 1.0), MAX_WAIT)
        except ValueError:
            return None
    return None


class Api:
    """A CI API at one base URL; remembers when its rate limit lets us call again."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, name: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.blocked_until = 0.0  # epoch seconds; shared by every run in this process

    def blocked_for(self) -> float:
        return max(self.blocked_until - time.time(), 0.0)

    async def call(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        audit: Audit | None = None,
    ) -> Answer:
        """One request; raises RateLimited (without sending, while blocked) or CiError."""
        wait = self.blocked_for()
        if wait > 0:
            raise RateLimited(f"{self.name} rate limit: waiting {wait:.0f} s", wait)
        url = f"{self.base_url}{path}"
        if audit:
            shown = {"api": self.name, "method": method, "url": url, "params": dict(params or {})}
            await audit("ci_request", {**shown, "body": body})
        started = time.monotonic()
        try:
            response = await self.client.request(
                method, url, headers=dict(headers), json=body, params=params, timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            if audit:
                await audit("ci_error", {"api": self.name, "error": type(exc).__name__})
            raise CiError(f"{self.name} could not be reached ({type(exc).__name__})") from None
        answer = Answer(response.status_code, _body(response.text), response.headers)
        if audit:
            await audit("ci_response", _shown(self.name, answer, started))
        self._note_limits(answer)
        return answer

    def _note_limits(self, answer: Answer) -> None:
        wait = wait_from(answer.headers)
        limited = answer.status == 429 or (answer.status == 403 and wait is not None)
        if wait is not None:
            self.blocked_until = max(self.blocked_until, time.time() + wait)
        if limited:
            wait = wait if wait is not None else 60.0
            self.blocked_until = max(self.blocked_until, time.time() + wait)
            raise RateLimited(f"{self.name} rate limit: waiting {wait:.0f} s", wait)


def _body(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _shown(name: str, answer: Answer, started: float) -> dict[str, Any]:
    text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    return {
        "api": name,
        "status": answer.status,
        "headers": redact_headers(dict(answer.headers)),
        "body": text[:AUDIT_BODY_CHARS] if text else text,
        "truncated": bool(text) and len(text) > AUDIT_BODY_CHARS,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }


def problem(answer: Answer, what: str) -> CiError:
    """A refusal as a sentence: the status and the API's own message."""
    message = answer.body.get("message") if isinstance(answer.body, dict) else None
    said = f": {str(message)[:200]}" if message else ""
    return CiError(f"{what} failed (HTTP {answer.status}{said})", answer.status)
