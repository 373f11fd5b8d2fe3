"""Who is on call now: PagerDuty's REST API `GET /oncalls`, with retries and a short cache.

Approvals ask it at submission (`approval.approvers.on_call`, `user.on_call`), inside
Slack's few seconds: every call has a short timeout, a failed call is tried again once or
twice (the caller bounds the whole), and an answer is reused for CACHE_SECONDS so a burst
of submissions costs one call.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
PAGE = 100  # PagerDuty's largest page
MAX_PAGES = 10
ACCEPT = "application/vnd.pagerduty+json;version=2"


class PagerDutyError(Exception):
    """PagerDuty could not tell us; the message says why, without the token."""


@dataclass(frozen=True)
class OnCallUser:
    id: str
    name: str
    email: str


class PagerDuty:
    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        base_url: str = "https://api.pagerduty.com",
        *,
        timeout: float = 1.0,
        attempts: int = 3,
        budget: float = 1.2,
    ) -> None:
        self.client = client
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.budget = budget  # seconds for one question, every page and retry included
        self._cache: dict[str, tuple[float, list[OnCallUser]]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.token)

    async def on_call(self, schedule: str) -> list[OnCallUser]:
        """The people on call now for ``schedule`` (every escalation level, deduplicated)."""
        if not self.token:
            raise PagerDutyError("PagerDuty is not set up (PAGERDUTY_API_TOKEN is empty)")
        cached = self._cache.get(schedule)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            async with asyncio.timeout(self.budget):
                people = await self._pages(schedule)
        except TimeoutError:
            raise PagerDutyError(f"PagerDuty did not answer within {self.budget:g} s") from None
        self._cache[schedule] = (time.monotonic() + CACHE_SECONDS, people)
        return people

    async def _pages(self, schedule: str) -> list[OnCallUser]:
        found: dict[str, OnCallUser] = {}
        offset = 0
        for _ in range(MAX_PAGES):
            page = await self._get(
                "/oncalls",
                {
                    "schedule_ids[]": schedule,
                    "earliest": "true",
                    "include[]": "users",
                    "limit": str(PAGE),
                    "offset": str(offset),
                },
            )
            entries = page.get("oncalls")
            if not isinstance(entries, list):
                raise PagerDutyError("PagerDuty's answer has no oncalls list")
            for entry in entries:
                user = _user(entry)
                if user is not None:
                    found.setdefault(user.id, user)
            if not page.get("more") or not entries:
                break
            offset += len(entries)
        return list(found.values())

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        headers = {"Authorization": f"Token token={self.token}", "Accept": ACCEPT}
        problem = "no answer"
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(0.05 * 2**attempt)
            try:
                response = await self.client.get(
                    self.base_url + path, params=params, headers=headers, timeout=self.timeout
                )
            except httpx.HTTPError as exc:
                problem = f"PagerDuty did not answer ({type(exc).__name__})"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"PagerDuty answered HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise PagerDutyError(
                    f"PagerDuty answered HTTP {response.status_code}{_message(response)}"
                )
            try:
                body = response.json()
            except ValueError:
                raise PagerDutyError("PagerDuty's answer is not JSON") from None
            if not isinstance(body, dict):
                raise PagerDutyError("PagerDuty's answer is not a JSON object")
            return body
        log.warning("PagerDuty %s failed: %s", path, problem)
        raise PagerDutyError(problem)


def _user(entry: Any) -> OnCallUser | None:
    """The user of one on-call entry; with `include[]=users` it carries the email."""
    user = entry.get("user") if isinstance(entry, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return None
    email = user.get("email")
    name = user.get("name") or user.get("summary") or user["id"]
    return OnCallUser(user["id"], str(name), email if isinstance(email, str) else "")


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        # Their text reaches Slack and the audit log: no markup, one short line.
        text = re.sub(r"[<>&\s]+", " ", str(error.get("message") or ""))[:200].strip()
        return f": {text}" if text else ""
    except (ValueError, AttributeError):
        return ""
