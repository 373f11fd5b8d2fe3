"""One Slack workspace kept in memory: the state Slack's Web API reads and writes.

Users, channels, messages (threads included), ephemeral messages, modals and their stacks,
Home tabs, uploaded files, the trigger_ids and response_urls handed out, and the log of
Web API calls. `FakeSlack` (tests, bench) serves it over a threaded HTTP server; the
playground serves it on its event loop to the bot and shows it on its page. The Web API
methods themselves are in `bot.testing.web_api`.

``strict`` is the playground's Slack: a trigger_id must have been handed out and be fresh,
Block Kit is checked against Slack's limits, channels and users must exist. The tests'
Slack is lenient: they build payloads with made-up ids and read back what the bot sent.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.testing import blockkit

TRIGGER_TTL = 3.0  # seconds, as in Slack: a modal must be opened promptly after a click
RESPONSE_URL_TTL = 30 * 60
RESPONSE_URL_USES = 5
MAX_VIEW_STACK = 3


@dataclass(frozen=True)
class Identity:
    """The workspace and the app installed in it, as Slack names them."""

    team_id: str = "T0TEAM"
    team_domain: str = "example"
    team_name: str = "Example"
    app_id: str = "A0APP"
    bot_id: str = "B0BOT"
    bot_user_id: str = "U0BOT"
    bot_name: str = "actions"


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    is_admin: bool = False  # a workspace admin or owner, as users.info reports
    is_owner: bool = False
    display_name: str | None = None
    tz: str = "UTC"

    def profile(self, team_id: str) -> dict[str, Any]:
        """The user object of `users.info`."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "tz": self.tz,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.display_name or self.name,
                "email": self.email,
            },
        }


def default_users() -> dict[str, User]:
    return {
        u.id: u
        for u in (
            User("U0ADMIN", "ada", "Ada Admin", "ada@example.com"),
            User("U0DEV", "dev", "Dee Veloper", "dev@example.com"),
            User("U0OWNER", "owen", "Owen Owner", "owen@example.com"),
        )
    }


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
class Call:
    """One request Slack received: a Web API method (``chat.postMessage``) or
    ``"response_url"``; ``params`` merges query and body, JSON-looking fields decoded."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    path: str = ""


@dataclass
class Workspace:
    identity: Identity = field(default_factory=Identity)
    strict: bool = False
    public_url: str = ""  # where this Slack is served: upload URLs point there
    upload_path: str = "/upload/"
    permalink_base: str = "https://example.slack.com"
    users: dict[str, User] = field(default_factory=default_users)
    channels: dict[str, str] = field(default_factory=lambda: {"C0CHAN": "general"})
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    #: Channel ids conversations.info answers channel_not_found for (deleted, or private).
    missing_channels: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}  # open modals (lenient: every modal)
        self.stacks: dict[str, list[str]] = {}  # user -> open modal view ids, bottom first
        self.view_errors: dict[str, dict[str, str]] = {}
        self.view_notice: dict[str, str] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}  # uploads: metadata plus the bytes
        self.triggers: dict[str, Grant] = {}
        self.response_urls: dict[str, Grant] = {}
        self.calls: list[Call] = []
        self.version = 0
        self.on_change: list[Callable[[], None]] = []
        self._ids = itertools.count(1)
        self._last_ts = 0.0

    def changed(self) -> None:
        self.version += 1
        for listener in self.on_change:
            listener()

    def clear(self) -> None:
        """Forget messages, views, files and calls; people, channels and listeners stay.
        Ids keep counting: a view id or ts handed out before is never handed out again."""
        ids, last_ts, listeners = self._ids, self._last_ts, self.on_change
        self.__post_init__()
        self._ids, self._last_ts, self.on_change = ids, last_ts, listeners

    # --- ids ---------------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def trigger(self, user_id: str) -> str:
        n = self.next_id()
        trigger_id = f"{n}.{self.identity.team_id[1:]}.{secrets.token_hex(12)}"
        self.triggers[trigger_id] = Grant(user_id, time.monotonic() + TRIGGER_TTL)
        return trigger_id

    def response_url(
        self, user_id: str, channel_id: str | None, source: dict[str, Any] | None = None
    ) -> str:
        """A response_url for an interaction, valid as Slack's are (the playground's path)."""
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
        """The channel a post to ``channel`` lands in (a user id means their DM); strict:
        only channels, and DMs with people, of this workspace."""
        if not channel:
            return None
        if not self.strict:
            return dm_id(channel) if channel.startswith("U") else channel
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
        return {"id": user_id, "username": name, "name": name, "team_id": self.identity.team_id}

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def find_ephemeral(self, ts: str) -> dict[str, Any] | None:
        return next((e for e in self.ephemerals if e["ts"] == ts), None)

    def stack(self, user_id: str) -> list[str]:
        return self.stacks.setdefault(user_id, [])

    def owner_of_view(self, view_id: str) -> str | None:
        return next((u for u, ids in self.stacks.items() if view_id in ids), None)

    # --- what the people in the workspace (and the bot) do ---------------------------------

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
            "channel": channel,
            "ts": self.next_ts(),
            "user": user_id,
            "text": text,
            "blocks": blocks,
            "team": self.identity.team_id,
            "thread_ts": None,
        }
        if user_id == self.identity.bot_user_id:
            message.update(bot_id=self.identity.bot_id, app_id=self.identity.app_id)
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
        sender: str | None = None,
    ) -> dict[str, Any]:
        ts = self.next_ts()
        ephemeral = {
            "type": "message",
            "subtype": "ephemeral",
            "ts": ts,
            "message_ts": ts,
            "channel": channel,
            "to": user_id,
            "user": sender or self.identity.bot_user_id,
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
        stored = self.store_view(view, view_id, self.views.get(view_id))
        self.view_errors.pop(view_id, None)
        self.view_notice.pop(view_id, None)
        self.changed()
        return stored

    def push_view(self, user_id: str | None, view: dict[str, Any]) -> dict[str, Any]:
        """Open a modal on top of the person's stack (lenient: no person, no stack)."""
        stack = self.stack(user_id) if user_id is not None else []
        previous = self.views.get(stack[-1]) if stack else None
        stored = self.store_view(view, None, None)
        if previous is not None:
            stored["previous_view_id"] = previous["id"]
            stored["root_view_id"] = previous.get("root_view_id", previous["id"])
        if user_id is not None:
            stack.append(stored["id"])
        self.changed()
        return stored

    def store_view(
        self, view: dict[str, Any], view_id: str | None, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        stored = copy.deepcopy(view)
        if self.strict:
            blockkit.fill_ids(stored.get("blocks") or [])
        n = self.next_id()
        view_id = view_id or f"V{n:08d}"
        for key, default in (
            ("type", "modal"),
            ("callback_id", ""),
            ("private_metadata", ""),
            ("external_id", ""),
            ("clear_on_close", False),
            ("notify_on_close", False),
        ):
            stored.setdefault(key, default)
        stored.update(
            id=view_id,
            team_id=self.identity.team_id,
            app_id=self.identity.app_id,
            bot_id=self.identity.bot_id,
            hash=f"h{n}.{secrets.token_hex(4)}",
            state={"values": {}},
            root_view_id=(previous or {}).get("root_view_id", view_id),
            previous_view_id=(previous or {}).get("previous_view_id"),
        )
        self.views[view_id] = stored
        return stored

    def upload(self, file_id: str, data: bytes) -> bool:
        """The bytes of a files_upload_v2 upload, posted to its upload URL."""
        entry = self.files.get(file_id)
        if entry is None:
            return False
        entry["data"] = data
        entry["content"] = data.decode("utf-8", "replace")
        return True
