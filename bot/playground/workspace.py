"""The playground's Slack workspace: the shared model (`bot.testing.workspace`), strict,
plus what the page needs: a long poll for changes, notices, a log of the traffic, and
the snapshot one person's Slack client would show.

The bot's `SLACK_API_URL` points at `/api/` on the playground server, so every
`client.chat_postMessage(...)` and friends lands in :meth:`PageWorkspace.call`, exactly
as a request to slack.com would. Everything here runs on the server's event loop, so
plain dicts are enough; `changed()` wakes the page's long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from bot.testing import web_api
from bot.testing.workspace import Call, Identity, User, Workspace, default_users, dm_id

log = logging.getLogger(__name__)

IDENTITY = Identity(
    team_id="T0PLAYGRND",
    team_domain="playground",
    team_name="Playground",
    app_id="A0ACTIONS",
    bot_id="B0ACTIONS",
    bot_user_id="U0ACTIONS",
    bot_name="Actions",
)
TEAM_ID = IDENTITY.team_id
TEAM_DOMAIN = IDENTITY.team_domain
APP_ID = IDENTITY.app_id
BOT_USER_ID = IDENTITY.bot_user_id
SLACKBOT = "USLACKBOT"
SHOWN_MESSAGES = 300  # per channel, in what the page gets
SHOWN_EPHEMERALS = 30  # per person

__all__ = ["APP_ID", "BOT_USER_ID", "SLACKBOT", "TEAM_DOMAIN", "TEAM_ID", "PageWorkspace", "dm_id"]


class PageWorkspace(Workspace):
    def __init__(
        self,
        bot_token: str,
        public_url: str,
        channels: dict[str, str] | None = None,
        usergroups: dict[str, list[str]] | None = None,
    ) -> None:
        users = default_users()
        users[BOT_USER_ID] = User(BOT_USER_ID, "actions", IDENTITY.bot_name, is_bot=True)
        users[SLACKBOT] = User(SLACKBOT, "slackbot", "Slackbot", is_bot=True)
        super().__init__(
            IDENTITY,
            strict=True,
            public_url=public_url,
            upload_path="/playground/upload/",
            permalink_base=f"{public_url}/#",
            users=users,
            channels={"C0CHAN": "general", **(channels or {})},
            usergroups=usergroups or {},
        )
        self.bot_token = bot_token
        self.log: deque[dict[str, Any]] = deque(maxlen=400)
        self.notices: deque[dict[str, Any]] = deque(maxlen=20)
        self.closing = False  # set at shutdown: long polls return at once
        self._event = asyncio.Event()
        self.on_change.append(self._wake)

    # --- change notification -----------------------------------------------------------

    def _wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(
        self,
        version: int,
        timeout: float,
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """Return when the state is newer than ``version``, or after ``timeout`` seconds.

        Waits in short slices so that a page that went away, or a server shutting down,
        does not keep a request open until the timeout.
        """
        deadline = time.monotonic() + timeout
        while self.version == version and not self.closing:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), min(left, 0.5))
            if gone is not None and await gone():
                return

    def record(self, kind: str, summary: str, **detail: Any) -> None:
        self.log.append(
            {"n": self.next_id(), "at": time.time(), "kind": kind, "summary": summary, **detail}
        )

    def notice(self, text: str) -> None:
        """Something the person at the page should see (a refused API call, a bot error)."""
        self.notices.append({"n": self.next_id(), "at": time.time(), "text": text})

    # --- the Web API -------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Answer one Web API call the way Slack would, and record it."""
        if not token:
            answer: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif token != self.bot_token:
            answer = {"ok": False, "error": "invalid_auth"}
        else:
            answer = web_api.answer(self, method, params)
        self.calls.append(Call(method, params, {}, time.time(), f"/api/{method}"))
        shown = {k: v for k, v in params.items() if k != "token"}
        status = "ok" if answer.get("ok") else answer.get("error", "error")
        self.record("api", f"{method} → {status}", method=method, params=shown, response=answer)
        if not answer.get("ok"):
            log.warning("Web API %s failed: %s", method, answer)
            problems = answer.get("errors") or (
                answer.get("response_metadata", {}).get("messages") or []
            )
            self.notice(
                f"The bot's {method} call failed: {answer.get('error')}. " + " ".join(problems)
            )
        self.changed()
        return answer

    # --- what the page sees ---------------------------------------------------------------

    def snapshot(self, user_id: str) -> dict[str, Any]:
        """Everything one person's Slack client would show."""
        stack = [
            {
                "view": self.views[v],
                "errors": self.view_errors.get(v, {}),
                "notice": self.view_notice.get(v),
            }
            for v in self.stack(user_id)
            if v in self.views
        ]
        channels = [{"id": c, "name": n} for c, n in self.channels.items()]
        # The newest messages only: a long session must not make every poll heavier.
        visible = {
            c: m[-SHOWN_MESSAGES:]
            for c, m in self.messages.items()
            if not c.startswith("D") or c == dm_id(user_id)
        }
        return {
            "version": self.version,
            "team": {"id": IDENTITY.team_id, "name": IDENTITY.team_name},
            "bot": {"id": BOT_USER_ID, "name": IDENTITY.bot_name},
            "me": user_id,
            "dm": dm_id(user_id),
            "users": [
                {"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                for u in self.users.values()
            ],
            "channels": channels,
            "messages": visible,
            "ephemerals": [e for e in self.ephemerals if e["to"] == user_id][-SHOWN_EPHEMERALS:],
            "modals": stack,
            "home": self.homes.get(user_id),
            "notices": list(self.notices),
        }
