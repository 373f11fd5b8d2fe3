"""Slack calling the bot: payloads as Slack builds them, signed and posted (`SlackRequests`)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import httpx

from bot.testing.slack import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    FakeSlack,
)

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORM = "application/x-www-form-urlencoded"


def sign(signing_secret: str, timestamp: int | str, body: str | bytes) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{ts}:{body}``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    signing_secret: str,
    body: str | bytes,
    content_type: str = FORM,
    timestamp: int | str | None = None,
) -> dict[str, str]:
    """The headers Slack sends with ``body``, signed at ``timestamp`` (default: now)."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(signing_secret, stamp, body),
    }


def encode(payload: Mapping[str, Any], *, form: bool = False) -> tuple[bytes, str]:
    """A payload as Slack posts it: (body, content type).

    Slash commands (``form``) are their fields, form-encoded; Events API envelopes are
    JSON; interactivity payloads are JSON in a ``payload`` form field.
    """
    if form:
        return urllib.parse.urlencode(payload).encode(), FORM
    if payload.get("type") in ("event_callback", "url_verification"):
        return json.dumps(payload).encode(), "application/json"
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), FORM


@dataclass(frozen=True)
class Team:
    """Who Slack says a request comes from: the workspace and the app installed in it."""

    id: str = TEAM_ID
    domain: str = TEAM_DOMAIN
    app_id: str = APP_ID
    bot_user_id: str = BOT_USER_ID
    token: str = VERIFICATION_TOKEN  # the deprecated verification token; Bolt ignores it


def command_fields(
    team: Team,
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """The form fields of a slash command, in the order Slack sends them."""
    return {
        "token": team.token,
        "team_id": team.id,
        "team_domain": team.domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": team.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def interaction(team: Team, kind: str, user: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every interactivity payload (``block_actions``, ``view_submission``…) has."""
    return {
        "type": kind,
        "team": {"id": team.id, "domain": team.domain},
        "user": dict(user),
        "api_app_id": team.app_id,
        "token": team.token,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def event_callback(
    team: Team, event: Mapping[str, Any], event_id: str, event_context: str | None = None
) -> dict[str, Any]:
    """An Events API envelope around ``event``, authorized for the app's bot user."""
    envelope: dict[str, Any] = {
        "token": team.token,
        "team_id": team.id,
        "api_app_id": team.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team.id,
                "user_id": team.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    if event_context is not None:
        envelope["event_context"] = event_context
    return envelope


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


class SignedPoster:
    """Posts to the bot's events URL, signed like Slack (``v0`` HMAC-SHA256).

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
        #: The workspace and app the requests claim to come from.
        self.team = Team()
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
    ) -> Self:
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

    sign = staticmethod(sign)

    def signed_headers(
        self, body: str | bytes, content_type: str = "application/x-www-form-urlencoded"
    ) -> dict[str, str]:
        """Headers Slack would send with ``body``, honouring the configured overrides."""
        headers = signed_headers(self.signing_secret, body, content_type, self.timestamp)
        if self.signature:
            headers["X-Slack-Signature"] = self.signature
        return {**headers, **self.extra_headers}

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


class SlackRequests(SignedPoster):
    """Imitates Slack calling the bot: slash commands, interactions and events, built as
    Slack builds them (names and channels from the fake's workspace when given)."""

    # -- payload helpers ---------------------------------------------------------------------

    def _unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def _trigger_id(self) -> str:
        n = next(self._counter)
        digest = hashlib.sha256(f"{n}:{time.time()}".encode()).hexdigest()[:24]
        return f"{n}.{self.team.id[1:]}.{digest}"

    def _response_url(self) -> str:
        if self.fake is not None and self.fake.running:
            return self.fake.new_response_url()
        # Nothing listens on the discard port: a response_url post fails fast, never leaves.
        return f"http://127.0.0.1:9/response_url/{next(self._counter)}"

    def _user_name(self, user_id: str) -> str:
        if self.fake is not None and user_id in self.fake.users:
            return self.fake.users[user_id].name
        return user_id.lower()

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team.id}

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        if self.fake is not None and channel_id in self.fake.channels:
            return self.fake.channels[channel_id]
        return "general" if channel_id == "C0CHAN" else channel_id.lower()

    def _interactive(self, payload: Mapping[str, Any]) -> httpx.Response:
        body, content_type = encode(payload)
        return self.raw(body, content_type=content_type)

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
        fields = command_fields(
            self.team,
            command=command,
            text=text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            response_url=self._response_url(),
            trigger_id=self._trigger_id(),
        )
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

        payload = interaction(self.team, "block_actions", self._user(user_id))
        payload.update(container=container, trigger_id=trigger_id or self._trigger_id())
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

    def message_shortcut(
        self,
        callback_id: str,
        on: Mapping[str, Any],
        user_id: str = "U0DEV",
        channel_id: str = "C0CHAN",
        **extra: Any,
    ) -> httpx.Response:
        """Post a ``message_action`` payload: a message shortcut chosen on the message ``on``
        (Slack's message object: type, user or bot_id, ts, text, attachments, files)."""
        payload = interaction(self.team, "message_action", self._user(user_id))
        payload.update(
            callback_id=callback_id,
            trigger_id=self._trigger_id(),
            action_ts=f"{time.time():.6f}",
            channel={"id": channel_id, "name": self._channel_name(channel_id)},
            message_ts=on.get("ts"),
            message={"type": "message", **on},
            response_url=self._response_url(),
        )
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
        payload = interaction(self.team, "view_submission", self._user(user_id))
        payload.update(
            trigger_id=self._trigger_id(), view=self._view_payload(view, values), response_urls=[]
        )
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
        payload = interaction(self.team, "view_closed", self._user(user_id))
        payload.update(view=self._view_payload(view, state), is_cleared=is_cleared)
        payload.update(extra)
        return self._interactive(payload)

    def event(self, event: dict[str, Any], event_id: str | None = None) -> httpx.Response:
        """Post an Events API ``event_callback`` envelope (JSON) wrapping ``event``."""
        envelope = event_callback(
            self.team,
            event,
            event_id or self._unique("Ev0EVENT"),
            event_context=f"4-{self._unique('ctx')}",
        )
        return self.raw(json.dumps(envelope), content_type="application/json")

    def url_verification(self, challenge: str = "challenge-token") -> httpx.Response:
        """Post the Events API ``url_verification`` handshake."""
        body = {"token": self.team.token, "challenge": challenge, "type": "url_verification"}
        return self.raw(json.dumps(body), content_type="application/json")

    values_for = staticmethod(values_for)
