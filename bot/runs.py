"""The run lifecycle as durable jobs. No Slack and no HTTP framework here.

    submit ─▶ [announce]  post the status message
           └▶ [deliver]   render, sign, send; retry per policy ─▶ [report] thread reply
                          async: RUNNING ─▶ callbacks ─▶ [report]   or [deadline] TIMED_OUT

Every status change goes through this module and writes an audit event; everything
written (database, logs, Slack) passes the redactor first. Each job handler checks the
run's state first, so a job that runs twice (a replica died mid-way) does no harm.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from bot import approvals, logs, metrics, redaction, templates, tracing
from bot.access import Decision
from bot.approvals import ApprovalFlow, approval_context
from bot.catalog import Action, Catalog, Service, Webhook
from bot.expiry import ESCALATE, ExpiryFlow
from bot.jobs import MAX_ATTEMPTS, Handler, Retry, backoff
from bot.mrkdwn import inert
from bot.outcomes import Outcome, seconds_text
from bot.redaction import REDACTED, USER_SECRET_MIN, Redactor, redact_headers
from bot.settings import Settings
from bot.store import AuditEvent, Job, Run, RunStatus, Store
from bot.store.models import utcnow
from bot.vault import Vault, VaultError
from bot.webhooks import delivery, render

log = logging.getLogger(__name__)

ANNOUNCE, DELIVER, REPORT, PROGRESS, DEADLINE = (
    "announce",
    "deliver",
    "report",
    "progress",
    "deadline",
)
CALLBACK_STATUSES = {"running", "success", "failure"}
LATE_EXCERPT = 200  # characters of a late callback kept in the audit log


@dataclass
class Submission:
    action: Action
    user_id: str
    user_name: str
    channel_id: str | None
    inputs: dict[str, Any]
    service: Service | None = None
    idempotency_key: str | None = None
    view_id: str | None = None  # the modal to update with the outcome
    parent_id: str | None = None  # "Run again" of this run; the run an extension extends
    kind: str = "run"  # run | extend
    thread_of: Run | None = None  # an extension is discussed in its run's thread


class Notifier(Protocol):
    """Tells people about a run (implemented for Slack in bot.slack.notify)."""

    async def started(self, run: Run, action: Action, service: Service | None) -> Run: ...

    async def progress(self, run: Run, text: str) -> None: ...

    async def running(
        self, run: Run, action: Action, message: str, links: list[dict[str, str]]
    ) -> None: ...

    async def finished(
        self, run: Run, action: Action, outcome: Outcome, view_id: str | None
    ) -> None: ...


Profiles = Callable[[str], Awaitable[Mapping[str, Any]]]


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), capped at an hour."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - utcnow()).total_seconds()
        except (TypeError, ValueError, OverflowError):
            return None
    if math.isnan(seconds):  # "nan" parses as a float and compares false with everything
        return None
    return min(max(seconds, 0.0), 3600.0)


class Runner:
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
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.client = client
        self.redact = redactor
        self.notifier = notifier
        self.profiles = profiles
        self.wake = wake
        self.vault = Vault(settings.webhook_secrets)
        self.approvals = ApprovalFlow(self)
        self.expiry = ExpiryFlow(self)

    @property
    def handlers(self) -> dict[str, Handler]:
        return {
            ANNOUNCE: self._announce,
            DELIVER: self._deliver,
            REPORT: self._report,
            PROGRESS: self._progress,
            DEADLINE: self._deadline,
            **self.approvals.handlers,
            **self.expiry.handlers,
        }

    # --- recording -------------------------------------------------------------------

    def _redactor(self, run_id: str | None) -> Redactor:
        """The redactor for a run: the global secrets, the run's callback tokens and, while
        this task handles the run (``redaction.scoped``), its long secret inputs."""
        if not run_id:
            return self.redact
        return redaction.for_run(run_id) or self.run_redactor(run_id, {})

    def run_redactor(self, run_id: str, secret: Mapping[str, Any]) -> Redactor:
        """The global secrets, the run's callback tokens (credentials, never stored) and
        its secret inputs long enough to be matched by value in what receivers send back."""
        typed = [str(v) for v in secret.values() if len(str(v)) >= USER_SECRET_MIN]
        return self.redact.extended([*render.callback_tokens(self.settings, run_id), *typed])

    def _secrets_of(self, run: Run) -> dict[str, Any]:
        """The run's secret inputs, opened from the database (raises VaultError)."""
        return self.vault.open(run.sealed) if run.sealed else {}

    async def _record(
        self, kind: str, detail: dict[str, Any], redact: Redactor | None = None, **keys: Any
    ) -> None:
        redact = redact or self._redactor(keys.get("run_id"))
        await asyncio.to_thread(self.store.record, kind, redact(detail), **keys)

    async def refuse(self, action_id: str, user_id: str, decision: Decision, step: str) -> None:
        """Audit a refused attempt to run an action (click, submit, crafted payload)."""
        log.info("refused %s for %s at %s: %s", action_id, user_id, step, decision.reason)
        await self._record(
            "refused",
            {"step": step, "reason": decision.reason},
            action_id=action_id,
            actor=user_id,
        )

    def callback_token(self, run_id: str) -> str:
        return render.callback_token(self.settings, run_id)

    # --- submit ----------------------------------------------------------------------

    @tracing.traced("run admission", lambda run: {"run.id": run.id} if run else {})
    async def submit(self, submission: Submission) -> Run | None:
        """Store the run with its jobs in one transaction. None for a duplicate submission."""
        action = submission.action
        secret = {
            i.identifier: submission.inputs[i.identifier]
            for i in action.inputs
            if i.type == "secret" and submission.inputs.get(i.identifier)
        }
        # Secret inputs are stored only encrypted, on the run, until it is final. Here they
        # are redacted by field: matching their values would also blank out other inputs.
        stored = {**submission.inputs, **dict.fromkeys(secret, REDACTED)}
        redact = self.redact
        run = Run(
            action_id=action.id,
            user_id=submission.user_id,
            user_name=submission.user_name,
            channel_id=submission.channel_id,
            service_id=submission.service.id if submission.service else None,
            inputs=redact(stored),
            idempotency_key=submission.idempotency_key,
            parent_id=submission.parent_id,
            kind=submission.kind,
            sealed=self.vault.seal(secret) if secret else None,
        )
        if submission.thread_of is not None:
            thread = submission.thread_of
            run.channel_id, run.message_ts = thread.channel_id, thread.message_ts
            run.permalink = thread.permalink
        if action.needs_approval:
            run.status = RunStatus.PENDING_APPROVAL
        detail = redact(
            {
                "action": action.id,
                "service": run.service_id,
                "channel": run.channel_id,
                "inputs": stored,
                "parent_id": submission.parent_id,
            }
        )
        data: dict[str, Any] = {"view_id": submission.view_id}
        work = Job(kind="extend_apply" if submission.kind == "extend" else DELIVER, data=data)
        jobs = [Job(kind=ANNOUNCE)]
        jobs += self.approvals.jobs_for(action, work) if action.needs_approval else [work]
        created = await asyncio.to_thread(self.store.create_run, run, detail, jobs)
        if not created:
            log.info("duplicate submission %s ignored", submission.idempotency_key)
            return None
        log.info("run %s of %s submitted by %s", run.id, action.id, run.user_id)
        self.wake()
        return run

    async def send_test(
        self,
        catalog: Catalog,
        action: Action,
        *,
        user: Mapping[str, Any],
        inputs: Mapping[str, Any],
        service: Service | None,
    ) -> tuple[Run, delivery.Response | None, str | None]:
        """An admin's test: one real send, audited as a test run, posted nowhere.

        Returns (run, response, error); the response is already redacted.
        """
        secret = {
            i.identifier: inputs[i.identifier]
            for i in action.inputs
            if i.type == "secret" and inputs.get(i.identifier)
        }
        run = Run(
            action_id=action.id,
            user_id=str(user["id"]),
            user_name=user.get("name") or "",
            service_id=service.id if service else None,
            inputs=self.redact({**inputs, **dict.fromkeys(secret, REDACTED)}),
            is_test=True,
        )
        await asyncio.to_thread(self.store.create_run, run, {"test": True})
        with redaction.scoped(run.id, self.run_redactor(run.id, secret)) as redact:
            try:
                rendered = await render.render(
                    self.settings,
                    catalog,
                    action,
                    run_id=run.id,
                    user=user,
                    inputs=inputs,
                    service=service,
                )
            except render.RenderError as exc:
                await self._finish_test(run, False, str(exc))
                return run, None, str(exc)
            sent = await self._send(run, rendered, action.webhook.timeout, 1, test=True)
            if isinstance(sent, delivery.DeliveryError):
                await self._finish_test(run, False, sent.message)
                return run, None, redact(sent.message)
            response = sent
            ok = 200 <= response.status < 300
            await self._finish_test(run, ok, f"test: HTTP {response.status}")
            response.headers = redact(redact_headers(response.headers))
            response.text = redact(response.text)
            return run, response, None

    async def _finish_test(self, run: Run, ok: bool, summary: str) -> None:
        status = RunStatus.SUCCESS if ok else RunStatus.FAILURE
        await asyncio.to_thread(
            self.store.finish_run,
            run.id,
            status.value,
            self._redactor(run.id)(summary),
            {"test": True},
        )

    async def cancel(self, run_id: str, by: str) -> str | None:
        """Cancel a queued or retrying run. Returns why not, or None when cancelled."""
        pending = await asyncio.to_thread(self.store.pending_jobs, run_id, DELIVER)
        now = utcnow()
        if any(j.claimed_until and j.claimed_until > now for j in pending):
            return "it is being sent right now"
        current = await asyncio.to_thread(self.store.get_run, run_id)
        report = Job(
            kind=REPORT,
            data={
                "outcome": asdict(
                    Outcome(
                        False,
                        f"Cancelled by <@{by}> before it was sent.",
                        error="cancelled",
                        final_status=RunStatus.CANCELLED.value,
                    )
                )
            },
        )
        run = await asyncio.to_thread(
            self.store.transition,
            run_id,
            RunStatus.CANCELLED.value,
            "cancelled",
            {"by": by},
            jobs=[report, *_escalation(current, by)],
            allowed_from=[RunStatus.PENDING.value],
            actor=by,
            close=[DELIVER],
            finished_at=utcnow(),
            summary="cancelled",
        )
        if run is None:
            return "it has already been sent or has finished"
        self.wake()
        return None

    # --- jobs ------------------------------------------------------------------------

    async def load(self, job: Job) -> tuple[Run, Catalog, Action | None, Service | None] | None:
        run = await asyncio.to_thread(self.store.get_run, job.run_id) if job.run_id else None
        if run is None:
            return None
        catalog = self.catalog()
        service = catalog.service(run.service_id) if run.service_id else None
        logs.ACTION_ID.set(run.action_id)
        return run, catalog, catalog.action(run.action_id), service

    async def _announce(self, job: Job) -> None:
        loaded = await self.load(job)
        if loaded is None or loaded[0].message_ts or loaded[2] is None:
            return
        run, _, action, service = loaded
        assert action is not None
        try:
            await self.notifier.started(run, action, service)
        except Exception as exc:  # Slack down: the job table keeps it until it works
            raise Retry(backoff(job.attempts, 2.0, 120.0), f"posting failed: {exc}") from None

    async def wait_for(self, run: Run, job: Job, *kinds: str) -> None:
        """Keep the thread in order: wait (bounded) for the status message and earlier posts.

        Waiting is not a failed attempt: it does not count towards giving up.
        """
        waited = (utcnow() - job.created_at).total_seconds()
        if waited > 600:
            return
        pending = await asyncio.to_thread(self.store.pending_jobs, run.id)
        if any(j.kind in kinds and j.id != job.id and (j.id or 0) < (job.id or 0) for j in pending):
            raise Retry(0.1 if waited < 2 else 2.0, "waiting for earlier messages", counts=False)

    async def _progress(self, job: Job) -> None:
        loaded = await self.load(job)
        if loaded is None:
            return
        await self.wait_for(loaded[0], job, ANNOUNCE, PROGRESS)
        await self.notifier.progress(loaded[0], job.data.get("text", ""))

    async def _report(self, job: Job) -> None:
        loaded = await self.load(job)
        if loaded is None or loaded[2] is None:
            return
        run, _, action, _ = loaded
        assert action is not None
        await self.wait_for(run, job, ANNOUNCE, PROGRESS)
        outcome = Outcome.from_dict(job.data.get("outcome") or {})
        await self.notifier.finished(run, action, outcome, job.data.get("view_id"))

    async def _deadline(self, job: Job) -> None:
        loaded = await self.load(job)
        if loaded is None or loaded[0].final:
            return
        run, catalog, action, _ = loaded
        owner = catalog.team(action.owner).name if action else "the action's owners"
        waited = seconds_text(action.timeout_after) if action else "the deadline"
        outcome = Outcome(
            False,
            f"No final status from the receiver within {waited}; the run is marked as "
            f"timed out. Contact {owner} if the operation may still be in progress.",
            error="timed_out",
            final_status=RunStatus.TIMED_OUT.value,
        )
        await self.finish(run, outcome, RunStatus.TIMED_OUT, job.data.get("view_id"))

    async def finish(
        self,
        run: Run,
        outcome: Outcome,
        status: RunStatus,
        view_id: str | None = None,
        jobs: list[Job] | None = None,
        fields: dict[str, Any] | None = None,
    ) -> Run | None:
        redact = self._redactor(run.id)
        outcome.message = redact(outcome.message)
        outcome.final_status = status.value
        detail = {
            "http_status": outcome.status,
            "error": outcome.error,
            "result": outcome.message,
            "duration_ms": outcome.duration_ms,
        }
        report = Job(kind=REPORT, data=redact({"outcome": asdict(outcome), "view_id": view_id}))
        if run.approval_refs:  # the approval request shows how it ended, too
            jobs = [*(jobs or []), Job(kind=approvals.UPDATE)]
        finished = await asyncio.to_thread(
            self.store.finish_run,
            run.id,
            status.value,
            outcome.message,
            redact(detail),
            [report, *(jobs or [])],
            [DEADLINE],
            **(fields or {}),
        )
        if finished is not None:
            log.info("run %s finished %s", run.id, status.value)
            metrics.RUNS.labels(run.action_id, status.value).inc()
            self.wake()
        return finished

    async def _deliver(self, job: Job) -> None:
        loaded = await self.load(job)
        if loaded is None or loaded[0].status != RunStatus.PENDING:
            return  # finished, cancelled or already accepted by an async receiver
        run, catalog, action, service = loaded
        view_id = job.data.get("view_id")
        try:
            secret = self._secrets_of(run)
            if job.data.get("sealed"):  # queued before secrets moved to the run
                secret = self.vault.open(job.data["sealed"])
        except VaultError as exc:
            await self.finish(
                run, Outcome(False, f"Not sent: {exc}.", error="vault"), RunStatus.FAILURE, view_id
            )
            return
        if action is None:
            outcome = Outcome(False, "This action was removed from the catalog.", error="gone")
            await self.finish(run, outcome, RunStatus.FAILURE, view_id)
            return
        with redaction.scoped(run.id, self.run_redactor(run.id, secret)):
            try:
                await self._deliver_once(job, run, catalog, action, service, secret)
            except Retry:
                raise
            except Exception as exc:
                if job.attempts < MAX_ATTEMPTS:
                    raise  # the generic job retry; _unsettled_attempt keeps it from resending
                # The worker is about to give up on this job: end the run, or nobody ever hears.
                log.exception("run %s: giving up after %d tries", run.id, job.attempts)
                outcome = Outcome(
                    False,
                    f"The bot gave up after failing {job.attempts} times ({type(exc).__name__}: "
                    f"{exc}). Check with the receiver whether the request went out before running "
                    "it again.",
                    error="internal",
                )
                await self.finish(run, outcome, RunStatus.FAILURE, view_id)
        if job.data.get("sealed"):  # delivered or final: the secrets have done their job
            await asyncio.to_thread(self.store.set_job_data, job.id, {"view_id": view_id})

    async def _deliver_once(
        self,
        job: Job,
        run: Run,
        catalog: Catalog,
        action: Action,
        service: Service | None,
        secret: Mapping[str, Any],
    ) -> None:
        view_id = job.data.get("view_id")
        attempt = job.attempts
        policy = action.retry
        inputs = {**run.inputs, **secret}
        seen: dict[str, Any] = {}
        unsettled = await self._unsettled_attempt(run, attempt)
        if unsettled is not None and not await self._may_resend(run, action, unsettled, attempt):
            outcome, retryable, wait = _unknown(unsettled), False, None
        else:
            outcome, retryable, wait = await self._attempt(
                catalog, action, run, service, attempt, inputs, seen
            )
        if outcome.ok and action.is_async:
            await self._accepted(run, action, outcome, view_id)
            return
        if not outcome.ok and retryable and attempt < policy.attempts:
            # Retry-After wins; otherwise the policy's delay plus up to 50% jitter.
            delay = (
                wait
                if wait is not None
                else min(policy.max_delay, policy.delay_for(attempt) * random.uniform(1.0, 1.5))
            )
            reason = f"HTTP {outcome.status}" if outcome.status else (outcome.error or "error")
            text = (
                f"Attempt {attempt} of {policy.attempts} failed ({reason}), "
                f"retrying in {seconds_text(delay)}."
            )
            await asyncio.to_thread(
                self.store.add_jobs, [Job(kind=PROGRESS, run_id=run.id, data={"text": text})]
            )
            await self._record(
                "retry_scheduled",
                {"attempt": attempt, "delay_s": round(delay, 3), "reason": reason},
                run_id=run.id,
            )
            metrics.RETRIES.labels(action.id).inc()
            self.wake()
            raise Retry(delay, reason)
        status = RunStatus.SUCCESS if outcome.ok else RunStatus.FAILURE
        fields: dict[str, Any] = {}
        jobs: list[Job] = []
        if outcome.ok and run.kind == "run" and "context" in seen:
            fields, jobs = self.expiry.after_success(action, seen["context"])
        if not outcome.ok and run.kind == "revert":
            text = (
                f"The revert of *{action.name}* (run `{run.parent_id}`) failed: {outcome.message}"
            )
            jobs.append(Job(kind=ESCALATE, data={"text": text}))
        await self.finish(run, outcome, status, view_id, jobs=jobs, fields=fields)

    async def _unsettled_attempt(self, run: Run, attempt: int) -> AuditEvent | None:
        """The last request sent for this run, if nothing decided what came of it.

        The webhook_request event is written before sending; a retry the policy scheduled
        writes retry_scheduled. A request with neither after it went out and then the bot
        stopped or failed (SIGKILL, a lost lease, an error while handling the answer):
        the generic job retry brought us back here, and it must not send it again by itself.
        """
        if attempt <= 1:  # the first claim: nothing can have been sent yet
            return None
        events = await asyncio.to_thread(self.store.events, run.id)
        sent = [e for e in events if e.kind == "webhook_request"]
        if not sent:
            return None
        last = sent[-1].detail.get("attempt")
        settled = any(
            e.kind in ("retry_scheduled", "resent") and e.detail.get("attempt") == last
            for e in events
        )
        if settled:
            return None
        answer = next(
            (
                e
                for e in reversed(events)
                if e.kind in ("webhook_response", "webhook_error")
                and e.detail.get("attempt") == last
            ),
            None,
        )
        return answer or sent[-1]

    async def _may_resend(
        self, run: Run, action: Action, unsettled: AuditEvent, attempt: int
    ) -> bool:
        """Whether the action's retry policy allows sending the unsettled request again.

        Its result is unknown, as after a timeout, so the policy decides as for a timeout;
        the new send counts as an attempt (and keeps the run's webhook-id).
        """
        previous = unsettled.detail.get("attempt")
        hook = _hook_for(action, run)
        if not (
            attempt <= action.retry.attempts and action.retry.retries(hook.method, error="timeout")
        ):
            return False
        await self._record("resent", {"attempt": previous, "as_attempt": attempt}, run_id=run.id)
        text = (
            f"Attempt {previous} of {action.retry.attempts} was interrupted before its result "
            f"was known; sending it again (attempt {attempt})."
        )
        await asyncio.to_thread(
            self.store.add_jobs, [Job(kind=PROGRESS, run_id=run.id, data={"text": text})]
        )
        self.wake()
        return True

    @staticmethod
    def _deadline_job(action: Action, view_id: str | None) -> Job:
        """Times an async run out if no final callback comes within `timeout_after`."""
        return Job(
            kind=DEADLINE,
            due_at=utcnow() + timedelta(seconds=action.timeout_after),
            data={"view_id": view_id},
        )

    async def _accepted(
        self, run: Run, action: Action, outcome: Outcome, view_id: str | None
    ) -> None:
        deadline = self._deadline_job(action, view_id)
        moved = await asyncio.to_thread(
            self.store.transition,
            run.id,
            RunStatus.RUNNING.value,
            "accepted",
            {"http_status": outcome.status},
            jobs=[deadline],
            allowed_from=[RunStatus.PENDING.value],
        )
        if moved is not None:
            await self._update_running(
                moved, action, "Accepted; waiting for the receiver to report back.", []
            )

    async def _update_running(
        self, run: Run, action: Action, message: str, links: list[dict[str, str]]
    ) -> None:
        redact = self._redactor(run.id)
        try:
            await self.notifier.running(run, action, redact(message), redact(links))
        except Exception as exc:  # cosmetic: the final report is what must arrive
            log.warning("run %s: could not update the status message: %s", run.id, exc)

    # --- one attempt -------------------------------------------------------------------

    async def _attempt(
        self,
        catalog: Catalog,
        action: Action,
        run: Run,
        service: Service | None,
        attempt: int,
        inputs: Mapping[str, Any],
        seen: dict[str, Any] | None = None,
    ) -> tuple[Outcome, bool, float | None]:
        """(outcome, worth retrying, Retry-After seconds); ``seen`` gets the context used."""
        profile = await self.profiles(run.user_id)
        user = {"id": run.user_id, "name": profile.get("name") or run.user_name, **profile}
        extra = await self._extra_context(run)
        hook = _hook_for(action, run)
        try:
            rendered = await render.render(
                self.settings,
                catalog,
                action,
                run_id=run.id,
                user=user,
                inputs=inputs,
                service=service,
                webhook=hook,
                extra_context=extra,
            )
        except render.RenderError as exc:
            if exc.payload is not None:
                await self._record(
                    "invalid_payload",
                    {"payload": exc.payload, "error": str(exc)},
                    self.run_redactor(run.id, {}),  # the payload is shown by field already
                    run_id=run.id,
                )
            return await self._failed(run, exc.kind, str(exc))
        base = rendered.shown_context  # secret inputs and the token stay out of Slack
        if seen is not None:
            seen["context"] = rendered.context
        sent = await self._send(run, rendered, hook.timeout, attempt)
        if isinstance(sent, delivery.DeliveryError):
            retryable = action.retry.retries(hook.method, error=sent.kind)
            outcome = Outcome(False, _explain(sent), error=sent.kind, duration_ms=sent.duration_ms)
            return outcome, retryable, None
        response = sent
        metrics.WEBHOOK_SECONDS.labels(action.id).observe(response.duration_ms / 1000)
        ok = 200 <= response.status < 300
        outcome = Outcome(
            ok,
            "",
            status=response.status,
            error=None if ok else "http_status",
            duration_ms=response.duration_ms,
        )
        retryable = not ok and action.retry.retries(hook.method, status=response.status)
        if not ok and retryable and attempt < action.retry.attempts:
            return outcome, True, retry_after(response.headers)
        if not (ok and action.is_async):
            body = templates.parse_body(response.text)
            outcome.message = await self._render_result(
                action, base, outcome, body, response.headers, run
            )
        return outcome, retryable, retry_after(response.headers)

    async def _send(
        self, run: Run, rendered: render.Rendered, timeout: float, attempt: int, test: bool = False
    ) -> delivery.Response | delivery.DeliveryError:
        """Send one attempt, auditing the request and what came back (or didn't)."""
        shown = rendered.shown  # secret inputs and credentials hidden by field and name
        marks = {"attempt": attempt, **({"test": True} if test else {})}
        await self._record(
            "webhook_request",
            {
                **marks,
                "method": shown.method,
                "url": shown.url,
                "headers": shown.headers,
                "body": rendered.shown_payload,
            },
            # By field, not by the values users typed: those may equal other inputs' text.
            self.run_redactor(run.id, {}),
            run_id=run.id,
        )
        try:
            response = await delivery.send(self.client, rendered.request, timeout, attempt=attempt)
        except delivery.DeliveryError as exc:
            await self._record(
                "webhook_error",
                {**marks, "kind": exc.kind, "error": exc.message, "duration_ms": exc.duration_ms},
                run_id=run.id,
            )
            return exc
        await self._record(
            "webhook_response",
            {
                **marks,
                "status": response.status,
                "headers": redact_headers(response.headers),
                "body": response.text,
                "truncated": response.truncated,
                "duration_ms": response.duration_ms,
            },
            run_id=run.id,
        )
        return response

    async def _extra_context(self, run: Run) -> dict[str, Any]:
        """Approval and expiry details for templates (a revert sees its parent's)."""
        source = run
        if run.parent_id and run.kind == "revert":
            source = await asyncio.to_thread(self.store.get_run, run.parent_id) or run
        decisions = await asyncio.to_thread(self.store.decisions, source.id)
        return {
            "run": {"parent_id": run.parent_id},
            "approval": approval_context(decisions),
            "expires_at": source.expires_at.isoformat() if source.expires_at else None,
        }

    @tracing.traced("render response")
    async def _render_result(
        self,
        action: Action,
        base: Mapping[str, Any],
        outcome: Outcome,
        body: Any,
        headers: Mapping[str, str],
        run: Run,
    ) -> str:
        if outcome.ok:
            default = f"{action.name} succeeded" + (
                f" (HTTP {outcome.status})." if outcome.status else "."
            )
        else:
            default = f"{action.name} failed" + (
                f": the receiver answered HTTP {outcome.status}." if outcome.status else "."
            )
        if not action.response_template:
            return default
        context = templates.response_context(
            base, status=outcome.status, body=body, headers=headers, ok=outcome.ok
        )
        try:
            text = await templates.render(
                action.response_template, context, self.settings.template_secrets, slack=True
            )
        except templates.TemplateError as exc:
            await self._record(
                "template_error", {"template": "response", "error": str(exc)}, run_id=run.id
            )
            outcome.error = outcome.error or "response_template"
            return f"{default} (The response template failed: {inert(str(exc))}.)"
        return text.strip() or default

    async def _failed(
        self, run: Run, kind: str, message: str
    ) -> tuple[Outcome, bool, float | None]:
        await self._record("error", {"kind": kind, "error": message}, run_id=run.id)
        return Outcome(False, message, error=kind), False, None

    # --- async callbacks -----------------------------------------------------------------

    async def callback(
        self, run_id: str, update: Mapping[str, Any], size: int = 0
    ) -> tuple[int, str]:
        """Apply a receiver's status update. Returns (HTTP status, message).

        A receiver may echo a secret input: what it sends is redacted with the run's secret
        inputs, opened from the database (so any replica, after any restart, can).
        """
        run = await asyncio.to_thread(self.store.get_run, run_id)
        if run is None:
            return 404, "unknown run"
        if run.final:
            await self._late_callback(run, update, size)
            return 409, f"run is already {run.status}"
        try:
            secret = self._secrets_of(run)
        except VaultError as exc:
            log.warning("run %s: callback redacted without its secret inputs: %s", run_id, exc)
            secret = {}
        with redaction.scoped(run.id, self.run_redactor(run.id, secret)):
            return await self._callback(run, update)

    async def _callback(self, run: Run, update: Mapping[str, Any]) -> tuple[int, str]:
        run_id = run.id
        status = update.get("status")
        if not isinstance(status, str) or status not in CALLBACK_STATUSES:
            return 400, "status must be one of running, success, failure"
        message = update.get("message")
        links = update.get("links") or []
        if (
            not isinstance(message, str | None)
            or not isinstance(links, list)
            or not all(
                isinstance(link, dict) and isinstance(link.get("url"), str) for link in links
            )
        ):
            return 400, "message must be a string and links a list of {text, url}"
        links = [
            {"text": str(link.get("text") or link["url"]), "url": link["url"]}
            for link in links
            if link["url"].startswith(("http://", "https://"))
        ]
        shown = inert(message) if message else None  # receiver text: never a mention or link
        await self._record("callback", dict(update), run_id=run_id)
        log.info("run %s: callback %s: %s", run_id, status, message or "")
        catalog = self.catalog()
        action = catalog.action(run.action_id)
        if action is None:
            return 409, "the action no longer exists"
        if status == "running":
            if run.status == RunStatus.PENDING:  # the callback beat the 2xx: fine
                # The deadline starts now; the 2xx, when it comes, finds the run RUNNING.
                sending = await asyncio.to_thread(self.store.pending_jobs, run_id, DELIVER)
                view_id = sending[0].data.get("view_id") if sending else None
                await asyncio.to_thread(
                    self.store.transition,
                    run_id,
                    RunStatus.RUNNING.value,
                    "accepted",
                    {"via": "callback"},
                    jobs=[self._deadline_job(action, view_id)],
                    allowed_from=[RunStatus.PENDING.value],
                )
            await self._update_running(run, action, shown or "Running…", links)
            return 202, "ok"
        ok = status == "success"
        service = catalog.service(run.service_id) if run.service_id else None
        base = templates.request_context(
            catalog=catalog,
            action=action,
            user={"id": run.user_id, "name": run.user_name},
            inputs=run.inputs,
            service=service,
            run_id=run.id,
        )
        outcome = Outcome(
            ok,
            "",
            status=200 if ok else 500,
            error=None if ok else "failure",
            links=links,
            log=update.get("log") if isinstance(update.get("log"), str) else None,
        )
        data = update.get("data")
        if action.response_template:
            outcome.message = await self._render_result(action, base, outcome, data or {}, {}, run)
        else:
            outcome.message = shown or (
                f"{action.name} succeeded." if ok else f"{action.name} failed."
            )
        if shown and action.response_template and shown not in outcome.message:
            outcome.message = f"{outcome.message}\n{shown}"
        fields, jobs = self.expiry.after_success(action, base) if ok else ({}, [])
        status = RunStatus.SUCCESS if ok else RunStatus.FAILURE
        finished = await self.finish(run, outcome, status, jobs=jobs, fields=fields)
        if finished is None:
            return 409, "run already finished"
        return 200, "ok"

    async def _late_callback(self, run: Run, update: Mapping[str, Any], size: int) -> None:
        """Audit a callback to a finished run by a short summary only: it changes nothing."""
        status = update.get("status")
        text = self._redactor(run.id)(json.dumps(update))
        summary = {
            "status": status if isinstance(status, str) and status in CALLBACK_STATUSES else None,
            "run_status": run.status,
            "bytes": size,
            "excerpt": text[:LATE_EXCERPT],  # redacted whole first: a cut can't split a secret
        }
        await self._record("late_callback", summary, run_id=run.id)


def _hook_for(action: Action, run: Run) -> Webhook:
    """A revert sends the action's `expires.webhook`: its URL, method and timeout."""
    if run.kind == "revert" and action.expires is not None:
        return action.expires.webhook
    return action.webhook


def _unknown(unsettled: AuditEvent) -> Outcome:
    """How a request ends that went out but may not be sent again."""
    status = unsettled.detail.get("status") if unsettled.kind == "webhook_response" else None
    if isinstance(status, int):
        what = f"the receiver answered HTTP {status}, but the bot failed while handling the answer"
    else:
        what = "the bot stopped while waiting for the receiver"
    return Outcome(
        False,
        f"The result is unknown: {what}. The request was not sent again, because sending "
        "it twice might do the work twice; check with the receiver before running it again.",
        error="unknown",
    )


def _escalation(run: Run | None, by: str) -> list[Job]:
    """A cancelled revert leaves in place what it should undo: the owners must know."""
    if run is None or run.kind != "revert":
        return []
    text = f"The revert (run `{run.parent_id}`) was cancelled by <@{by}>: undo it by hand."
    return [Job(kind=ESCALATE, data={"text": text})]


def _explain(error: delivery.DeliveryError) -> str:
    if error.kind == "blocked":
        return "The request was not sent: its target is on a private network."
    if error.kind == "timeout":
        return f"The receiver did not answer in time ({error.message})."
    if error.kind == "connection":
        return "The receiver could not be reached (connection failed)."
    # httpx's messages may quote the URL or the receiver's bytes.
    if error.kind == "invalid_url":
        return f"The request was not sent: {inert(error.message)}."
    return f"The request failed: {inert(error.message)}."
