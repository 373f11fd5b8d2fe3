"""Approve, deny, withdraw; revoke now and extend. Every decision is checked on the server."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Decision, can_approve, can_control, is_admin
from bot.admission import Refused, Request, Via
from bot.catalog import Action, parse_duration
from bot.runs import Submission
from bot.runtime import Runtime
from bot.slack.views import approvals as views
from bot.slack.views import blocks
from bot.store import Run


def _value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    picked = action.get("selected_option") or {}
    return str(action.get("value") or picked.get("value") or "")


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def loaded(run_id: str) -> tuple[Run, Action] | None:
        run = await asyncio.to_thread(runtime.store.get_run, run_id)
        action = runtime.catalog().action(run.action_id) if run else None
        return (run, action) if run and action else None

    async def tell(
        body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, text: str
    ) -> None:
        """An answer to the clicker alone, on the surface they clicked."""
        if body.get("response_url"):
            await respond(response_type="ephemeral", replace_original=False, text=text)
        else:
            await client.views_open(
                trigger_id=body["trigger_id"], view=blocks.notice_modal("Actions", text)
            )

    async def approver_check(user_id: str, run: Run, action: Action) -> Decision:
        catalog = runtime.catalog()
        who = await runtime.directory.principal(user_id, catalog)
        decision = can_approve(catalog, action, who, run.user_id)
        if not decision:
            await runtime.runner.refuse(action.id, user_id, decision, "approve")
        return decision

    async def decidable(
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        run_id: str,
        verb: str,
    ) -> tuple[Run, Action] | None:
        """The run behind an Approve or Deny click, if the clicker may decide it."""
        found = await loaded(run_id)
        if found is None:
            await tell(body, client, respond, "That request no longer exists.")
            return None
        decision = await approver_check(body["user"]["id"], *found)
        if not decision:
            await tell(body, client, respond, f"You can't {verb} this: {decision.reason}.")
            return None
        return found

    async def approve(
        body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, run_id: str
    ) -> None:
        found = await decidable(body, client, respond, run_id, "approve")
        if found is None:
            return
        problem = await runtime.runner.approvals.decide(*found, body["user"]["id"], True)
        if problem:
            await tell(body, client, respond, f"Not recorded: {problem}.")

    async def ask_reason(
        body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, run_id: str
    ) -> None:
        found = await decidable(body, client, respond, run_id, "deny")
        if found is None:
            return
        run, action = found
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=views.deny_modal(action, runtime.sealer.seal({"run": run.id})),
        )

    @app.action(views.APPROVE)
    async def approve_clicked(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await approve(body, client, respond, _value(body))

    @app.action(views.DENY)
    async def deny_clicked(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await ask_reason(body, client, respond, _value(body))

    @app.action("approval_menu")
    async def home_menu(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        choice, _, run_id = _value(body).partition(":")
        if choice == "approve":
            await approve(body, client, respond, run_id)
        elif choice == "deny":
            await ask_reason(body, client, respond, run_id)

    @app.view(views.DENY_MODAL)
    async def denied(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        meta = runtime.sealer.open(view.get("private_metadata", "")) or {}
        reason = (((view.get("state") or {}).get("values") or {}).get("reason") or {}).get(
            "reason", {}
        ).get("value") or ""
        if not reason.strip():
            await ack(response_action="errors", errors={"reason": "Say why, for the requester."})
            return
        found = await loaded(str(meta.get("run", "")))
        if found is None:
            await ack(
                response_action="update",
                view=blocks.notice_modal("Deny", "That request no longer exists."),
            )
            return
        run, action = found
        decision = await approver_check(user_id, run, action)
        if not decision:
            await ack(
                response_action="update",
                view=blocks.notice_modal("Deny", f"You can't deny this: {decision.reason}."),
            )
            return
        problem = await runtime.runner.approvals.decide(run, action, user_id, False, reason.strip())
        text = f"Not recorded: {problem}." if problem else "Denied. The requester has been told."
        await ack(response_action="update", view=blocks.notice_modal("Deny", text))

    @app.action(views.WITHDRAW)
    async def withdraw(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        found = await loaded(_value(body))
        if found is None:
            return
        run, action = found
        catalog = runtime.catalog()
        who = await runtime.directory.principal(user_id, catalog)
        if user_id != run.user_id and not is_admin(catalog, who):
            reason = "only the requester can withdraw a request"
            await runtime.runner.refuse(action.id, user_id, Decision(False, reason), "withdraw")
            await tell(body, client, respond, f"You can't withdraw this: {reason}.")
            return
        problem = await runtime.runner.approvals.withdraw(run, user_id)
        if problem:
            await tell(body, client, respond, f"Can't withdraw: {problem}.")

    async def may_control(user_id: str, run: Run, action: Action) -> bool:
        """Revoke now and Extend: the requester, an approver, or an admin."""
        catalog = runtime.catalog()
        who = await runtime.directory.principal(user_id, catalog)
        return bool(can_control(catalog, action, who, run.user_id))

    async def controlled(
        body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, verb: str
    ) -> tuple[Run, Action] | None:
        """The run behind a Revoke now / Extend click, if the clicker may do that."""
        user_id = body["user"]["id"]
        found = await loaded(_value(body))
        if found is None:
            return None
        run, action = found
        if not await may_control(user_id, run, action):
            reason = f"only the requester, an approver or an admin can {verb} it"
            await runtime.runner.refuse(action.id, user_id, Decision(False, reason), verb)
            await tell(body, client, respond, f"You can't {verb} this: {reason}.")
            return None
        return found

    @app.action(views.REVOKE)
    async def revoke(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        found = await controlled(body, client, respond, "revoke")
        if found is None:
            return
        problem = await runtime.runner.expiry.revoke_now(found[0], body["user"]["id"])
        if problem:
            await tell(body, client, respond, f"Can't revoke: {problem}.")

    @app.action(views.EXTEND)
    async def extend(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        found = await controlled(body, client, respond, "extend")
        if found is None:
            return
        run, action = found
        meta = runtime.sealer.seal({"run": run.id})
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=views.extend_modal(action, run, meta, action.needs_approval),
        )

    @app.view(views.EXTEND_MODAL)
    async def extended(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]
        meta = runtime.sealer.open(view.get("private_metadata", "")) or {}
        found = await loaded(str(meta.get("run", "")))
        text = (((view.get("state") or {}).get("values") or {}).get("duration") or {}).get(
            "duration", {}
        ).get("value") or ""
        if found is None:
            await ack(
                response_action="update",
                view=blocks.notice_modal("Extend", "That run no longer exists."),
            )
            return
        run, action = found
        verdict = await runtime.admission.admit(
            Request(
                action_id=action.id,
                user_id=user["id"],
                via=Via.EXTEND,
                channel_id=run.channel_id,
                parent_id=run.id,
            )
        )
        if isinstance(verdict, Refused):
            await runtime.runner.refuse(action.id, user["id"], verdict.decision, "extend")
            note = f"You can't extend this run: {verdict.reason}."
            await ack(response_action="update", view=blocks.notice_modal("Extend", note))
            return
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            await ack(response_action="errors", errors={"duration": str(exc)})
            return
        flow = runtime.runner.expiry
        problem = flow.extension_problem(run, action, seconds)
        if problem:
            await ack(response_action="errors", errors={"duration": f"Too long: {problem}."})
            return
        if not action.needs_approval:
            problem = await flow.extend(run, action, seconds, user["id"])
            note = f"Not extended: {problem}." if problem else "Extended. The thread says so."
            await ack(response_action="update", view=blocks.notice_modal("Extend", note))
            return
        await runtime.runner.submit(
            Submission(
                action=action,
                user_id=user["id"],
                user_name=user.get("name") or "",
                channel_id=run.channel_id,
                inputs={"seconds": seconds},
                kind="extend",
                parent_id=run.id,
                thread_of=run,
                idempotency_key=f"extend:{view.get('id')}",
            )
        )
        await ack(
            response_action="update",
            view=blocks.notice_modal(
                "Extend", "Asked the approvers; the thread will say when it is decided."
            ),
        )
