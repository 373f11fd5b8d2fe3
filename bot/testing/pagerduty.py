"""A fake PagerDuty REST API on loopback: `GET /oncalls` in PagerDuty's documented shape.

Schedules map to the users on call now (`schedules[id] = [user, …]`, each a dict with
`id`, `name`, `email`). It checks the `Authorization: Token token=…` header, honours
`schedule_ids[]`, `include[]=users`, `limit` and `offset` with `more`, and answers errors
as PagerDuty does (`{"error": {"message", "code"}}`). `fail(status, times)` programs
failures; `requests` records what was asked.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any

from bot.testing.http import Canned, CannedResponses, Handler, HTTPDouble, encode_body

TOKEN = "pd-test-token"


class FakePagerDuty(HTTPDouble):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.schedules: dict[str, list[dict[str, str]]] = {}
        self.requests: list[dict[str, list[str]]] = []
        self._lock = threading.Lock()
        self._canned = CannedResponses()

    def fail(self, status: int = 500, times: int | None = None, delay: float = 0.0) -> None:
        """Answer the next ``times`` calls (all if None) with ``status``."""
        body = encode_body({"error": {"message": "Internal Server Error", "code": 2000}})
        self._canned.add("oncalls", Canned(status, body, {}, delay, times))

    def heal(self) -> None:
        self._canned.clear()

    def _handle(self, handler: Handler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(split.query)
        with self._lock:
            self.requests.append(query)
        if handler.headers.get("Authorization") != f"Token token={self.token}":
            body = {"error": {"message": "Unauthorized", "code": 2006}}
            handler.respond(401, encode_body(body), {"Content-Type": "application/json"})
            return
        if split.path != "/oncalls" or handler.command != "GET":
            body = {"error": {"message": "Not Found", "code": 2100}}
            handler.respond(404, encode_body(body), {"Content-Type": "application/json"})
            return
        canned = self._canned.take("oncalls")
        if canned is not None:
            if canned.delay:
                threading.Event().wait(canned.delay)
            handler.respond(canned.status, canned.body, {"Content-Type": "application/json"})
            return
        handler.respond(200, encode_body(self._page(query)), {"Content-Type": "application/json"})

    def _page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = int((query.get("limit") or ["25"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        expand = "users" in query.get("include[]", [])
        entries = [
            _entry(schedule, user, expand)
            for schedule in query.get("schedule_ids[]", [])
            for user in self.schedules.get(schedule, [])
        ]
        page = entries[offset : offset + limit]
        return {
            "oncalls": page,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(entries),
            "total": None,
        }


def _entry(schedule: str, user: dict[str, str], expand: bool) -> dict[str, Any]:
    reference = {
        "id": user["id"],
        "type": "user_reference",
        "summary": user.get("name", user["id"]),
        "self": f"https://api.pagerduty.com/users/{user['id']}",
        "html_url": f"https://example.pagerduty.com/users/{user['id']}",
    }
    if expand:
        reference = {**reference, "type": "user", "name": reference["summary"]}
        reference["email"] = user.get("email", "")
    return {
        "escalation_policy": {"id": "PESC001", "type": "escalation_policy_reference"},
        "escalation_level": 1,
        "schedule": {"id": schedule, "type": "schedule_reference"},
        "user": reference,
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-08T00:00:00Z",
    }
