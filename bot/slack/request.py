"""One Slack request, parsed once: who, where, what they clicked or typed.

Every listener reads a `SlackRequest` instead of digging in the payload. Parsing checks
the shapes we rely on, so a malformed body becomes a `SlackRequestError` carrying its HTTP
status (400) and a reason, rather than a KeyError halfway through a listener. The values
are still untrusted: they are Slack's words about the request, not decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Payload types that always carry a user; events may not (a `user_change` event's user
# is an object, a `team_join` has none we need).
NEEDS_USER = {
    "block_actions",
    "block_suggestion",
    "command",
    "message_action",
    "shortcut",
    "view_closed",
    "view_submission",
}


class SlackRequestError(Exception):
    """A body Slack signed but we cannot read; `status` is what the sender gets."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class SlackRequest:
    """The parts of a Slack payload the listeners use, with their types checked."""

    kind: str
    user_id: str = ""
    user_name: str = ""
    team_id: str | None = None
    channel_id: str | None = None  # none on the Home tab and in modals
    trigger_id: str | None = None
    response_url: str | None = None
    view: Mapping[str, Any] = field(default_factory=dict)
    action_id: str = ""
    block_id: str = ""
    value: str = ""  # a button's value, a picked option's, typed text, or a command's text
    action_ts: str | None = None
    container: str | None = None  # "message" or "view" (Home and modals)
    event: Mapping[str, Any] = field(default_factory=dict)
    message: Mapping[str, Any] = field(default_factory=dict)  # a message shortcut's message

    @property
    def from_home(self) -> bool:
        """A click on a view (the Home tab or a modal): no response_url to answer on."""
        return self.container == "view"

    @property
    def view_id(self) -> str | None:
        return self.view.get("id")

    @property
    def metadata(self) -> str:
        """The view's private_metadata: sealed by us, still to be opened and checked."""
        return str(self.view.get("private_metadata") or "")

    @property
    def state(self) -> Mapping[str, Any] | None:
        return self.view.get("state")

    @classmethod
    def parse(cls, body: Any) -> SlackRequest:
        """Read a verified body, or raise SlackRequestError saying what is wrong with it."""
        if not isinstance(body, Mapping):
            raise SlackRequestError("the body is not a Slack payload")
        if "command" in body:
            return _command(body)
        kind = _optional(body, "type", "type") or "unknown"
        if kind == "event_callback":
            return _event(body)
        return _interaction(kind, body)


def _command(body: Mapping[str, Any]) -> SlackRequest:
    return SlackRequest(
        kind="command",
        user_id=_required(body, "user_id", "user_id"),
        user_name=_optional(body, "user_name", "user_name") or "",
        team_id=_optional(body, "team_id", "team_id"),
        channel_id=_optional(body, "channel_id", "channel_id"),
        trigger_id=_optional(body, "trigger_id", "trigger_id"),
        response_url=_optional(body, "response_url", "response_url"),
        value=_optional(body, "text", "text") or "",
    )


def _event(body: Mapping[str, Any]) -> SlackRequest:
    event = _mapping(body, "event", "event")
    _required(event, "type", "event.type")
    user = event.get("user")
    return SlackRequest(
        kind="event_callback",
        user_id=user if isinstance(user, str) else "",
        team_id=_optional(body, "team_id", "team_id"),
        event=event,
    )


def _interaction(kind: str, body: Mapping[str, Any]) -> SlackRequest:
    user = _mapping(body, "user", "user")
    if kind in NEEDS_USER and not user:
        raise SlackRequestError("`user` is missing")
    actions = body.get("actions")
    if actions is not None and not (isinstance(actions, list) and actions):
        raise SlackRequestError("`actions` must be a non-empty list")
    action = actions[0] if actions else body  # a suggestion names its element at the top
    if not isinstance(action, Mapping):
        raise SlackRequestError("`actions[0]` must be an object")
    picked = _mapping(action, "selected_option", "actions[0].selected_option")
    return SlackRequest(
        kind=kind,
        user_id=_required(user, "id", "user.id") if user else "",
        user_name=(
            _optional(user, "name", "user.name") or _optional(user, "username", "user.username")
        )
        or "",
        team_id=_optional(_mapping(body, "team", "team"), "id", "team.id"),
        channel_id=_optional(_mapping(body, "channel", "channel"), "id", "channel.id"),
        trigger_id=_optional(body, "trigger_id", "trigger_id"),
        response_url=_optional(body, "response_url", "response_url"),
        view=_view(body),
        action_id=_optional(action, "action_id", "action_id") or "",
        block_id=_optional(action, "block_id", "block_id") or "",
        value=(_optional(action, "value", "value") or _optional(picked, "value", "value") or ""),
        action_ts=_optional(action, "action_ts", "action_ts"),
        container=_optional(_mapping(body, "container", "container"), "type", "container.type"),
        message=_mapping(body, "message", "message"),
    )


def _view(body: Mapping[str, Any]) -> Mapping[str, Any]:
    view = _mapping(body, "view", "view")
    if view:
        _required(view, "type", "view.type")  # Bolt's own routing reads it
    for key in ("id", "hash", "private_metadata", "callback_id"):
        _optional(view, key, f"view.{key}")
    _mapping(view, "state", "view.state")
    return view


def _mapping(parent: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SlackRequestError(f"`{name}` must be an object")
    return value


def _optional(parent: Mapping[str, Any], key: str, name: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SlackRequestError(f"`{name}` must be a string")
    return value


def _required(parent: Mapping[str, Any], key: str, name: str) -> str:
    value = _optional(parent, key, name)
    if value is None:
        raise SlackRequestError(f"`{name}` is missing")
    return value
