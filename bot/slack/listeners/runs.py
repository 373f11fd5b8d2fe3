"""Submitting an action's form: validate, store the run, ack, then deliver."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import inputs
from bot.access import can_run
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack import blocks, forms

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.view(blocks.RUN_MODAL)
    async def submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        catalog = runtime.catalog()
        user = body.get("user") or {}
        user_id = user.get("id", "")
        meta = runtime.sealer.open(view.get("private_metadata", ""))
        action = catalog.action(meta["action"]) if meta else None
        if meta is None or action is None:
            text = "This form is out of date: the action changed or no longer exists."
            await ack(response_action="update", view=blocks.notice_modal("Cannot run", text))
            return
        owner = catalog.owner_of(action)
        decision = can_run(catalog, action, await runtime.directory.principal(user_id, catalog))
        if not decision:
            await ack(response_action="update", view=blocks.refusal_modal(action, owner, decision))
            await runtime.runner.refuse(action.id, user_id, decision, "submit")
            return
        values, errors = inputs.validate(action, forms.read_inputs(action, view.get("state")))
        problems = {forms.error_block(k): v for k, v in errors.items()}
        service = None
        if action.scope == "service":
            service = catalog.service(forms.read_service(view.get("state")) or "")
            if service is None:
                problems[blocks.SERVICE_BLOCK] = "Choose one of the listed services."
        if problems:
            await ack(response_action="errors", errors=problems)
            return
        channel_id = meta.get("channel")
        run = await runtime.runner.submit(
            Submission(
                action=action,
                user_id=user_id,
                user_name=user.get("name") or user.get("username") or "",
                channel_id=channel_id,
                inputs=values,
                service=service,
                idempotency_key=f"view:{view.get('id')}",
            )
        )
        if run is None:  # Slack redelivered a submission we already have
            await ack()
            return
        await ack(response_action="update", view=blocks.running_modal(action, channel_id))
        outcome = await runtime.runner.start(run, values)
        stored = await asyncio.to_thread(runtime.store.get_run, run.id)
        link = await runtime.notifier.permalink(stored) if stored else None
        try:
            await client.views_update(
                view_id=view["id"], view=blocks.result_modal(action, outcome, link)
            )
        except SlackApiError as exc:  # the user closed the modal: the thread has it all
            log.debug("views.update after run %s: %s", run.id, exc.response.get("error"))
