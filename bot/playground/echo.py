"""The built-in webhook receiver: answers every action offline, in a few canned ways.

In the playground every action's URL points here (see :mod:`bot.playground.catalog`):
`/playground/echo/<action-id>?to=<the original URL>`. The receiver checks both signatures
the way a real receiver would, then answers according to the behaviour chosen on the page,
or named in the path (`/playground/echo/slow`, `/fail`, `/async`) or query (`?mode=slow`):

- `echo`  — 200 with a JSON body echoing the request, plus the fields the example
  response templates read (`key`, `url`, `html_url`, `id`, `number`, …); a request that
  carries a callback URL (an `async: true` action) is answered as `async` is;
- `slow`  — the same after 5 seconds (`?seconds=` to change);
- `fail`  — 500 with a JSON error body;
- `async` — 202 at once; ~2 s later it reports `running`, then `success`, to the run's
  callback URL with its callback token (for actions with `async: true`);
- `?as=options` — a form's remote options (`values_from`): three canned options.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import re
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.catalog import Catalog
from bot.webhooks.signing import opslevel_signature, standard_signature
from bot.webhooks.transport import build_client

log = logging.getLogger(__name__)

BEHAVIOURS = ("echo", "slow", "fail", "async")
SLOW_SECONDS = 5.0
ASYNC_DELAY = 2.0
CALLBACK_PATH = re.compile(r"/runs/[^/]+/callback")


def _verify(
    secret: str, prefix: str, configured: list[str], headers: dict[str, str], body: bytes
) -> dict[str, str]:
    """Both signatures checked as a receiver would: valid, invalid or missing."""
    result = {}
    offered = headers.get(f"{prefix}-signature".lower())
    if offered is None:
        result[f"{prefix}-Signature"] = "missing"
    else:
        signed = {name: headers.get(name.lower(), "") for name in configured}
        for name in (f"{prefix}-Timing", f"{prefix}-Action-Uuid"):
            if name.lower() in headers:
                signed[name] = headers[name.lower()]
        expected = opslevel_signature(secret, signed, body)
        result[f"{prefix}-Signature"] = (
            "valid" if hmac.compare_digest(expected, offered) else "invalid"
        )
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    offers = headers.get("webhook-signature", "").split()
    if not offers:
        result["webhook-signature"] = "missing"
    elif not stamp.isdigit():
        result["webhook-signature"] = "invalid"
    else:
        expected = standard_signature(secret, msg_id, int(stamp), body)
        good = any(hmac.compare_digest(expected, o) for o in offers)
        result["webhook-signature"] = "valid" if good else "invalid"
    return result


class Echo:
    def __init__(
        self,
        *,
        catalog: Callable[[], Catalog],
        secret: str,
        prefix: str,
        public_url: str,
    ) -> None:
        self.catalog = catalog
        self.secret = secret
        self.prefix = prefix
        self.public_url = public_url
        self.mode = "echo"  # chosen on the page; a path or ?mode= wins
        # Callback URLs come from requests anyone can send here: the webhooks' SSRF guard,
        # with the bot's own loopback callback as the one private target allowed.
        own = urllib.parse.urlsplit(public_url)
        self.http = build_client(
            allow_private=False, allow=[(own.hostname or "127.0.0.1", own.port or 80)]
        )
        self._numbers = itertools.count(101)
        self._tasks: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.http.aclose()

    def behaviour(self, name: str, query: dict[str, str]) -> str:
        if name in BEHAVIOURS:
            return name
        mode = query.get("mode", "")
        return mode if mode in BEHAVIOURS else self.mode

    async def handle(self, request: Request) -> Response:
        name = request.path_params.get("name", "")
        query = dict(request.query_params)
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        behaviour = self.behaviour(name, query)
        if behaviour == "echo" and f"{self.prefix}-callback-url".lower() in headers:
            behaviour = "async"  # an `async: true` action: accepted now, finished by callback
        action = self.catalog().action(name)
        configured = list(action.webhook.headers) if action and action.webhook else []
        n = next(self._numbers)
        echoed = {
            "method": request.method,
            "path": request.url.path,
            "to": query.get("to"),
            "behaviour": behaviour,
            "headers": headers,
            "body": _parsed(body),
            "signatures": _verify(self.secret, self.prefix, configured, headers, body),
        }
        if behaviour == "fail":
            return JSONResponse(
                {
                    "ok": False,
                    "error": "playground receiver asked to fail",
                    "message": "The playground receiver answered 500, as asked.",
                    "echo": echoed,
                },
                status_code=500,
            )
        if behaviour == "slow":
            try:
                seconds = min(max(float(query.get("seconds", SLOW_SECONDS)), 0.0), 60.0)
            except ValueError:
                seconds = SLOW_SECONDS
            await asyncio.sleep(seconds)
        if query.get("as") == "options":  # a form's remote options: a list to pick from
            return JSONResponse({"options": _options(name), "echo": echoed})
        answer = _answer(n, name, echoed["body"], echoed)
        if behaviour == "async":
            callback = headers.get(f"{self.prefix}-callback-url".lower())
            token = headers.get(f"{self.prefix}-callback-token".lower())
            if callback and token:
                task = asyncio.create_task(self._report(callback, token, answer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                answer["note"] = "no callback URL: this action is not `async: true`"
            return JSONResponse({"ok": True, "status": "accepted", **answer}, status_code=202)
        return JSONResponse(answer)

    async def _report(self, url: str, token: str, answer: dict[str, Any]) -> None:
        """Play an async receiver: running, then success, on the run's callback URL."""
        if not CALLBACK_PATH.fullmatch(urllib.parse.urlsplit(url).path):
            log.warning("echo callback to %s refused: not a run's callback URL", url)
            return
        headers = {f"{self.prefix}-Callback-Token": token}
        updates: list[dict[str, Any]] = [
            {"status": "running", "message": "The playground receiver is working on it…"},
            {
                "status": "success",
                "message": "The playground receiver finished.",
                "data": answer,
                "links": [{"text": "Playground", "url": f"{self.public_url}/"}],
            },
        ]
        try:
            for update in updates:
                await asyncio.sleep(ASYNC_DELAY / 2)
                response = await self.http.post(url, json=update, headers=headers)
                log.info("echo callback %s → %s", update["status"], response.status_code)
        except httpx.HTTPError as exc:
            log.warning("echo callback to %s failed: %s", url, exc)


def _parsed(body: bytes) -> Any:
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _options(action_id: str) -> list[dict[str, str]]:
    return [
        {"value": f"playground-{n}", "display": f"Playground option {n} ({action_id})"[:75]}
        for n in (1, 2, 3)
    ]


def _answer(n: int, action_id: str, request: Any, echoed: dict[str, Any]) -> dict[str, Any]:
    """The response body: what was sent, plus plausible values for common template fields."""
    now = datetime.now(UTC)
    sent = request if isinstance(request, dict) else {}
    link = f"https://example.com/playground/{action_id or 'echo'}/{n}"
    canned: dict[str, Any] = {
        "ok": True,
        "id": f"PG-{n}",
        "key": f"PLAY-{n}",
        "number": n,
        "url": link,
        "html_url": link,
        "permalink": link,
        "title": f"Playground item {n}",
        "state": "approved",
        "sha": hashlib.sha1(json.dumps(sent, sort_keys=True).encode()).hexdigest(),
        "dedup_key": sent.get("dedup_key") or f"playground-{n}",
        "from_version": "v1.4.2",
        "to_version": "v1.4.1",
        "change_id": f"CHG-{n}",
        "previous": {"replicas": 4, "instance_type": "c6i.large"},
        "topic_name": sent.get("topic_name") or sent.get("name") or f"playground.topic.{n}",
        "partitions_count": 6,
        "replication_factor": 3,
        "expires_at": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M UTC"),
        "created_at": now.isoformat(timespec="seconds"),
        "message": "Echoed by the playground receiver.",
    }
    # What the request sent wins: a template reading back its own fields sees them.
    return {**canned, **sent, "echo": echoed}
