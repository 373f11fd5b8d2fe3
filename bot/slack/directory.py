"""What we ask Slack about people: profiles and user-group membership, briefly cached."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Principal
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
        }
        self._profiles[user_id] = (time.monotonic() + PROFILE_TTL, found)
        return found

    async def members(self, usergroup: str) -> frozenset[str]:
        cached = self._groups.get(usergroup)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=usergroup)
            users = frozenset(response.get("users") or [])
        except SlackApiError as exc:
            # Fail closed: nobody is in a group we cannot read.
            log.warning("usergroups.users.list %s failed: %s", usergroup, exc)
            return frozenset()
        self._groups[usergroup] = (time.monotonic() + GROUP_TTL, users)
        return users

    async def principal(self, user_id: str, catalog: Catalog) -> Principal:
        groups = set()
        for group in catalog.admins.usergroups:
            if user_id in await self.members(group):
                groups.add(group)
        return Principal(user_id, frozenset(groups))
