"""Submitting an action's form: validate, store the run, ack, then deliver."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import inputs
from bot.access import Decision, can_run, is_admin
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack import blocks, forms

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.view(blocks.RUN_MODAL)
    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
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
                view_id=view.get("id"),
                parent_id=meta.get("parent"),
            )
        )
        if run is None:  # Slack redelivered a submission we already have
            await ack()
            return
        # The run and its jobs are committed: now Slack gets its answer, the worker the rest.
        await ack(response_action="update", view=blocks.running_modal(action, channel_id))

    @app.action(blocks.CANCEL_BUTTON)
    async def cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user_id = body["user"]["id"]
        run_id = (body.get("actions") or [{}])[0].get("value") or ""
        run = await asyncio.to_thread(runtime.store.get_run, run_id)
        catalog = runtime.catalog()
        if run is None:
            await respond(
                response_type="ephemeral", replace_original=False, text="That run no longer exists."
            )
            return
        who = await runtime.directory.principal(user_id, catalog)
        if user_id != run.user_id and not is_admin(catalog, who):
            await runtime.runner.refuse(
                run.action_id,
                user_id,
                Decision(False, "only the person who ran it or an admin can cancel a run"),
                "cancel",
            )
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text="Only the person who started this run, or an admin, can cancel it.",
            )
            return
        problem = await runtime.runner.cancel(run_id, user_id)
        if problem:
            await respond(
                response_type="ephemeral", replace_original=False, text=f"Can't cancel: {problem}."
            )

    @app.action(blocks.RERUN_BUTTON)
    async def rerun(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        trigger = body["trigger_id"]
        run_id = (body.get("actions") or [{}])[0].get("value") or ""
        run = await asyncio.to_thread(runtime.store.get_run, run_id)
        catalog = runtime.catalog()
        action = catalog.action(run.action_id) if run else None
        if run is None or action is None:
            text = "That run or its action no longer exists. Type `/actions` to start afresh."
            await client.views_open(
                trigger_id=trigger, view=blocks.notice_modal("Cannot run", text)
            )
            return
        owner = catalog.owner_of(action)
        decision = can_run(catalog, action, await runtime.directory.principal(user_id, catalog))
        if not decision:
            await client.views_open(
                trigger_id=trigger, view=blocks.refusal_modal(action, owner, decision)
            )
            await runtime.runner.refuse(action.id, user_id, decision, "rerun")
            return
        channel_id = (body.get("channel") or {}).get("id") or run.channel_id
        if channel_id and channel_id.startswith("D"):
            channel_id = None  # a DM thread: report in the user's own DM
        seal = {"action": action.id, "channel": channel_id, "parent": run.id}
        view = blocks.run_modal(
            action,
            owner,
            channel_id=channel_id,
            metadata=runtime.sealer.seal(seal),
            services=list(catalog.services.values()),
            service=catalog.service(run.service_id) if run.service_id else None,
            values=run.inputs,
        )
        await client.views_open(trigger_id=trigger, view=view)
