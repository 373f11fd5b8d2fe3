"""Browsing buttons: Run (form or one click), paging, service pages and Home search."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.admission import GONE, Refused, Request, Via
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack.listeners.cards import catalog_blocks, publish_home
from bot.slack.listeners.runs import open_form, refused_text
from bot.slack.views import blocks, browse
from bot.slack.views.browse import Page


def _value(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value") or "")


def _from_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view"


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.action(browse.RUN_BUTTON)
    async def run_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        action_id, service_id = browse.parse_button_value(_value(body))
        channel = (body.get("channel") or {}).get("id")  # none on the Home tab
        await open_form(runtime, client, body, action_id, service_id=service_id, channel=channel)

    @app.action(browse.RUN_NOW_BUTTON)
    async def run_now(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        """A one-click action: no form; the click itself is the submission."""
        await ack()
        catalog = runtime.catalog()
        user = body["user"]
        action_id, service_id = browse.parse_button_value(_value(body))
        channel = (body.get("channel") or {}).get("id")
        verdict = await runtime.admission.admit(
            Request(
                action_id=action_id,
                user_id=user["id"],
                via=Via.CLICK,
                service_id=service_id,
                channel_id=channel,
            )
        )
        action = catalog.action(action_id)
        if isinstance(verdict, Refused) or action is None:
            text = GONE
            if isinstance(verdict, Refused) and action is not None:
                text = refused_text(action, catalog.owner_of(action), verdict)
                await runtime.runner.refuse(action.id, user["id"], verdict.decision, "run_now")
            await _tell(body, respond, client, text)
            return
        stamp = (body.get("actions") or [{}])[0].get("action_ts") or body.get("trigger_id")
        run = await runtime.runner.submit(
            Submission(
                action=action,
                user_id=user["id"],
                user_name=user.get("username") or "",
                channel_id=channel,
                inputs=verdict.inputs,
                service=verdict.service,
                idempotency_key=f"click:{user['id']}:{stamp}",
            )
        )
        if run is not None and not _from_home(body):
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text=f"Running *{verdict.action.name}*… the result will appear in the thread.",
            )

    @app.action(re.compile(f"^{browse.PAGE_BUTTON}:"))
    async def page(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user_id = body["user"]["id"]
        state = Page.decode(_value(body))
        if _from_home(body):
            await publish_home(runtime, user_id, state)
            return
        catalog = runtime.catalog()
        who = await runtime.directory.principal(user_id, catalog)
        channel = (body.get("channel") or {}).get("id")
        found = await catalog_blocks(runtime, who, channel, state)
        await respond(replace_original=True, text="Self-service actions", blocks=found)

    @app.action(re.compile(f"^{browse.SERVICE_BUTTON}:"))
    async def service_page(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        catalog = runtime.catalog()
        who = await runtime.directory.principal(body["user"]["id"], catalog)
        channel = (body.get("channel") or {}).get("id")
        state = Page(service=_value(body))
        found = await catalog_blocks(runtime, who, channel, state)
        await respond(replace_original=True, text="Service actions", blocks=found)

    @app.action(browse.HOME_SEARCH)
    async def home_search(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await publish_home(runtime, body["user"]["id"], Page(query=_value(body)[:100]))

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(runtime, event["user"])


async def _tell(
    body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, text: str
) -> None:
    """An answer to a click, on the surface it came from."""
    if _from_home(body):
        await client.views_open(
            trigger_id=body["trigger_id"], view=blocks.notice_modal("Actions", text)
        )
    else:
        await respond(response_type="ephemeral", replace_original=False, text=text)
