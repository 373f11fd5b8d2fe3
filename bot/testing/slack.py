"""The in-memory Slack workspace served over real HTTP on loopback (`FakeSlack`)."""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from typing import Any

from bot.testing.http import (
    Canned,
    CannedResponses,
    Handler,
    Headers,
    HTTPDouble,
    encode_body,
    headers_from,
)
from bot.testing.web_api import answer
from bot.testing.workspace import Call, Identity, User, Workspace, dm_id

IDENTITY = Identity()
TEAM_ID = IDENTITY.team_id
TEAM_DOMAIN = IDENTITY.team_domain
APP_ID = IDENTITY.app_id
BOT_USER_ID = IDENTITY.bot_user_id
BOT_ID = IDENTITY.bot_id
VERIFICATION_TOKEN = "verification-token-not-used"


_JSON_FIELDS = ("blocks", "view", "attachments", "metadata", "files")
_NO_AUTH_METHODS = frozenset(
    {"oauth.access", "oauth.v2.access", "oauth.v2.exchange", "openid.connect.token"}
)
_AUTH_RE = re.compile(r"^Bearer\s+(\S+)$")


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                return json.loads(stripped)
            except ValueError:
                return value
    return value


def _form_to_dict(raw: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        if key in params:
            existing = params[key]
            params[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            params[key] = value
    return params


__all__ = ["Call", "FakeSlack", "User"]


class FakeSlack(HTTPDouble):
    """A lenient Slack `Workspace` (`bot.testing.workspace`) behind a threaded HTTP server.

    Point slack_sdk clients at :attr:`api_url`. Every request is recorded as a :class:`Call`
    once it has been answered (a test that saw ``views.open`` can read the view); messages,
    ephemeral messages and views are kept so tests can inspect what the bot posted. Use
    :meth:`set_response` to program errors such as rate limits.
    """

    ACCEPTED_TOKEN_PREFIXES: tuple[str, ...] = ("xoxb-",)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.workspace = Workspace(IDENTITY)
        self.workspace.on_change.append(self._changed.notify_all)
        self._canned = CannedResponses()
        self._response_urls = itertools.count(1)

    #: Directory answered by ``users.info``: user id → `User`.
    users = property(lambda self: self.workspace.users)
    #: Usergroup id → member user ids, answered by ``usergroups.users.list``.
    usergroups = property(lambda self: self.workspace.usergroups)
    #: Channel id → name, used by ``conversations.info`` and `SlackRequests`.
    channels = property(lambda self: self.workspace.channels)
    #: Channel ids ``conversations.info`` answers ``channel_not_found`` for.
    missing_channels = property(lambda self: self.workspace.missing_channels)
    #: Files uploaded with files_upload_v2: id → {filename, title, content, channel, …}.
    files = property(lambda self: self.workspace.files)

    # -- URLs --------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL for slack_sdk clients: ``http://127.0.0.1:<port>/api/``."""
        return f"{self.url}/api/"

    def new_response_url(self) -> str:
        """A fresh ``response_url`` served by this fake (posts are recorded as ``response_url``)."""
        return f"{self.url}/response_url/{next(self._response_urls)}"

    # -- programming -------------------------------------------------------------------------

    def set_response(
        self,
        method: str,
        body: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (all calls if None) with ``body``.

        ``delay`` seconds pass before the answer (a slow Slack).

        Finite overrides are consumed first, in the order they were set; a standing override
        (``times=None``) applies afterwards until :meth:`clear_responses` or :meth:`reset`.
        Overridden calls are recorded but have no side effects (no message is stored).
        """
        self._canned.add(
            method,
            Canned(status, encode_body(body), dict(headers or {}), delay, remaining=times),
        )

    def clear_responses(self, method: str | None = None) -> None:
        """Drop overrides for ``method`` (or all methods)."""
        self._canned.clear(method)

    def reset(self) -> None:
        """Forget calls, messages, views and overrides. ``users``/``usergroups`` are kept."""
        with self._lock:
            self.workspace.clear()
            self._canned.clear()

    # -- inspection --------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally only those to ``method``."""
        with self._lock:
            return [c for c in self.workspace.calls if method is None or c.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda call: True,
        timeout: float = 5.0,
        count: int = 1,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` satisfy ``predicate``.

        Returns all matching calls; raises AssertionError (listing what was called) on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                calls = self.workspace.calls
                matches = [c for c in calls if c.method == method and predicate(c)]
                if len(matches) >= count:
                    return matches
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(c.method for c in calls)
                    summary = ", ".join(f"{m} x{n}" for m, n in seen.items()) or "nothing"
                    raise AssertionError(
                        f"expected {count} matching call(s) to {method} within {timeout}s, "
                        f"got {len(matches)}; calls seen: {summary}"
                    )
                self._changed.wait(min(remaining, 0.05))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted to ``channel`` (a user id maps to its ``D...`` DM), oldest first."""
        with self._lock:
            return copy.deepcopy(self.workspace.messages.get(_dm(channel), []))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message ``ts`` in ``channel``, or None."""
        with self._lock:
            return copy.deepcopy(self.workspace.find_message(_dm(channel), ts))

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies posted in the thread ``thread_ts`` (excluding the parent)."""
        return [
            m
            for m in self.messages(channel)
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]

    def ephemerals(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages sent with ``chat.postEphemeral`` (``user``: to whom)."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self.workspace.ephemerals
                if (channel is None or e["channel"] == channel)
                and (user is None or e["to"] == user)
            ]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The latest version of a modal opened/pushed/updated through this fake."""
        with self._lock:
            return copy.deepcopy(self.workspace.views.get(view_id))

    def last_view(self) -> dict[str, Any]:
        """The modal most recently opened, pushed or updated (with its ``id``)."""
        with self._lock:
            assert self.workspace.views, "no modal was opened"
            return copy.deepcopy(list(self.workspace.views.values())[-1])

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``."""
        with self._lock:
            return copy.deepcopy(self.workspace.homes.get(user_id))

    # -- HTTP --------------------------------------------------------------------------------

    def _handle(self, handler: Handler) -> None:
        raw = handler.read_body()
        split = urllib.parse.urlsplit(handler.path)
        headers = headers_from(handler.headers)
        params = self._parse_params(split.query, raw, headers.get("Content-Type") or "")
        path = split.path
        if path.startswith("/api/"):
            method = path[len("/api/") :].strip("/")
        elif path.startswith("/response_url/"):
            method = "response_url"
        elif path.startswith("/upload/"):
            # The second step of files_upload_v2: the file's bytes, posted to upload_url.
            with self._lock:
                self.workspace.upload(path[len("/upload/") :], raw)
            handler.respond(200, b"OK - uploaded", {"Content-Type": "text/plain"})
            return
        else:
            handler.respond(404, b'{"ok": false, "error": "unknown_path"}')
            return
        canned = self._canned.take(method)
        if canned is not None and canned.delay > 0:
            time.sleep(canned.delay)
        with self._changed:
            if canned is not None:
                status, body, extra = canned.status, canned.body, canned.headers
            else:
                status, body, extra = 200, encode_body(self._answer(method, params, headers)), {}
            # Recorded once answered: whoever sees the call also sees what it stored.
            self.workspace.calls.append(Call(method, params, headers, time.time(), path))
            self._changed.notify_all()
        handler.respond(status, body, extra)

    def _answer(self, method: str, params: dict[str, Any], headers: Headers) -> dict[str, Any]:
        if method == "response_url":
            return {"ok": True}
        if method not in _NO_AUTH_METHODS and not self._authorized(headers):
            return {"ok": False, "error": "not_authed"}
        self.workspace.public_url = self.url
        return answer(self.workspace, method, params)

    def _authorized(self, headers: Headers) -> bool:
        match = _AUTH_RE.match(headers.get("Authorization") or "")
        return match is not None and match.group(1).startswith(self.ACCEPTED_TOKEN_PREFIXES)

    @staticmethod
    def _parse_params(query: str, raw: bytes, content_type: str) -> dict[str, Any]:
        params: dict[str, Any] = {k: _maybe_json(v) for k, v in _form_to_dict(query).items()}
        kind = content_type.split(";")[0].strip().lower()
        text = raw.decode("utf-8", errors="replace")
        if kind == "application/json" or (not kind and text.lstrip().startswith("{")):
            try:
                data = json.loads(text) if text.strip() else {}
            except ValueError:
                data = {"_raw": text}
            if isinstance(data, dict):
                for key in _JSON_FIELDS:
                    if key in data:
                        data[key] = _maybe_json(data[key])
                params.update(data)
            else:
                params["_json"] = data
        elif kind == "application/x-www-form-urlencoded" or (not kind and text):
            params.update({k: _maybe_json(v) for k, v in _form_to_dict(text).items()})
        elif text:
            params["_raw"] = text
        return params


def _dm(channel: str) -> str:
    return dm_id(channel) if channel.startswith("U") else channel
