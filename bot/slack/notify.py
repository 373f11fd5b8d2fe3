"""Posts a run's status message, progress and threaded result: the Slack side of bot.runs.

Called from jobs: an exception here makes the job try again later, so a Slack outage
delays a result but never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import approver_ids
from bot.catalog import Action, Catalog, Service
from bot.kinds import GrantState, JobKind, RunKind, RunStatus
from bot.mrkdwn import escape, local_time
from bot.outcomes import Outcome, RequestPreview
from bot.policy import SOURCE_NAMES, Plan
from bot.runs.expiry import clock
from bot.runs.grants import grant_state
from bot.slack.views import approvals, blocks, grants
from bot.slack.views.fallback import fallback, text_message
from bot.store import Run, Store
from bot.store.models import ApprovalDecision, utcnow

log = logging.getLogger(__name__)

# Errors that mean "not in this channel", where the user's DM is the next best place.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def thread_of(run: Run) -> str | None:
    """Where a run's replies go: the thread of the message it was started from, if any
    (Slack threads are one level deep), else its status message's own thread."""
    return run.thread_ts or run.message_ts


def child_result(run: Run, body: list[dict], outcome: Outcome) -> list[dict]:
    """A revert's or extension's result: labelled, and a failed revert offers a retry."""
    label = "Revert" if run.kind == RunKind.REVERT else "Extension"
    if run.kind == RunKind.REVERT and not outcome.ok and run.parent_id:
        label = ":warning: Revert failed"
        retry = grants.controls(run.parent_id, GrantState.REVERT_FAILED, "revert")
        return [blocks.section(f"*{label}*"), *body[:-1], *retry]
    return [blocks.section(f"*{label}*"), *body[:-1]]  # no Run again


def approval_targets(catalog: Catalog, run: Run, action: Action, plan: Plan | None) -> list[str]:
    """Where an approval request goes: the approval channel, else each approver's DM."""
    assert action.approval is not None
    if action.approval.channel:
        return [action.approval.channel]
    people = approver_ids(catalog, action) + (plan.approvers if plan else [])
    return [
        u for u in dict.fromkeys(people) if u != run.user_id or action.approval.allow_self_approval
    ]


def approval_note(catalog: Catalog, action: Action, plan: Plan | None, asked: bool) -> str:
    """The run thread's note on who is asked to approve (``asked``: anyone directly)."""
    who = approvals.approvers_text(catalog, action, plan)
    note = f"Waiting for approval by {who}."
    if plan is not None and plan.failed:
        failed = [f"{SOURCE_NAMES.get(k, k)} ({escape(v)})" for k, v in plan.failed.items()]
        note += " Could not resolve " + "; ".join(failed) + "."
    if plan is not None and plan.auto is not None:
        note = f"Approved by the rule `{escape(plan.auto)}`; the request went to {who}."
    elif not asked:
        note = (
            f"Waiting for approval by {who}: no one could be asked directly (no "
            "approval channel, no named approvers); ask them to check their Home tab."
        )
    return note


async def update_warnings(
    client: AsyncWebClient,
    run: Run,
    action: Action,
    state: GrantState,
    sent: list[dict[str, str]],
) -> None:
    """Redraw the expiry warning DMs already sent, as the grant now stands."""
    text, body = grants.warning_message(run, action, utcnow(), state)
    for ref in sent:
        try:
            await client.chat_update(
                channel=ref["channel"], ts=ref["ts"], text=fallback(text), blocks=body
            )
        except SlackApiError as exc:
            log.info("run %s: warning DM not updated: %s", run.id, exc)


class SlackNotifier:
    def __init__(
        self,
        client: AsyncWebClient,
        store: Store,
        catalog: Callable[[], Catalog],
        after_finish: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.catalog = catalog
        self.after_finish = after_finish  # e.g. refresh the user's Home tab

    def mention(self, user_id: str) -> str:
        return f"<@{user_id}>"

    def _service(self, run: Run) -> Service | None:
        return self.catalog().service(run.service_id) if run.service_id else None

    async def started(self, run: Run, action: Action, service: Service | None) -> Run:
        text, body = blocks.status_message(run, action, service)
        channel = run.channel_id or run.user_id
        try:
            response = await self.client.chat_postMessage(
                channel=channel, text=fallback(text), blocks=body, thread_ts=run.thread_ts
            )
        except SlackApiError as exc:
            if channel == run.user_id or exc.response.get("error") not in CANNOT_POST:
                raise
            log.info(
                "run %s: cannot post in %s (%s); using the user's DM",
                run.id,
                channel,
                exc.response.get("error"),
            )
            response = await self.client.chat_postMessage(
                channel=run.user_id, text=fallback(text), blocks=body
            )
            await self.client.chat_postMessage(
                channel=response["channel"],
                thread_ts=response["ts"],
                **text_message(
                    f"I couldn't post in <#{channel}>, so the run is reported here. "
                    "Invite me there with `/invite @actions` to post in the channel next time."
                ),
            )
        run = await asyncio.to_thread(
            self.store.update_run, run.id, channel_id=response["channel"], message_ts=response["ts"]
        )
        link = await self.permalink(run)
        if link:
            run = await asyncio.to_thread(self.store.update_run, run.id, permalink=link)
        return run

    async def say(self, channel: str, text: str) -> None:
        """A notice in a channel, not about one run (a schedule that paused itself)."""
        await self.client.chat_postMessage(channel=channel, **text_message(text))

    async def progress(self, run: Run, text: str, edit: str | None = None) -> str | None:
        channel = run.channel_id or run.user_id
        if edit:
            try:
                await self.client.chat_update(channel=channel, ts=edit, **text_message(text))
                return edit
            except SlackApiError as exc:  # deleted meanwhile: post it afresh
                log.info("run %s: note not edited (%s)", run.id, exc.response.get("error"))
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_of(run), **text_message(text)
        )
        return response.get("ts")

    async def running(
        self, run: Run, action: Action, message: str, links: list[dict[str, str]]
    ) -> None:
        if not run.message_ts:
            return
        text, body = blocks.status_message(
            run, action, self._service(run), status="RUNNING", note=message, links=links
        )
        await self.client.chat_update(
            channel=run.channel_id or run.user_id,
            ts=run.message_ts,
            text=fallback(text),
            blocks=body,
        )

    async def finished(
        self, run: Run, action: Action, outcome: Outcome, view_id: str | None
    ) -> None:
        owner = self.catalog().owner_of(action)
        channel = run.channel_id or run.user_id
        text, body = blocks.result_message(run, action, owner, outcome)
        if run.kind != RunKind.RUN:  # a revert or an extension: the parent's thread tells it
            body = child_result(run, body, outcome)
        # The thread reply must arrive: a failure here retries the whole report job.
        await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_of(run), text=fallback(text), blocks=body
        )
        if run.message_ts and run.kind == RunKind.RUN:
            status = outcome.final_status or run.status
            await self._redraw(run, action, status=status, duration_ms=outcome.duration_ms)
        elif run.kind == RunKind.REVERT and run.parent_id:
            parent = await asyncio.to_thread(self.store.get_run, run.parent_id)
            if parent is not None:
                await self.refresh(parent, action)
        if view_id:
            await self._update_modal(run, action, outcome, view_id)
        if self.after_finish:
            try:
                await self.after_finish(run.user_id)
            except Exception as exc:  # the Home tab is a convenience
                log.warning("refreshing the Home tab of %s failed: %s", run.user_id, exc)

    async def grant_state(self, run: Run) -> GrantState | None:
        """Where a time-limited run's grant stands; None for any other run."""
        if run.kind != RunKind.RUN or run.expires_at is None or run.status != RunStatus.SUCCESS:
            return None
        pending = await asyncio.to_thread(self.store.pending_jobs, run.id, JobKind.REVERT)
        reverts = await asyncio.to_thread(self.store.children, run.id, RunKind.REVERT)
        return grant_state(min((j.due_at for j in pending), default=None), reverts, utcnow())

    async def _redraw(
        self, run: Run, action: Action, status: str | None = None, **extra: Any
    ) -> None:
        """Edit the status message in place: the run, its grant and the buttons that work."""
        if not run.message_ts:
            return
        fresh = await asyncio.to_thread(self.store.get_run, run.id) or run
        tail = grants.status_tail(fresh, action, await self.grant_state(fresh))
        decided = await asyncio.to_thread(self.store.decisions, run.id)
        text, body = blocks.status_message(
            fresh,
            action,
            self._service(fresh),
            status=status,
            tail=tail,
            decisions=decided,
            **extra,
        )
        try:
            await self.client.chat_update(
                channel=run.channel_id or run.user_id,
                ts=run.message_ts,
                text=fallback(text),
                blocks=body,
            )
        except SlackApiError as exc:
            log.warning("run %s: could not update the status message: %s", run.id, exc)

    async def refresh(self, run: Run, action: Action) -> None:
        """The status message, and the warning DM if one was sent: both as the run stands."""
        await self._redraw(run, action)
        state = await self.grant_state(run)
        sent = await asyncio.to_thread(self.store.posted_by, run.id, JobKind.EXPIRY_WARNING)
        if state is None or not sent:
            return
        await update_warnings(self.client, run, action, state, sent)

    async def request_approval(
        self,
        run: Run,
        action: Action,
        service: Service | None,
        preview: RequestPreview | None = None,
    ) -> list[dict[str, str]]:
        """Post the approval request: in the approval channel, or to each approver's DM."""
        catalog = self.catalog()
        assert action.approval is not None
        text, body = approvals.request_blocks(catalog, run, action, service, preview=preview)
        plan = Plan.from_json(run.approval_plan)
        targets = approval_targets(catalog, run, action, plan)
        refs = []
        for target in targets:
            response = await self.client.chat_postMessage(
                channel=target, text=fallback(text), blocks=body
            )
            refs.append({"channel": response["channel"], "ts": response["ts"]})
        await self.progress(run, approval_note(catalog, action, plan, bool(targets)))
        return refs

    async def update_approval(
        self,
        run: Run,
        action: Action,
        decisions: list[ApprovalDecision],
        preview: RequestPreview | None = None,
    ) -> None:
        service = self._service(run)
        text, body = approvals.request_blocks(
            self.catalog(), run, action, service, decisions, preview=preview
        )
        for ref in run.approval_refs:
            try:
                await self.client.chat_update(
                    channel=ref["channel"], ts=ref["ts"], text=fallback(text), blocks=body
                )
            except SlackApiError as exc:
                log.warning("run %s: approval request not updated: %s", run.id, exc)
        if run.message_ts and run.kind == RunKind.RUN:
            await self._redraw(run, action)

    async def expiry_notice(self, run: Run, action: Action) -> None:
        """A note in the thread; the live buttons are on the status message above."""
        assert run.expires_at is not None
        line = f"*{escape(action.name)}* expires {local_time(run.expires_at)}"
        await self.client.chat_postMessage(
            channel=run.channel_id or run.user_id,
            thread_ts=thread_of(run),
            text=fallback(
                f"{action.name} expires at {clock(run.expires_at)}: it will be undone then."
            ),
            blocks=[blocks.section(f":hourglass_flowing_sand: {line}: it will be undone then.")],
        )

    async def expiry_warning(self, run: Run, action: Action) -> dict[str, str]:
        text, body = grants.warning_message(run, action, utcnow(), GrantState.ACTIVE)
        posted = await self.client.chat_postMessage(
            channel=run.user_id, text=fallback(text), blocks=body
        )
        return {"channel": posted["channel"], "ts": posted["ts"]}

    async def escalate(self, run: Run, action: Action, text: str) -> None:
        """A revert failed for good: say so loudly, where the owners will see it."""
        owner = self.catalog().owner_of(action)
        message = approvals.escalation_text(run, action, owner.channel, text)
        targets = [owner.channel] if owner.channel else list(self.catalog().admins.users)
        for target in targets or [run.user_id]:
            await self.client.chat_postMessage(channel=target, **text_message(message))
        if run.message_ts:
            await self.progress(run, message)

    async def _update_modal(self, run: Run, action: Action, outcome: Outcome, view_id: str) -> None:
        link = await self.permalink(run)
        try:
            await self.client.views_update(
                view_id=view_id, view=blocks.result_modal(action, outcome, link)
            )
        except SlackApiError as exc:  # the user closed the modal: the thread has it all
            log.debug("run %s: modal not updated: %s", run.id, exc.response.get("error"))

    async def permalink(self, run: Run) -> str | None:
        if not (run.channel_id and run.message_ts):
            return None
        try:
            response = await self.client.chat_getPermalink(
                channel=run.channel_id, message_ts=run.message_ts
            )
        except SlackApiError:
            return None
        return response.get("permalink")
