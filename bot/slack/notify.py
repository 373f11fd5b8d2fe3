"""Posts a run's status message, progress and threaded result: the Slack side of bot.runs.

Called from jobs: an exception here makes the job try again later, so a Slack outage
delays a result but never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import approver_ids
from bot.catalog import Action, Catalog, Service
from bot.kinds import RunKind
from bot.outcomes import Outcome
from bot.runs.expiry import clock
from bot.slack.views import approvals, blocks
from bot.store import Run, Store
from bot.store.models import ApprovalDecision

log = logging.getLogger(__name__)

# Errors that mean "not in this channel", where the user's DM is the next best place.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


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
            response = await self.client.chat_postMessage(channel=channel, text=text, blocks=body)
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
                channel=run.user_id, text=text, blocks=body
            )
            await self.client.chat_postMessage(
                channel=response["channel"],
                thread_ts=response["ts"],
                text=f"I couldn't post in <#{channel}>, so the run is reported here. "
                "Invite me there with `/invite @actions` to post in the channel next time.",
            )
        run = await asyncio.to_thread(
            self.store.update_run, run.id, channel_id=response["channel"], message_ts=response["ts"]
        )
        link = await self.permalink(run)
        if link:
            run = await asyncio.to_thread(self.store.update_run, run.id, permalink=link)
        return run

    async def progress(self, run: Run, text: str) -> None:
        await self.client.chat_postMessage(
            channel=run.channel_id or run.user_id, thread_ts=run.message_ts, text=text
        )

    async def running(
        self, run: Run, action: Action, message: str, links: list[dict[str, str]]
    ) -> None:
        if not run.message_ts:
            return
        text, body = blocks.status_message(
            run, action, self._service(run), status="RUNNING", note=message, links=links
        )
        await self.client.chat_update(
            channel=run.channel_id or run.user_id, ts=run.message_ts, text=text, blocks=body
        )

    async def finished(
        self, run: Run, action: Action, outcome: Outcome, view_id: str | None
    ) -> None:
        owner = self.catalog().owner_of(action)
        channel = run.channel_id or run.user_id
        text, body = blocks.result_message(run, action, owner, outcome)
        if run.kind != RunKind.RUN:  # a revert or an extension: its parent's thread tells the story
            label = "Revert" if run.kind == RunKind.REVERT else "Extension"
            body = [blocks.section(f"*{label}*"), *body[:-1]]  # no Run again
        # The thread reply must arrive: a failure here retries the whole report job.
        await self.client.chat_postMessage(
            channel=channel, thread_ts=run.message_ts, text=text, blocks=body
        )
        if run.message_ts and run.kind == RunKind.RUN:
            text, body = blocks.status_message(
                run,
                action,
                self._service(run),
                status=outcome.final_status or run.status,
                duration_ms=outcome.duration_ms,
            )
            try:
                await self.client.chat_update(
                    channel=channel, ts=run.message_ts, text=text, blocks=body
                )
            except SlackApiError as exc:
                log.warning("run %s: could not mark the status message: %s", run.id, exc)
        if view_id:
            await self._update_modal(run, action, outcome, view_id)
        if self.after_finish:
            try:
                await self.after_finish(run.user_id)
            except Exception as exc:  # the Home tab is a convenience
                log.warning("refreshing the Home tab of %s failed: %s", run.user_id, exc)

    async def request_approval(
        self, run: Run, action: Action, service: Service | None
    ) -> list[dict[str, str]]:
        """Post the approval request: in the approval channel, or to each approver's DM."""
        catalog = self.catalog()
        assert action.approval is not None
        text, body = approvals.request_blocks(catalog, run, action, service)
        targets = (
            [action.approval.channel]
            if action.approval.channel
            else [
                u
                for u in approver_ids(catalog, action)
                if u != run.user_id or action.approval.allow_self_approval
            ]
        )
        refs = []
        for target in targets:
            response = await self.client.chat_postMessage(channel=target, text=text, blocks=body)
            refs.append({"channel": response["channel"], "ts": response["ts"]})
        who = approvals.approvers_text(catalog, action)
        note = f"Waiting for approval by {who}."
        if not targets:
            note = (
                f"Waiting for approval by {who}: no one could be asked directly (no "
                "approval channel, no named approvers); ask them to check their Home tab."
            )
        await self.progress(run, note)
        return refs

    async def update_approval(
        self, run: Run, action: Action, decisions: list[ApprovalDecision]
    ) -> None:
        service = self._service(run)
        text, body = approvals.request_blocks(self.catalog(), run, action, service, decisions)
        for ref in run.approval_refs:
            try:
                await self.client.chat_update(
                    channel=ref["channel"], ts=ref["ts"], text=text, blocks=body
                )
            except SlackApiError as exc:
                log.warning("run %s: approval request not updated: %s", run.id, exc)
        if run.message_ts and run.kind == RunKind.RUN:
            text, body = blocks.status_message(run, action, service)
            await self.client.chat_update(
                channel=run.channel_id or run.user_id, ts=run.message_ts, text=text, blocks=body
            )

    async def expiry_notice(self, run: Run, action: Action) -> None:
        assert run.expires_at is not None
        body = approvals.expiry_blocks(run, action, run.expires_at)
        await self.client.chat_postMessage(
            channel=run.channel_id or run.user_id,
            thread_ts=run.message_ts,
            text=f"{action.name} expires at {clock(run.expires_at)}",
            blocks=body,
        )

    async def escalate(self, run: Run, action: Action, text: str) -> None:
        """A revert failed for good: say so loudly, where the owners will see it."""
        owner = self.catalog().owner_of(action)
        message = approvals.escalation_text(run, action, owner.channel, text)
        targets = [owner.channel] if owner.channel else list(self.catalog().admins.users)
        for target in targets or [run.user_id]:
            await self.client.chat_postMessage(channel=target, text=message)
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
