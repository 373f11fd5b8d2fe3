"""Reusable test doubles for end-to-end tests.

Every double here is a real HTTP server bound to ``127.0.0.1`` on an ephemeral port and served
from a daemon thread, so the code under test talks to it over real sockets:

* :class:`FakeSlack` imitates the Slack Web API (``/api/<method>``) and ``response_url`` endpoints.
* :class:`SlackRequests` imitates Slack itself calling the bot: it signs and posts slash commands,
  interactive payloads and Events API envelopes to the bot's HTTP endpoint.
* :class:`Receiver` imitates a third-party webhook endpoint that the bot's actions call.

:func:`verify_opslevel_style` and :func:`verify_standard` check webhook signatures the way a
receiver would, written independently of the ``bot`` package.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import httpx

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

TEAM_ID = "T0TEAM"
TEAM_DOMAIN = "example"
APP_ID = "A0APP"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
VERIFICATION_TOKEN = "verification-token-not-used"


# --------------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------------


class Headers(dict[str, str]):
    """A plain dict of headers as received (case preserved) with case-insensitive lookups."""

    def _find(self, key: object) -> str | None:
        if isinstance(key, str):
            if dict.__contains__(self, key):
                return key
            lowered = key.lower()
            for name in self:
                if name.lower() == lowered:
                    return name
        return None

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        name = self._find(key)
        return default if name is None else dict.__getitem__(self, name)

    def __getitem__(self, key: str) -> str:
        name = self._find(key)
        if name is None:
            raise KeyError(key)
        return dict.__getitem__(self, name)

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not None


def _headers_from(message: Any) -> Headers:
    headers = Headers()
    for name, value in message.items():
        existing = dict.get(headers, name)
        headers[name] = value if existing is None else f"{existing}, {value}"
    return headers


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (dict, Headers, httpx.Headers...)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


@dataclass
class _Canned:
    status: int
    body: bytes
    headers: dict[str, str]
    delay: float = 0.0
    remaining: int | None = None
    hold: threading.Event | None = None


class _CannedResponses:
    """Per-key programmed answers: finite ones are used first, in order; then the standing one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finite: dict[str, deque[_Canned]] = {}
        self._standing: dict[str, _Canned] = {}

    def add(self, key: str, canned: _Canned) -> None:
        with self._lock:
            if canned.remaining is None:
                self._standing[key] = canned
            elif canned.remaining > 0:
                self._finite.setdefault(key, deque()).append(canned)

    def take(self, *keys: str) -> _Canned | None:
        with self._lock:
            for key in keys:
                queue = self._finite.get(key)
                if queue:
                    canned = queue[0]
                    assert canned.remaining is not None
                    canned.remaining -= 1
                    if canned.remaining <= 0:
                        queue.popleft()
                    return canned
            for key in keys:
                if key in self._standing:
                    return self._standing[key]
        return None

    def clear(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._finite.clear()
                self._standing.clear()
            else:
                self._finite.pop(key, None)
                self._standing.pop(key, None)


def _encode_body(body: bytes | str | Mapping[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, default=str).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _Server

    def _dispatch(self) -> None:
        self.server.double._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def respond(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            names = set()
            for name, value in (headers or {}).items():
                names.add(name.lower())
                self.send_header(name, value)
            if "content-type" not in names:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, double: _HTTPDouble) -> None:
        self.double = double
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _HTTPDouble:
    """Base class: an HTTP server on 127.0.0.1:<ephemeral> served from a daemon thread."""

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind a fresh port and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and drop open keep-alive connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, handler: _Handler) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# FakeSlack
# --------------------------------------------------------------------------------------------


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


class FakeSlack(_HTTPDouble):
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
        self._canned = _CannedResponses()
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
            _Canned(status, _encode_body(body), dict(headers or {}), delay, remaining=times),
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

    def _handle(self, handler: _Handler) -> None:
        raw = handler.read_body()
        split = urllib.parse.urlsplit(handler.path)
        headers = _headers_from(handler.headers)
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
        handler.respond(200, _encode_body(body))

    def _authorized(self, headers: Headers) -> bool:
        match = _AUTH_RE.match(headers.get("Authorization") or "")
        return bool(match) and match.group(1).startswith(self.ACCEPTED_TOKEN_PREFIXES)

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
                    title=item.get("title"), channel=params.get("channel_id"),
                    comment=params.get("initial_comment"),
                )
        return {"ok": True, "files": [{"id": item.get("id")} for item in listed]}

    def _api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", "") or params.get("channel", ""))
        first = users.split(",")[0]
        if not first:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "channel": {"id": _dm_channel(first)}}


# --------------------------------------------------------------------------------------------
# SlackRequests
# --------------------------------------------------------------------------------------------


def _element_options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _as_option(element: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    if isinstance(answer, Mapping):
        return dict(answer)
    value = str(answer)
    for option in _element_options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def _as_list(answer: Any) -> list[Any]:
    if answer is None:
        return []
    if isinstance(answer, (list, tuple, set, frozenset)):
        return list(answer)
    return [answer]


def _initial_answer(element: Mapping[str, Any]) -> Any:
    for key in (
        "initial_value",
        "initial_option",
        "initial_options",
        "initial_date",
        "initial_time",
        "initial_date_time",
        "initial_user",
        "initial_users",
        "initial_conversation",
        "initial_conversations",
        "initial_channel",
        "initial_channels",
    ):
        if key in element:
            return element[key]
    return None


_SINGLE_KEYS = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
}
_MULTI_KEYS = {
    "multi_users_select": "selected_users",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
}


def _element_state(element: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    kind = str(element.get("type", ""))
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = None if answer is None else str(answer)
    elif kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = None if answer is None else _as_option(element, answer)
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        state["selected_options"] = [_as_option(element, a) for a in _as_list(answer)]
    elif kind == "datepicker":
        if isinstance(answer, dt.date):
            answer = answer.isoformat()
        state["selected_date"] = answer
    elif kind == "timepicker":
        if isinstance(answer, dt.time):
            answer = answer.strftime("%H:%M")
        state["selected_time"] = answer
    elif kind == "datetimepicker":
        if isinstance(answer, dt.datetime):
            answer = answer.timestamp()
        state["selected_date_time"] = None if answer is None else int(answer)
    elif kind in _SINGLE_KEYS:
        state[_SINGLE_KEYS[kind]] = answer
    elif kind in _MULTI_KEYS:
        state[_MULTI_KEYS[kind]] = [str(a) for a in _as_list(answer)]
    elif kind == "file_input":
        state["files"] = _as_list(answer)
    else:
        state["value"] = answer
    return state


def values_for(
    view: Mapping[str, Any], answers: Mapping[str, object], *, use_initial: bool = False
) -> dict[str, dict[str, Any]]:
    """Build the ``view.state.values`` Slack would send when this modal is submitted.

    ``answers`` is keyed by block_id or action_id. Unanswered inputs get the empty shape, or the
    element's ``initial_*`` value when ``use_initial`` is true (what an untouched field sends).
    Raises KeyError for answer keys that match no input block, to catch typos.
    """
    values: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for index, block in enumerate(view.get("blocks") or []):
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id = str(block.get("block_id") or f"block_{index}")
        action_id = str(element.get("action_id") or f"action_{index}")
        key = block_id if block_id in answers else action_id if action_id in answers else None
        if key is not None:
            answer = answers[key]
            used.add(key)
        else:
            answer = _initial_answer(element) if use_initial else None
        values[block_id] = {action_id: _element_state(element, answer)}
    unknown = set(answers) - used
    if unknown:
        raise KeyError(f"answers match no input block/action: {sorted(unknown)}")
    return values


class SlackRequests:
    """Imitates Slack calling the bot: signs and posts requests to the bot's events URL.

    Requests are signed like Slack (``v0`` HMAC-SHA256 over ``v0:{ts}:{body}``). For security
    tests, set :attr:`timestamp`, :attr:`signature` or :attr:`extra_headers`, or use
    :meth:`with_overrides` for a copy that sends tampered headers.
    """

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        fake: FakeSlack | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.fake = fake
        #: Sign with this timestamp instead of now (int seconds or str), e.g. a stale one.
        self.timestamp: int | str | None = None
        #: Send this ``X-Slack-Signature`` instead of the correct one.
        self.signature: str | None = None
        #: Extra headers on every request, e.g. ``{"X-Slack-Retry-Num": "1"}``.
        self.extra_headers: dict[str, str] = {}
        self.client = httpx.Client(trust_env=False, timeout=timeout)
        self._owns_client = True
        self._counter = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def with_overrides(
        self,
        *,
        timestamp: int | str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> SlackRequests:
        """A copy (sharing the HTTP client) that signs with ``timestamp``, sends ``signature``
        and/or adds ``headers``."""
        clone = copy.copy(self)
        clone._owns_client = False
        clone.extra_headers = {**self.extra_headers, **(headers or {})}
        if timestamp is not None:
            clone.timestamp = timestamp
        if signature is not None:
            clone.signature = signature
        return clone

    # -- signing -----------------------------------------------------------------------------

    @staticmethod
    def sign(signing_secret: str, timestamp: int | str, body: str | bytes) -> str:
        """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{ts}:{body}``."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        base = f"v0:{timestamp}:".encode() + raw
        digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    def signed_headers(
        self, body: str | bytes, content_type: str = "application/x-www-form-urlencoded"
    ) -> dict[str, str]:
        """Headers Slack would send with ``body``, honouring the configured overrides."""
        timestamp = str(self.timestamp if self.timestamp is not None else int(time.time()))
        signature = self.signature or self.sign(self.signing_secret, timestamp, body)
        return {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            **self.extra_headers,
        }

    def raw(
        self,
        body: str | bytes,
        headers: Mapping[str, str] | None = None,
        *,
        sign: bool = True,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        """Post ``body`` as-is. Signed unless ``sign=False``; ``headers`` win over computed ones."""
        final = self.signed_headers(body, content_type) if sign else {}
        final.update(headers or {})
        content = body.encode("utf-8") if isinstance(body, str) else body
        return self.client.post(self.events_url, content=content, headers=final)

    # -- payload helpers ---------------------------------------------------------------------

    def _unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def _trigger_id(self) -> str:
        n = next(self._counter)
        digest = hashlib.sha256(f"{n}:{time.time()}".encode()).hexdigest()[:24]
        return f"{n}.{TEAM_ID[1:]}.{digest}"

    def _response_url(self) -> str:
        if self.fake is not None and self.fake.running:
            return self.fake.new_response_url()
        # Nothing listens on the discard port: a response_url post fails fast, never leaves.
        return f"http://127.0.0.1:9/response_url/{next(self._counter)}"

    def _user_name(self, user_id: str) -> str:
        if self.fake is not None and user_id in self.fake.users:
            return str(self.fake.users[user_id].get("name", user_id.lower()))
        return user_id.lower()

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        if self.fake is not None and channel_id in self.fake.channels:
            return self.fake.channels[channel_id]
        return "general" if channel_id == "C0CHAN" else channel_id.lower()

    def _interactive(self, payload: Mapping[str, Any]) -> httpx.Response:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.raw(body)

    # -- requests ----------------------------------------------------------------------------

    def command(
        self,
        command: str = "/actions",
        text: str = "",
        user_id: str = "U0DEV",
        user_name: str = "dev",
        channel_id: str = "C0CHAN",
        channel_name: str = "general",
        **extra: Any,
    ) -> httpx.Response:
        """Post a slash command (form-encoded, Slack's field set). ``extra`` adds/overrides
        fields."""
        fields: dict[str, Any] = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(),
            "trigger_id": self._trigger_id(),
        }
        fields.update(extra)
        encoded = {
            k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in fields.items()
        }
        return self.raw(urllib.parse.urlencode(encoded))

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        user_id: str = "U0DEV",
        channel_id: str | None = "C0CHAN",
        container: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        block_id: str = "b",
        trigger_id: str | None = None,
        selected_option: dict[str, Any] | str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """Post a ``block_actions`` payload (a button click, or a static_select choice when
        ``selected_option`` is given). Without ``container``, a message container in
        ``channel_id`` is used, or a view container when ``channel_id`` is None and ``view``
        is given; the message is the newest top-level one the ``fake`` holds in that channel,
        if any. ``extra`` adds/overrides top-level payload keys."""
        if container is None:
            if channel_id is None and view is not None:
                container = {"type": "view", "view_id": view.get("id", "")}
            else:
                container = {
                    "type": "message",
                    "message_ts": self._latest_ts(channel_id),
                    "channel_id": channel_id,
                    "is_ephemeral": False,
                }
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id}
        if selected_option is not None:
            if isinstance(selected_option, str):
                selected_option = {
                    "text": {"type": "plain_text", "text": selected_option, "emoji": True},
                    "value": selected_option,
                }
            action.update({"type": "static_select", "selected_option": selected_option})
        else:
            action.update({"type": "button", "text": {"type": "plain_text", "text": action_id}})
            if value is not None:
                action["value"] = value
        action["action_ts"] = f"{time.time():.6f}"

        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id or self._trigger_id(),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
        if container.get("type") == "message":
            payload["message"] = self._container_message(container, channel_id)
            payload["state"] = {"values": {}}
            payload["response_url"] = self._response_url()
        if view is not None:
            payload["view"] = view
        payload["actions"] = [action]
        payload.update(extra)
        return self._interactive(payload)

    def _latest_ts(self, channel_id: str | None) -> str:
        """The newest top-level bot message in the channel (what a user would click on)."""
        if self.fake is not None and channel_id:
            for message in reversed(self.fake.messages(channel_id)):
                if not message.get("thread_ts"):
                    return str(message["ts"])
        return f"{int(time.time())}.{next(self._counter):06d}"

    def _container_message(
        self, container: Mapping[str, Any], channel_id: str | None
    ) -> dict[str, Any]:
        ts = str(container.get("message_ts", ""))
        channel = str(container.get("channel_id") or channel_id or "")
        stored = self.fake.message(channel, ts) if self.fake is not None else None
        if stored is not None:
            stored.pop("channel", None)
            return stored
        return {
            "type": "message",
            "ts": ts,
            "text": "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "blocks": [],
        }

    def _view_payload(self, view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": "V0VIEW",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": "",
            "private_metadata": "",
            "hash": "h0",
            "external_id": "",
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "clear_on_close": False,
            "notify_on_close": False,
        }
        full.update(copy.deepcopy(dict(view)))
        full.setdefault("root_view_id", full["id"])
        full["state"] = {"values": copy.deepcopy(dict(values))}
        return full

    def view_submission(
        self,
        view: dict[str, Any],
        values: dict[str, Any],
        user_id: str = "U0DEV",
        **extra: Any,
    ) -> httpx.Response:
        """Post a ``view_submission`` for ``view`` with ``state.values = values``
        (see :func:`values_for`). ``extra`` adds/overrides top-level payload keys."""
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger_id(),
            "view": self._view_payload(view, values),
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        payload.update(extra)
        return self._interactive(payload)

    def view_closed(
        self,
        view: dict[str, Any],
        user_id: str = "U0DEV",
        is_cleared: bool = False,
        **extra: Any,
    ) -> httpx.Response:
        """Post a ``view_closed`` payload (sent only for views with ``notify_on_close``)."""
        state = view.get("state", {}).get("values", {}) if isinstance(view, dict) else {}
        payload: dict[str, Any] = {
            "type": "view_closed",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "view": self._view_payload(view, state),
            "is_cleared": is_cleared,
            "enterprise": None,
            "is_enterprise_install": False,
        }
        payload.update(extra)
        return self._interactive(payload)

    def event(self, event: dict[str, Any], event_id: str | None = None) -> httpx.Response:
        """Post an Events API ``event_callback`` envelope (JSON) wrapping ``event``."""
        now = int(time.time())
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._unique("Ev0EVENT"),
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{self._unique('ctx')}",
        }
        return self.raw(json.dumps(envelope), content_type="application/json")

    def url_verification(self, challenge: str = "challenge-token") -> httpx.Response:
        """Post the Events API ``url_verification`` handshake."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.raw(json.dumps(body), content_type="application/json")

    values_for = staticmethod(values_for)


# --------------------------------------------------------------------------------------------
# Receiver
# --------------------------------------------------------------------------------------------


@dataclass
class Received:
    """One request received by :class:`Receiver`. ``query`` maps names to their last value."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    time: float
    raw_query: str = field(default="", repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver(_HTTPDouble):
    """A webhook endpoint standing in for the third-party services actions call.

    Records every request; answers 200 ``{"ok": true}`` unless :meth:`reply` programs
    something else for a path (or ``"*"`` for any path).
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._received: list[Received] = []
        self._canned = _CannedResponses()

    def url_for(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this receiver."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def reply(
        self,
        path: str,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"{}",
        headers: dict[str, str] | None = None,
        delay: float = 0,
        times: int | None = None,
        hold: threading.Event | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (all if None) with this response,
        after sleeping ``delay`` seconds (and, with ``hold``, once that event is set: at most
        10 s). Finite replies are used first, then the standing one.
        ``path`` excludes the query string; ``"*"`` matches any path."""
        canned = _Canned(status, _encode_body(body), dict(headers or {}), delay, times, hold)
        self._canned.add(path, canned)

    @property
    def received(self) -> list[Received]:
        """Everything received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def requests(self, path: str | None = None) -> list[Received]:
        """Received requests, optionally only those to ``path``."""
        return [r for r in self.received if path is None or r.path == path]

    def wait(self, count: int = 1, timeout: float = 5) -> list[Received]:
        """Block until at least ``count`` requests arrived; returns all of them.

        Raises AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} request(s) within {timeout}s, "
                        f"got {len(self._received)}: "
                        f"{[f'{r.method} {r.path}' for r in self._received]}"
                    )
                self._changed.wait(min(remaining, 0.05))
            return list(self._received)

    def reset(self) -> None:
        """Forget received requests and programmed replies."""
        with self._lock:
            self._received.clear()
        self._canned.clear()

    def _handle(self, handler: _Handler) -> None:
        body = handler.read_body()
        split = urllib.parse.urlsplit(handler.path)
        received = Received(
            method=handler.command,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
            headers=_headers_from(handler.headers),
            body=body,
            time=time.time(),
            raw_query=split.query,
        )
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()
        canned = self._canned.take(split.path, "*")
        if canned is None:
            handler.respond(200, b'{"ok": true}')
            return
        if canned.delay > 0:
            time.sleep(canned.delay)
        if canned.hold is not None:
            canned.hold.wait(10)
        handler.respond(canned.status, canned.body, canned.headers)


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
