"""`Runs`: the run lifecycle as the rest of the bot calls it (`runtime.runner`).

It only builds the shared `Context` and forwards; the work is in the modules beside it:

    submission ─▶ [announce]  lifecycle: post the status message
               └▶ [deliver]   delivery, sending: render, sign, send; retry per policy
                                 ─▶ [report] lifecycle: the thread reply
                              async: RUNNING ─▶ callbacks ─▶ [report]  or [deadline] TIMED_OUT
    approvals: PENDING_APPROVAL until approved;  expiry: a time-limited run's revert

Every status change writes an audit event; everything written (database, logs, Slack)
passes the redactor first. Each job handler checks the run's state first, so a job that
runs twice (a replica died mid-way) does no harm. No Slack and no HTTP framework here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot.access import Decision, Principal
from bot.backends.follower import CiClients
from bot.catalog import Action, Catalog, Service
from bot.jobs import Blueprint, Handler
from bot.redaction import Redactor
from bot.runs import approvals, callbacks, ci, delivery, expiry, lifecycle, submission
from bot.runs.callbacks import Reply
from bot.runs.context import Context, Notifier, Profiles
from bot.runs.submission import Submission, TestResult
from bot.settings import Settings
from bot.store import Run, Store
from bot.vault import Vault

# Every job kind of the run lifecycle, each handled by the module it belongs to.
JOBS: Blueprint[Context] = Blueprint[Context]().add_from(
    lifecycle.jobs, delivery.jobs, approvals.jobs, expiry.jobs, ci.jobs
)


class Runs:
    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Callable[[], Catalog],
        store: Store,
        client: httpx.AsyncClient,
        redactor: Redactor,
        notifier: Notifier,
        profiles: Profiles,
        wake: Callable[[], None] = lambda: None,
        ci_clients: CiClients | None = None,
    ) -> None:
        self.context = Context(
            settings=settings,
            catalog=catalog,
            store=store,
            client=client,
            redact=redactor,
            notifier=notifier,
            profiles=profiles,
            wake=wake,
            ci=ci_clients,
        )
        self.approvals = approvals.ApprovalFlow(self.context)
        self.expiry = expiry.ExpiryFlow(self.context)

    @property
    def handlers(self) -> dict[str, Handler]:
        return JOBS.bind(self.context)

    @property
    def vault(self) -> Vault:
        return self.context.vault

    @property
    def wake(self) -> Callable[[], None]:
        return self.context.wake

    @wake.setter
    def wake(self, wake: Callable[[], None]) -> None:  # the worker's, once it exists
        self.context.wake = wake

    @property
    def profiles(self) -> Profiles:
        return self.context.profiles

    @profiles.setter
    def profiles(self, profiles: Profiles) -> None:
        self.context.profiles = profiles

    def run_redactor(self, run_id: str, secret: Mapping[str, Any]) -> Redactor:
        return self.context.run_redactor(run_id, secret)

    async def submit(self, request: Submission) -> Run | None:
        return await submission.submit(self.context, request)

    async def send_test(
        self,
        catalog: Catalog,
        action: Action,
        *,
        user: Mapping[str, Any],
        inputs: Mapping[str, Any],
        service: Service | None,
    ) -> TestResult:
        return await submission.send_test(
            self.context, catalog, action, user=user, inputs=inputs, service=service
        )

    async def cancel(self, run_id: str, by: str) -> str | None:
        return await submission.cancel(self.context, run_id, by)

    async def refuse(self, action_id: str, user_id: str, decision: Decision, step: str) -> None:
        await submission.refuse(self.context, action_id, user_id, decision, step)

    async def awaiting(self, who: Principal) -> list[Run]:
        """Approval requests ``who`` may decide and has not decided yet."""
        return await approvals.awaiting(self.context, who)

    async def callback(self, run_id: str, update: Mapping[str, Any], size: int = 0) -> Reply:
        return await callbacks.callback(self.context, run_id, update, size)
