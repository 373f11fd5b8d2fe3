"""Slack's side of the protocol: what Slack sends the bot when a person uses the page.

The page never calls the bot directly. It tells this module what the person did (typed a
slash command, clicked a button, submitted a modal…); this module builds the payload Slack
would build, signs it with the app's signing secret (`v0` HMAC, as Slack does, with
`bot.testing.requests`, the builder the tests use too) and POSTs it over real HTTP to the
bot's `/slack/events`. The bot's answer (the ack body, and later posts to `response_url`)
is applied to the workspace the way Slack applies it.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bot.playground import answers
from bot.playground.answers import TROUBLE
from bot.playground.workspace import (
    APP_ID,
    BOT_USER_ID,
    SLACKBOT,
    TEAM_DOMAIN,
    TEAM_ID,
    PageWorkspace,
    dm_id,
)
from bot.testing.requests import (
    Team,
    command_fields,
    encode,
    event_callback,
    interaction,
    signed_headers,
)

log = logging.getLogger(__name__)

ACK_TIMEOUT = 3.0  # Slack gives up on an app that has not answered within 3 seconds
# The playground's workspace and app, as Slack names them in what it sends the bot.
TEAM = Team(
    id=TEAM_ID,
    domain=TEAM_DOMAIN,
    app_id=APP_ID,
    bot_user_id=BOT_USER_ID,
    token="playground-verification-token",  # deprecated by Slack; Bolt ignores it
)


@dataclass
class Answer:
    """The bot's HTTP answer to one request, or why there was none."""

    status: int = 0
    text: str = ""
    error: str | None = None  # operation_timeout, dispatch_failed, http_<status>

    def json(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


class Interactions:
    def __init__(
        self,
        workspace: PageWorkspace,
        events_url: str,
        signing_secret: str,
        commands: dict[str, dict[str, str]],
    ) -> None:
        self.ws = workspace
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.commands = commands
        self.http = httpx.AsyncClient(trust_env=False, timeout=ACK_TIMEOUT)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- sending ---------------------------------------------------------------------

    async def send(self, summary: str, payload: dict[str, Any], *, form: bool) -> Answer:
        """Sign and POST one request to the bot, as Slack does, and record both sides."""
        body, content_type = encode(payload, form=form)
        headers = signed_headers(self.signing_secret, body, content_type)
        started = time.perf_counter()
        answer = Answer()
        try:
            response = await self.http.post(self.events_url, content=body, headers=headers)
            answer = Answer(response.status_code, response.text)
            if response.status_code != 200:
                answer.error = f"http_{response.status_code}"
        except httpx.TimeoutException:
            answer.error = "operation_timeout"
        except httpx.HTTPError as exc:
            answer.error = "dispatch_failed"
            log.warning("posting to %s failed: %s", self.events_url, exc)
        took = round((time.perf_counter() - started) * 1000, 1)
        self.ws.record(
            "to_bot",
            f"{summary} → {answer.error or answer.status}",
            request={"headers": headers, "payload": payload},
            response={"status": answer.status, "body": answer.json() or answer.text},
            duration_ms=took,
        )
        if answer.error:
            self.ws.notice(f"The bot did not acknowledge {summary}: {answer.error}.")
        self.ws.changed()
        return answer

    def _base(self, kind: str, user_id: str) -> dict[str, Any]:
        return interaction(TEAM, kind, self.ws.user_object(user_id))

    def _view_with_state(self, view_id: str, values: dict[str, Any] | None) -> dict[str, Any]:
        view = self.ws.views.get(view_id)
        if view is None:
            home = next((h for h in self.ws.homes.values() if h["id"] == view_id), None)
            view = home if home is not None else {}
        if values is not None and view:
            view["state"] = {"values": copy.deepcopy(values)}  # Slack keeps it on the view
        return copy.deepcopy(view)

    # --- slash commands ----------------------------------------------------------------

    async def command(self, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
        name, _, args = text.strip().partition(" ")
        if name not in self.commands:
            self.ws.post_ephemeral(
                channel_id,
                user_id,
                f"`{name}` is not a valid command. In Slack, all messages that start with "
                'the "/" character are interpreted as commands.',
                sender=SLACKBOT,
            )
            return {"ok": False, "error": "unknown_command"}
        fields = command_fields(
            TEAM,
            command=name,
            text=args.strip(),
            user_id=user_id,
            user_name=self.ws.user_object(user_id)["name"],
            channel_id=channel_id,
            channel_name=self.ws.channel_name(channel_id),
            response_url=self.ws.response_url(user_id, channel_id),
            trigger_id=self.ws.trigger(user_id),
        )
        answer = await self.send(f"slash command {name}", fields, form=True)
        if answer.error:
            self.ws.post_ephemeral(
                channel_id,
                user_id,
                f'`{name}` failed with the error "{answer.error}"',
                sender=SLACKBOT,
            )
            return {"ok": False, "error": answer.error}
        if answer.text.strip():  # an immediate answer: a message, or plain text
            body = answer.json() or {"text": answer.text}
            answers.deliver_message(self.ws, user_id, channel_id, body, None)
        return {"ok": True}

    # --- block_actions ------------------------------------------------------------------

    async def block_action(
        self,
        user_id: str,
        source: dict[str, Any],
        action: dict[str, Any],
        values: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A click, a choice or a dispatched input, in a message, a modal or the Home tab."""
        payload = self._base("block_actions", user_id)
        payload["trigger_id"] = self.ws.trigger(user_id)
        if source.get("type") == "view":
            view_id = str(source.get("view_id", ""))
            view = self._view_with_state(view_id, values)
            if not view:
                return {"ok": False, "error": "view_not_found"}
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = view
        else:
            channel = str(source.get("channel", ""))
            ts = str(source.get("ts", ""))
            ephemeral = bool(source.get("ephemeral"))
            found = self.ws.find_ephemeral(ts) if ephemeral else self.ws.find_message(channel, ts)
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            container: dict[str, Any] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            if found.get("thread_ts"):
                container["thread_ts"] = found["thread_ts"]
            payload["container"] = container
            payload["channel"] = {"id": channel, "name": self.ws.channel_name(channel)}
            if not ephemeral:  # Slack leaves the message out for ephemeral ones
                payload["message"] = copy.deepcopy(found)
            payload["state"] = {"values": values or {}}
            payload["response_url"] = self.ws.response_url(
                user_id, channel, {"ts": ts, "ephemeral": ephemeral, "channel": channel}
            )
        payload["actions"] = [{**action, "action_ts": f"{time.time():.6f}"}]
        answer = await self.send(f"block_actions {action.get('action_id')}", payload, form=False)
        return {"ok": not answer.error, "error": answer.error}

    # --- modals ------------------------------------------------------------------------

    async def submit(self, user_id: str, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        stack = self.ws.stack(user_id)
        if not stack or stack[-1] != view_id:
            return {"ok": False, "error": "not_the_open_view"}
        payload = self._base("view_submission", user_id)
        payload["trigger_id"] = self.ws.trigger(user_id)
        payload["view"] = self._view_with_state(view_id, values)
        payload["response_urls"] = []
        callback = payload["view"].get("callback_id") or view_id
        answer = await self.send(f"view_submission {callback}", payload, form=False)
        self.ws.view_errors.pop(view_id, None)
        self.ws.view_notice.pop(view_id, None)
        if answer.error:
            self.ws.view_notice[view_id] = TROUBLE
            self.ws.changed()
            return {"ok": False, "error": answer.error}
        answers.apply_submission_answer(self.ws, user_id, view_id, answer.json() or {})
        self.ws.changed()
        return {"ok": True}

    async def close(self, user_id: str, view_id: str, *, everything: bool) -> dict[str, Any]:
        """The person closed the modal (close or Cancel) or went back from a pushed view."""
        stack = self.ws.stack(user_id)
        if not stack or stack[-1] != view_id:
            return {"ok": False, "error": "not_the_open_view"}
        cleared = everything and len(stack) > 1
        top = self.ws.views[view_id]
        closed = self.ws.close_views(user_id, None if everything else 1)
        if top.get("notify_on_close"):
            payload = self._base("view_closed", user_id)
            payload["view"] = copy.deepcopy(closed[0])
            payload["is_cleared"] = cleared
            await self.send(f"view_closed {top.get('callback_id') or view_id}", payload, form=False)
        return {"ok": True}

    async def suggest(
        self,
        user_id: str,
        source: dict[str, Any],
        action_id: str,
        block_id: str,
        value: str,
    ) -> dict[str, Any]:
        """An external_select asks the bot for options matching what was typed."""
        payload = self._base("block_suggestion", user_id)
        payload.update(action_id=action_id, block_id=block_id, value=value)
        if source.get("type") == "view":
            view_id = str(source.get("view_id", ""))
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = self._view_with_state(view_id, None)
        else:
            channel = str(source.get("channel", ""))
            payload["container"] = {
                "type": "message",
                "message_ts": str(source.get("ts", "")),
                "channel_id": channel,
                "is_ephemeral": bool(source.get("ephemeral")),
            }
            payload["channel"] = {"id": channel, "name": self.ws.channel_name(channel)}
        answer = await self.send(f"block_suggestion {action_id}", payload, form=False)
        body = answer.json() or {}
        return {
            "ok": not answer.error,
            "options": body.get("options") or [],
            "option_groups": body.get("option_groups") or [],
        }

    # --- events ------------------------------------------------------------------------

    async def home_opened(self, user_id: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": dm_id(user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if user_id in self.ws.homes:
            event["view"] = copy.deepcopy(self.ws.homes[user_id])
        envelope = event_callback(TEAM, event, "Ev" + secrets.token_hex(5).upper())
        answer = await self.send("event app_home_opened", envelope, form=False)
        return {"ok": not answer.error, "error": answer.error}
