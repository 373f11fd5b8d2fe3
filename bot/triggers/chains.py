"""Chains: when a run ends, start its action's `on_success` or `on_failure` action.

The next step runs as the same user, in the same thread, with inputs rendered from the
finished run's request and response. It is admitted like any other run (access, inputs,
approvals, locks): a refusal is said in the thread, never overridden. The `chain` job is
queued in the transaction that ends the run, so each step starts once across replicas
(its idempotency key is the finished run's id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bot import templates
from bot.admission import Admission, Refused, Request, Via
from bot.catalog import Action, Catalog, Next
from bot.jobs import Handler, Retry
from bot.kinds import JobKind
from bot.runs import Runs, Submission
from bot.settings import Settings
from bot.store import Job, Run, Store

log = logging.getLogger(__name__)

CHAIN_KEY = "chain:"  # the idempotency key of a step: this prefix and the run before it


class Chains:
    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Callable[[], Catalog],
        store: Store,
        admission: Admission,
        runner: Runs,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.admission = admission
        self.runner = runner

    @property
    def handlers(self) -> dict[str, Handler]:
        return {JobKind.CHAIN: self.next_step}

    async def next_step(self, job: Job) -> None:
        run = await asyncio.to_thread(self.store.get_run, job.run_id or "")
        catalog = self.catalog()
        action = catalog.action(run.action_id) if run else None
        step = action.next_after(job.data.get("status", "")) if action else None
        if run is None or action is None or step is None:
            return
        reports = await asyncio.to_thread(self.store.pending_jobs, run.id, JobKind.REPORT)
        if reports:  # the thread tells the first step's result before the next starts
            raise Retry(0.2, "waiting for the report", counts=False)
        target = catalog.action(step.action)
        number = await self._number(run) + 1
        if target is None:
            await self._say(run, f"Step {number}, `{step.action}`, no longer exists.")
            return
        try:
            inputs = await self._inputs(catalog, action, run, step)
        except templates.TemplateError as exc:
            await self._say(run, f"Step {number}, *{target.name}*, did not start: {exc}")
            return
        await self._start(run, target, inputs, number)

    async def _start(self, run: Run, target: Action, inputs: dict[str, Any], number: int) -> None:
        verdict = await self.admission.admit(
            Request(
                action_id=target.id,
                user_id=run.user_id,
                via=Via.FORM,
                service_id=run.service_id if target.scope == "service" else None,
                channel_id=run.channel_id,
                inputs=inputs,
            )
        )
        if isinstance(verdict, Refused):
            await self._say(run, f"Step {number}, *{target.name}*, did not start: {verdict.reason}")
            return
        await self._say(run, f"Step {number}: *{target.name}*.")
        started = await self.runner.submit(
            Submission(
                action=target,
                user_id=run.user_id,
                user_name=run.user_name,
                channel_id=run.channel_id,
                inputs=verdict.inputs,
                service=verdict.service,
                idempotency_key=f"{CHAIN_KEY}{run.id}",
                parent_id=run.id,
                thread_ts=run.thread_ts or run.message_ts,
            )
        )
        if started is not None:
            log.info("run %s: step %d, %s, is run %s", run.id, number, target.id, started.id)

    async def _inputs(
        self, catalog: Catalog, action: Action, run: Run, step: Next
    ) -> dict[str, Any]:
        """The step's inputs, rendered from the finished run's request and last answer."""
        service = catalog.service(run.service_id) if run.service_id else None
        base = templates.request_context(
            catalog=catalog,
            action=action,
            user={"id": run.user_id, "name": run.user_name},
            inputs=run.inputs,
            service=service,
            run_id=run.id,
        )
        answers = await asyncio.to_thread(self.store.events, run.id, kind="webhook_response")
        last = answers[-1].detail if answers else {}
        context = templates.response_context(
            base,
            status=last.get("status"),
            body=templates.parse_body(str(last.get("body") or "")),
            headers=last.get("headers") or {},
            ok=run.status == "SUCCESS",
        )
        secrets = self.settings.template_secrets
        return {
            key: (await templates.render(source, context, secrets)).strip()
            for key, source in step.inputs.items()
        }

    async def _number(self, run: Run) -> int:
        """Which step of its chain a run is (1: the run someone started)."""
        number, current = 1, run
        while current.idempotency_key and current.idempotency_key.startswith(CHAIN_KEY):
            parent = await asyncio.to_thread(self.store.get_run, current.parent_id or "")
            if parent is None or number > 10:
                break
            number, current = number + 1, parent
        return number

    async def _say(self, run: Run, text: str) -> None:
        job = Job(kind=JobKind.PROGRESS, run_id=run.id, data={"text": text})
        await asyncio.to_thread(self.store.add_jobs, [job])
        self.runner.wake()
