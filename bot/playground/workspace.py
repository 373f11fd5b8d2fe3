"""A small Slack workspace kept in memory, and the Web API the bot calls on it.

The bot's `SLACK_API_URL` points at `/api/` on the playground server, so every
`client.chat_postMessage(...)` and friends lands in :meth:`Workspace.call`, exactly as a
request to slack.com would: same method names, same parameters, same `ok`/`error` answers.
Each call is recorded so the page can show it. Everything here runs on the server's event
loop, so plain dicts are enough; :meth:`changed` wakes the page's long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.playground import blockkit

log = logging.getLogger(__name__)

TEAM_ID = "T0PLAYGRND"
TEAM_DOMAIN = "playground"
TEAM_NAME = "Playground"
APP_ID = "A0ACTIONS"
BOT_ID = "B0ACTIONS"
BOT_USER_ID = "U0ACTIONS"
BOT_NAME = "Actions"
SLACKBOT = "USLACKBOT"
TRIGGER_TTL = 3.0  # seconds, as in Slack: a modal must be opened promptly after a click
RESPONSE_URL_TTL = 30 * 60
RESPONSE_URL_USES = 5
MAX_VIEW_STACK = 3
SHOWN_MESSAGES = 300  # per channel, in what the page gets
SHOWN_EPHEMERALS = 30  # per person


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str
    is_bot: bool = False

    def profile(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_admin": False,
            "is_owner": False,
            "tz": "UTC",
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "email": self.email,
            },
        }


DEFAULT_USERS = [
    User("U0ADMIN", "ada", "Ada Admin", "ada@example.com"),
    User("U0DEV", "dee", "Dee Veloper", "dee@example.com"),
    User("U0OWNER", "owen", "Owen Owner", "owen@example.com"),
]


def dm_id(user_id: str) -> str:
    """The bot's direct-message channel with a user."""
    return "D" + user_id[1:]


@dataclass
class Grant:
    """What a trigger_id or response_url was issued for."""

    user_id: str
    expires: float
    channel_id: str | None = None
    source: dict[str, Any] | None = None  # the message an interaction came from
    uses: int = 0


@dataclass
class Workspace:
    bot_token: str
    public_url: str
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    usergroups: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.users:
            self.users = {u.id: copy.copy(u) for u in DEFAULT_USERS}
        self.users.setdefault(BOT_USER_ID, User(BOT_USER_ID, "actions", BOT_NAME, "", is_bot=True))
        self.users.setdefault(SLACKBOT, User(SLACKBOT, "slackbot", "Slackbot", "", is_bot=True))
        self.channels.setdefault("C0CHAN", "general")
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.stacks: dict[str, list[str]] = {}  # user -> open modal view ids, bottom first
        self.view_errors: dict[str, dict[str, str]] = {}
        self.view_notice: dict[str, str] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}  # uploads: metadata plus the bytes
        self.triggers: dict[str, Grant] = {}
        self.response_urls: dict[str, Grant] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=400)
        self.notices: deque[dict[str, Any]] = deque(maxlen=20)
        self.version = 0
        self.closing = False  # set at shutdown: long polls return at once
        self._event = asyncio.Event()
        self._ids = itertools.count(1)
        self._last_ts = 0.0

    # --- change notification -----------------------------------------------------------

    def changed(self) -> None:
        self.version += 1
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
            {"n": next(self._ids), "at": time.time(), "kind": kind, "summary": summary, **detail}
        )

    def notice(self, text: str) -> None:
        """Something the person at the page should see (a refused API call, a bot error)."""
        self.notices.append({"n": next(self._ids), "at": time.time(), "text": text})

    # --- ids ---------------------------------------------------------------------------

    def next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def trigger(self, user_id: str) -> str:
        n = next(self._ids)
        trigger_id = f"{n}.{TEAM_ID[1:]}.{secrets.token_hex(12)}"
        self.triggers[trigger_id] = Grant(user_id, time.monotonic() + TRIGGER_TTL)
        return trigger_id

    def response_url(
        self, user_id: str, channel_id: str | None, source: dict[str, Any] | None = None
    ) -> str:
        token = secrets.token_urlsafe(16)
        self.response_urls[token] = Grant(
            user_id, time.monotonic() + RESPONSE_URL_TTL, channel_id, source
        )
        return f"{self.public_url}/playground/response_url/{token}"

    # --- lookups -----------------------------------------------------------------------

    def channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        return self.channels.get(channel_id, channel_id.lower())

    def resolve_channel(self, channel: str) -> str | None:
        """A channel id the bot may post to: a channel, a DM, or a user id (their DM)."""
        if channel in self.channels:
            return channel
        if channel.startswith("U") and channel in self.users:
            return dm_id(channel)
        if channel.startswith("D") and ("U" + channel[1:]) in self.users:
            return channel
        return None

    def user_object(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        name = user.name if user else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def find_ephemeral(self, ts: str) -> dict[str, Any] | None:
        return next((e for e in self.ephemerals if e["ts"] == ts), None)

    def stack(self, user_id: str) -> list[str]:
        return self.stacks.setdefault(user_id, [])

    def owner_of_view(self, view_id: str) -> str | None:
        return next((u for u, ids in self.stacks.items() if view_id in ids), None)

    # --- what the people in the workspace do ----------------------------------------------

    def post(
        self,
        channel: str,
        user_id: str,
        text: str,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """Add a message to a channel (or a thread), as a person or as the bot."""
        message: dict[str, Any] = {
            "type": "message",
            "ts": self.next_ts(),
            "user": user_id,
            "text": text,
            "blocks": blocks,
            "team": TEAM_ID,
        }
        if user_id == BOT_USER_ID:
            message.update(bot_id=BOT_ID, app_id=APP_ID)
        if thread_ts:
            parent = self.find_message(channel, thread_ts)
            if parent is not None:
                thread_ts = parent.get("thread_ts") or parent["ts"]
                root = self.find_message(channel, thread_ts) or parent
                root["thread_ts"] = thread_ts
                root["reply_count"] = root.get("reply_count", 0) + 1
                root["latest_reply"] = message["ts"]
                users = root.setdefault("reply_users", [])
                if user_id not in users:
                    users.append(user_id)
            message["thread_ts"] = thread_ts
        self.messages.setdefault(channel, []).append(message)
        self.changed()
        return message

    def post_ephemeral(
        self,
        channel: str,
        user_id: str,
        text: str,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
        sender: str = BOT_USER_ID,
    ) -> dict[str, Any]:
        ephemeral = {
            "type": "message",
            "subtype": "ephemeral",
            "ts": self.next_ts(),
            "channel": channel,
            "to": user_id,
            "user": sender,
            "text": text,
            "blocks": blocks,
            "thread_ts": thread_ts,
        }
        self.ephemerals.append(ephemeral)
        self.changed()
        return ephemeral

    def dismiss(self, user_id: str, ts: str) -> None:
        self.ephemerals = [e for e in self.ephemerals if not (e["ts"] == ts and e["to"] == user_id)]
        self.changed()

    def close_views(self, user_id: str, count: int | None = None) -> list[dict[str, Any]]:
        """Close the top ``count`` modals of a user (all when None); returns them, top first."""
        stack = self.stack(user_id)
        closing = stack[::-1] if count is None else stack[::-1][:count]
        del stack[len(stack) - len(closing) :]
        closed = []
        for view_id in closing:
            view = self.views.pop(view_id, None)
            if view is not None:
                closed.append(view)
            self.view_errors.pop(view_id, None)
            self.view_notice.pop(view_id, None)
        self.changed()
        return closed

    def replace_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        previous = self.views[view_id]
        stored = self._store_view(view, view_id, previous)
        self.view_errors.pop(view_id, None)
        self.view_notice.pop(view_id, None)
        self.changed()
        return stored

    def push_view(self, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stack = self.stack(user_id)
        previous = self.views.get(stack[-1]) if stack else None
        stored = self._store_view(view, None, None)
        if previous is not None:
            stored["previous_view_id"] = previous["id"]
            stored["root_view_id"] = previous.get("root_view_id", previous["id"])
        stack.append(stored["id"])
        self.changed()
        return stored

    def _store_view(
        self, view: dict[str, Any], view_id: str | None, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        stored = copy.deepcopy(view)
        blockkit.fill_ids(stored.get("blocks") or [])
        view_id = view_id or f"V{next(self._ids):08d}"
        for key, default in (
            ("callback_id", ""),
            ("private_metadata", ""),
            ("external_id", ""),
            ("clear_on_close", False),
            ("notify_on_close", False),
        ):
            stored.setdefault(key, default)
        stored.update(
            id=view_id,
            team_id=TEAM_ID,
            app_id=APP_ID,
            bot_id=BOT_ID,
            hash=f"{int(time.time())}.{secrets.token_hex(4)}",
            state={"values": {}},
            root_view_id=(previous or {}).get("root_view_id", view_id),
            previous_view_id=(previous or {}).get("previous_view_id"),
        )
        self.views[view_id] = stored
        return stored

    # --- the Web API -------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Answer one Web API call the way Slack would, and record it."""
        if not token:
            answer: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif token != self.bot_token:
            answer = {"ok": False, "error": "invalid_auth"}
        else:
            handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(
                self, "api_" + method.replace(".", "_"), None
            )
            if handler is None:
                answer = {"ok": False, "error": "unknown_method"}
            else:
                answer = handler(params)
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

    def api_auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"{self.public_url}/",
            "team": TEAM_NAME,
            "team_id": TEAM_ID,
            "user": "actions",
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message_problems(self, params: dict[str, Any]) -> dict[str, Any] | None:
        problems = blockkit.check_message(params.get("text"), params.get("blocks"))
        if not problems:
            return None
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        return {"ok": False, "error": "invalid_blocks", "errors": problems}

    def api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        problem = self._message_problems(params)
        if problem:
            return problem
        blocks = copy.deepcopy(params.get("blocks"))
        blockkit.fill_ids(blocks or [])
        thread_ts = params.get("thread_ts") or None
        if thread_ts and self.find_message(channel, str(thread_ts)) is None:
            return {"ok": False, "error": "thread_not_found"}
        message = self.post(
            channel,
            BOT_USER_ID,
            str(params.get("text") or ""),
            blocks,
            thread_ts and str(thread_ts),
        )
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(str(params.get("channel", "")))
        message = self.find_message(channel or "", str(params.get("ts", "")))
        if channel is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.get("user") != BOT_USER_ID:
            return {"ok": False, "error": "cant_update_message"}
        merged = {"text": message.get("text"), "blocks": message.get("blocks"), **params}
        problem = self._message_problems(merged)
        if problem:
            return problem
        if "text" in params:
            message["text"] = str(params["text"] or "")
        if "blocks" in params:
            message["blocks"] = copy.deepcopy(params["blocks"])
            blockkit.fill_ids(message["blocks"] or [])
        message["edited"] = {"user": BOT_USER_ID, "ts": self.next_ts()}
        self.changed()
        return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"]}

    def api_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(str(params.get("channel", "")))
        message = self.find_message(channel or "", str(params.get("ts", "")))
        if channel is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        self.messages[channel].remove(message)
        self.changed()
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(str(params.get("channel", "")))
        user_id = str(params.get("user", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        problem = self._message_problems(params)
        if problem:
            return problem
        blocks = copy.deepcopy(params.get("blocks"))
        blockkit.fill_ids(blocks or [])
        thread_ts = params.get("thread_ts") or None
        ephemeral = self.post_ephemeral(
            channel, user_id, str(params.get("text") or ""), blocks, thread_ts
        )
        return {"ok": True, "message_ts": ephemeral["ts"]}

    def api_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(str(params.get("channel", "")))
        ts = str(params.get("message_ts", ""))
        message = self.find_message(channel or "", ts)
        if channel is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        thread = message.get("thread_ts") if message.get("thread_ts") != ts else None
        link = f"{self.public_url}/#/archives/{channel}/p{ts.replace('.', '')}"
        if thread:
            link += f"?thread_ts={thread}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _use_trigger(self, params: dict[str, Any]) -> tuple[str | None, str | None]:
        """(user id, error) for the trigger_id of views.open/push."""
        grant = self.triggers.pop(str(params.get("trigger_id", "")), None)
        if grant is None:
            return None, "invalid_trigger_id"
        if grant.expires < time.monotonic():
            return None, "expired_trigger_id"
        return grant.user_id, None

    def _view_problems(self, view: Any) -> dict[str, Any] | None:
        problems = blockkit.check_view(view)
        if not problems:
            return None
        return {
            "ok": False,
            "error": "invalid_arguments",
            "response_metadata": {"messages": problems},
        }

    def api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        problem = self._view_problems(view)
        if problem:
            return problem
        user_id, error = self._use_trigger(params)
        if user_id is None:
            return {"ok": False, "error": error}
        if isinstance(view, dict) and view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        self.close_views(user_id)  # a new modal replaces whatever the person had open
        return {"ok": True, "view": self.push_view(user_id, view)}  # type: ignore[arg-type]

    def api_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        problem = self._view_problems(view)
        if problem:
            return problem
        user_id, error = self._use_trigger(params)
        if user_id is None:
            return {"ok": False, "error": error}
        stack = self.stack(user_id)
        if not stack:
            return {"ok": False, "error": "not_found"}
        if len(stack) >= MAX_VIEW_STACK:
            return {"ok": False, "error": "push_limit_reached"}
        return {"ok": True, "view": self.push_view(user_id, view)}  # type: ignore[arg-type]

    def api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        problem = self._view_problems(view)
        if problem:
            return problem
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (i for i, v in self.views.items() if v["external_id"] == params["external_id"]),
                None,
            )
        if not view_id or view_id not in self.views:
            return {"ok": False, "error": "not_found"}  # closed, or never opened
        current = self.views[view_id]
        if params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if current.get("type") == "home":
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "view": self.replace_view(view_id, view)}  # type: ignore[arg-type]

    def api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        problem = self._view_problems(view)
        if problem:
            return problem
        user_id = str(params.get("user_id", ""))
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        current = self.homes.get(user_id)
        if params.get("hash") and current and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        stored = self._store_view(view, current["id"] if current else None, None)
        self.views.pop(stored["id"], None)  # Home tabs are not modals
        self.homes[user_id] = stored
        self.changed()
        return {"ok": True, "view": stored}

    # files_upload_v2: get an upload URL, POST the bytes there, then complete the upload.
    def api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("filename") or "")
        length = str(params.get("length") or "")
        if not name or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"id": file_id, "name": name, "size": int(length), "data": None}
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"{self.public_url}/playground/upload/{file_id}",
        }

    def upload(self, file_id: str, data: bytes) -> bool:
        entry = self.files.get(file_id)
        if entry is None:
            return False
        entry["data"] = data
        return True

    def api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        listed = params.get("files")
        if not isinstance(listed, list) or not listed:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for item in listed:
            entry = self.files.get(str((item or {}).get("id", "")))
            if entry is None or entry["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            entry["title"] = (item or {}).get("title") or entry["name"]
            shared.append(self._file_meta(entry))
        channel = params.get("channel_id") or params.get("channels")
        if channel:
            resolved = self.resolve_channel(str(channel).split(",")[0])
            if resolved is None:
                return {"ok": False, "error": "channel_not_found"}
            message = self.post(
                resolved,
                BOT_USER_ID,
                str(params.get("initial_comment") or ""),
                None,
                params.get("thread_ts") or None,
            )
            message["files"] = shared
            self.changed()
        return {"ok": True, "files": shared}

    def _file_meta(self, entry: dict[str, Any]) -> dict[str, Any]:
        link = f"{self.public_url}/playground/files/{entry['id']}"
        return {
            "id": entry["id"],
            "name": entry["name"],
            "title": entry.get("title") or entry["name"],
            "size": len(entry["data"] or b""),
            "url_private": link,
            "url_private_download": link,
        }

    def api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.profile()}

    def api_users_list(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "members": [u.profile() for u in self.users.values()]}

    def api_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = str(params.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": self.channel_name(channel),
                "is_channel": channel.startswith("C"),
                "is_im": channel.startswith("D"),
                "is_private": False,
                "is_member": True,
                "is_archived": False,
            },
        }

    def api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", "")).split(",")
        if len(users) != 1 or users[0] not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": dm_id(users[0])}}

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
            "team": {"id": TEAM_ID, "name": TEAM_NAME},
            "bot": {"id": BOT_USER_ID, "name": BOT_NAME},
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
