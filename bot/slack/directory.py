"""What we ask Slack about people: profiles and user-group membership, briefly cached."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Principal, usergroups_in_use
from bot.catalog import Catalog

log = logging.getLogger(__name__)

PROFILE_TTL = 300.0
GROUP_TTL = 60.0


class Directory:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._profiles: dict[str, tuple[float, dict[str, Any]]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def profile(self, user_id: str) -> dict[str, Any]:
        """`name` and `email` for templates; empty when Slack cannot tell us."""
        cached = self._profiles.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
            user = response["user"]
        except (SlackApiError, KeyError) as exc:
            log.warning("users.info %s failed: %s", user_id, exc)
            return {}
        profile = user.get("profile") or {}
        found = {
            "name": profile.get("real_name") or user.get("real_name") or user.get("name"),
            "email": profile.get("email"),
            "username": user.get("name"),
            "deleted": bool(user.get("deleted")),
            "workspace_admin": bool(user.get("is_admin") or user.get("is_owner")),
            "tz": user.get("tz"),  # the user's IANA time zone, for schedules
        }
        self._profiles[user_id] = (time.monotonic() + PROFILE_TTL, found)
        return found

    async def user_by_email(self, email: str) -> str | None:
        """The Slack user with this email (`users.lookupByEmail`), or None."""
        if not email:
            return None
        try:
            response = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            log.info("users.lookupByEmail failed: %s", exc.response.get("error"))
            return None
        user = response.get("user") or {}
        return None if user.get("deleted") else user.get("id")

    async def profile_field(self, user_id: str, field_id: str) -> str | None:
        """A custom profile field's value (`users.profile.get`), or None."""
        try:
            response = await self.client.users_profile_get(user=user_id)
        except SlackApiError as exc:
            log.info("users.profile.get %s failed: %s", user_id, exc.response.get("error"))
            return None
        fields = (response.get("profile") or {}).get("fields") or {}
        found = fields.get(field_id) if isinstance(fields, dict) else None
        value = found.get("value") if isinstance(found, dict) else None
        return value.strip() if isinstance(value, str) and value.strip() else None

    async def members(self, usergroup: str) -> frozenset[str] | None:
        """The group's members, or None when Slack cannot tell us (callers fail closed)."""
        cached = self._groups.get(usergroup)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=usergroup)
            users = frozenset(response.get("users") or [])
        except SlackApiError as exc:
            log.warning("usergroups.users.list %s failed: %s", usergroup, exc)
            return None
        self._groups[usergroup] = (time.monotonic() + GROUP_TTL, users)
        return users

    async def channel(self, channel_id: str) -> bool | None:
        """Whether Slack knows this channel and it is open; None when Slack cannot say."""
        try:
            response = await self.client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.info("conversations.info %s failed: %s", channel_id, error)
            return False if error in ("channel_not_found", "is_archived") else None
        found = response.get("channel") or {}
        return found.get("id") == channel_id and not found.get("is_archived")

    async def principal(self, user_id: str, catalog: Catalog) -> Principal:
        groups: set[str] = set()
        known = True
        for group in sorted(usergroups_in_use(catalog)):
            members = await self.members(group)
            if members is None:
                known = False
            elif user_id in members:
                groups.add(group)
        workspace_admin = False
        if catalog.admins.workspace_admins:
            workspace_admin = bool((await self.profile(user_id)).get("workspace_admin"))
        return Principal(user_id, frozenset(groups), workspace_admin, known)
