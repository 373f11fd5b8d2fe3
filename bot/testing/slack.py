"""An in-memory Slack Web API served over real HTTP on loopback (`FakeSlack`)."""

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
from dataclasses import dataclass
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

TEAM_ID = "T0TEAM"
TEAM_DOMAIN = "example"
APP_ID = "A0APP"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
VERIFICATION_TOKEN = "verification-token-not-used"


@dataclass
class Call:
    """One request received by :class:`FakeSlack`.

    ``method`` is the Web API method (``chat.postMessage``) or ``"response_url"`` for posts to a
    response URL; ``params`` merges query string and body, with JSON-looking fields decoded.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    path: str = ""


_JSON_FIELDS = ("blocks", "view", "attachments", "metadata")
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


def _dm_channel(channel: str) -> str:
    return "D" + channel[1:] if channel.startswith("U") else channel


class FakeSlack(HTTPDouble):
    """A fake Slack Web API server.

    Point slack_sdk clients at :attr:`api_url`. Every request is recorded as a :class:`Call`;
    messages, ephemeral messages and views are kept in memory so tests can inspect what the
    bot posted. Use :meth:`set_response` to program errors such as rate limits.
    """

    ACCEPTED_TOKEN_PREFIXES: tuple[str, ...] = ("xoxb-",)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemeral: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._home: dict[str, dict[str, Any]] = {}
        #: Files uploaded with files_upload_v2: id → {filename, title, content, channel}.
        self.files: dict[str, dict[str, Any]] = {}
        self._canned = CannedResponses()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._response_urls = itertools.count(1)
        #: Directory answered by ``users.info``; edit freely (extra keys: ``deleted``,
        #: ``is_admin``, ``is_owner``, ``display_name``, ``tz``, ``is_bot``).
        self.users: dict[str, dict[str, Any]] = {
            "U0ADMIN": {"name": "ada", "real_name": "Ada Admin", "email": "ada@example.com"},
            "U0DEV": {"name": "dev", "real_name": "Dee Veloper", "email": "dev@example.com"},
            "U0OWNER": {"name": "owen", "real_name": "Owen Owner", "email": "owen@example.com"},
        }
        #: Usergroup id -> member user ids, answered by ``usergroups.users.list``.
        self.usergroups: dict[str, list[str]] = {}
        #: Channel id -> name, used by ``conversations.info`` and :class:`SlackRequests`.
        self.channels: dict[str, str] = {"C0CHAN": "general"}
        #: Channel ids ``conversations.info`` answers ``channel_not_found`` for (deleted,
        #: or private without the bot).
        self.missing_channels: set[str] = set()

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
            self._calls.clear()
            self._messages.clear()
            self._ephemeral.clear()
            self._views.clear()
            self._home.clear()
            self._canned.clear()

    # -- inspection --------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally only those to ``method``."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

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
                matches = [c for c in self._calls if c.method == method and predicate(c)]
                if len(matches) >= count:
                    return matches
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(c.method for c in self._calls)
                    summary = ", ".join(f"{m} x{n}" for m, n in seen.items()) or "nothing"
                    raise AssertionError(
                        f"expected {count} matching call(s) to {method} within {timeout}s, "
                        f"got {len(matches)}; calls seen: {summary}"
                    )
                self._changed.wait(min(remaining, 0.05))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted to ``channel`` (a user id maps to its ``D...`` DM), oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(_dm_channel(channel), []))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message ``ts`` in ``channel``, or None."""
        with self._lock:
            found = self._find_message(_dm_channel(channel), ts)
            return copy.deepcopy(found) if found is not None else None

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies posted in the thread ``thread_ts`` (excluding the parent)."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == thread_ts]

    def ephemerals(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages sent with ``chat.postEphemeral``."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemeral
                if (channel is None or e["channel"] == channel)
                and (user is None or e["user"] == user)
            ]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The latest version of a modal opened/pushed/updated through this fake."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def last_view(self) -> dict[str, Any]:
        """The modal most recently opened, pushed or updated (with its ``id``)."""
        with self._lock:
            assert self._views, "no modal was opened"
            return copy.deepcopy(list(self._views.values())[-1])

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``."""
        with self._lock:
            found = self._home.get(user_id)
            return copy.deepcopy(found) if found is not None else None

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
            file_id = path[len("/upload/") :]
            with self._lock:
                if file_id in self.files:
                    self.files[file_id]["content"] = raw.decode("utf-8", "replace")
            handler.respond(200, b"OK - uploaded", {"Content-Type": "text/plain"})
            return
        else:
            handler.respond(404, b'{"ok": false, "error": "unknown_path"}')
            return

        with self._changed:
            self._calls.append(Call(method, params, headers, time.time(), path))
            self._changed.notify_all()

        if method == "response_url":
            canned = self._canned.take("response_url")
            if canned is not None:
                handler.respond(canned.status, canned.body, canned.headers)
            else:
                handler.respond(200, b'{"ok": true}')
            return

        if method not in _NO_AUTH_METHODS and not self._authorized(headers):
            handler.respond(200, b'{"ok": false, "error": "not_authed"}')
            return

        canned = self._canned.take(method)
        if canned is not None:
            if canned.delay > 0:
                time.sleep(canned.delay)
            handler.respond(canned.status, canned.body, canned.headers)
            return

        answer = getattr(self, "_api_" + method.replace(".", "_"), None)
        with self._lock:
            body = answer(params) if answer is not None else {"ok": True}
        handler.respond(200, encode_body(body))

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

    # -- default answers (called with self._lock held) ---------------------------------------

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + 100 * next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "team_id": TEAM_ID,
            "user": "actions",
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        channel = _dm_channel(str(channel))
        thread_ts = params.get("thread_ts") or None
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": self._next_ts(),
            "text": params.get("text", ""),
            "blocks": params.get("blocks"),
            "thread_ts": thread_ts,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
        }
        for key in ("attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        self._messages.setdefault(channel, []).append(message)
        reply = {k: v for k, v in message.items() if k != "channel"}
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": reply}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _dm_channel(str(params.get("channel", "")))
        ts = str(params.get("ts", ""))
        message = self._find_message(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": {k: v for k, v in message.items() if k != "channel"},
        }

    def _api_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _dm_channel(str(params.get("channel", "")))
        ts = str(params.get("ts", ""))
        message = self._find_message(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        self._messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        message_ts = self._next_ts()
        self._ephemeral.append(
            {
                "channel": params.get("channel"),
                "user": params.get("user"),
                "text": params.get("text", ""),
                "blocks": params.get("blocks"),
                "thread_ts": params.get("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _api_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        ts = str(params.get("message_ts", "")).replace(".", "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts}",
        }

    def _new_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        n = next(self._ids)
        stored: dict[str, Any] = {
            "type": "modal",
            "team_id": TEAM_ID,
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        if isinstance(view, dict):
            stored.update(view)
        stored["id"] = view_id or f"V{n:08d}"
        stored["hash"] = f"h{n}"
        stored.setdefault("root_view_id", stored["id"])
        return stored

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        stored = self._new_view(params.get("view"))
        self._views[stored["id"]] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    _api_views_push = _api_views_open

    def _api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        previous = None
        if view_id:
            previous = self._views.get(view_id)
        elif external_id:
            previous = next(
                (v for v in self._views.values() if v.get("external_id") == external_id), None
            )
            if previous is None:
                return {"ok": False, "error": "not_found"}
            view_id = previous["id"]
        else:
            return {"ok": False, "error": "invalid_arguments"}
        stored = self._new_view(params.get("view"), view_id=view_id)
        if previous is not None:
            stored["root_view_id"] = previous.get("root_view_id", view_id)
        self._views[view_id] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not user_id:
            return {"ok": False, "error": "invalid_arguments"}
        previous = self._home.get(user_id)
        view = params.get("view")
        stored = self._new_view(view, view_id=previous["id"] if previous else None)
        if not (isinstance(view, dict) and "type" in view):
            stored["type"] = "home"
        self._home[user_id] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user")
        entry = self.users.get(user_id) if isinstance(user_id, str) else None
        if entry is None:
            return {"ok": False, "error": "user_not_found"}
        name = entry.get("name", str(user_id).lower())
        real_name = entry.get("real_name", name)
        profile: dict[str, Any] = {
            "email": entry.get("email"),
            "real_name": real_name,
            "display_name": entry.get("display_name", name),
        }
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name,
                "deleted": bool(entry.get("deleted", False)),
                "is_admin": bool(entry.get("is_admin", False)),
                "is_owner": bool(entry.get("is_owner", False)),
                "is_bot": bool(entry.get("is_bot", False)),
                "tz": entry.get("tz", "UTC"),
                "profile": profile,
            },
        }

    def _api_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup")
        if not isinstance(group, str) or group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": self.channels.get(channel, channel.lower()),
                "is_channel": channel.startswith("C"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_member": True,
            },
        }

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"filename": params.get("filename"), "content": None}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        listed = params.get("files")
        listed = json.loads(listed) if isinstance(listed, str) else listed or []
        for item in listed:
            if item.get("id") in self.files:
                self.files[item["id"]].update(
                    title=item.get("title"),
                    channel=params.get("channel_id"),
                    comment=params.get("initial_comment"),
                )
        return {"ok": True, "files": [{"id": item.get("id")} for item in listed]}

    def _api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", "") or params.get("channel", ""))
        first = users.split(",")[0]
        if not first:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "channel": {"id": _dm_channel(first)}}
