"""The run lifecycle: submit, deliver, finish. No Slack and no HTTP framework here.

Every status change goes through this module and writes an audit event; everything
written (database, logs, Slack) passes the redactor first.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from bot import templates
from bot.access import Decision
from bot.catalog import Action, Catalog, Service
from bot.redaction import Redactor
from bot.settings import Settings
from bot.store import Run, RunStatus, Store
from bot.webhooks import delivery

log = logging.getLogger(__name__)


@dataclass
class Submission:
    action: Action
    user_id: str
    user_name: str
    channel_id: str | None
    inputs: dict[str, Any]
    service: Service | None = None
    idempotency_key: str | None = None


@dataclass
class Outcome:
    """How a run ended, in terms a person and a template can use."""

    ok: bool
    message: str  # the rendered response template, or a plain explanation
    status: int | None = None  # HTTP status, when the receiver answered
    error: str | None = None  # error kind: template, invalid_payload, timeout, connection, …
    body: Any = None
    duration_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    """Tells people about a run (implemented for Slack in bot.slack.notify)."""

    async def started(self, run: Run, action: Action, service: Service | None) -> Run: ...

    async def finished(self, run: Run, action: Action, outcome: Outcome) -> None: ...


Profiles = Callable[[str], Awaitable[Mapping[str, Any]]]


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


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
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.client = client
        self.redact = redactor
        self.notifier = notifier
        self.profiles = profiles
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- recording -------------------------------------------------------------------

    async def _record(self, kind: str, detail: dict[str, Any], **keys: Any) -> None:
        await asyncio.to_thread(self.store.record, kind, self.redact(detail), **keys)

    async def refuse(self, action_id: str, user_id: str, decision: Decision, step: str) -> None:
        """Audit a refused attempt to run an action (click, submit, crafted payload)."""
        log.info("refused %s for %s at %s: %s", action_id, user_id, step, decision.reason)
        await self._record(
            "refused",
            {"step": step, "reason": decision.reason},
            action_id=action_id,
            actor=user_id,
        )

    # --- lifecycle -------------------------------------------------------------------

    async def submit(self, submission: Submission) -> Run | None:
        """Store a new run (PENDING). None when this submission was already received."""
        action = submission.action
        run = Run(
            action_id=action.id,
            user_id=submission.user_id,
            user_name=submission.user_name,
            channel_id=submission.channel_id,
            service_id=submission.service.id if submission.service else None,
            inputs=self.redact(submission.inputs),
            idempotency_key=submission.idempotency_key,
        )
        detail = self.redact(
            {
                "action": action.id,
                "service": run.service_id,
                "channel": run.channel_id,
                "inputs": submission.inputs,
            }
        )
        created = await asyncio.to_thread(self.store.create_run, run, detail)
        if not created:
            log.info("duplicate submission %s ignored", submission.idempotency_key)
            return None
        log.info("run %s of %s submitted by %s", run.id, action.id, run.user_id)
        return run

    def start(self, run: Run, inputs: Mapping[str, Any]) -> asyncio.Task[Outcome]:
        """Execute in the background (after Slack has its ack), keeping a reference."""
        task = asyncio.create_task(self.execute(run, inputs), name=f"run-{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def execute(self, run: Run, inputs: Mapping[str, Any]) -> Outcome:
        """Announce, deliver and report one run. Never raises: failures become outcomes.

        ``inputs`` are the unredacted values: templates need the real text, storage never
        sees it.
        """
        catalog = self.catalog()
        action = catalog.action(run.action_id)
        service = catalog.service(run.service_id) if run.service_id else None
        if action is None:
            outcome = Outcome(False, "This action was removed from the catalog.", error="gone")
            await self._finish(run, None, outcome)
            return outcome
        try:
            run = await self.notifier.started(run, action, service)
        except Exception:  # Slack being down must not stop the delivery
            log.exception("run %s: could not announce the run", run.id)
        try:
            outcome = await self._deliver(catalog, action, run, service, inputs)
        except Exception as exc:  # a bug: still finish the run visibly
            log.exception("run %s: unexpected error", run.id)
            outcome = Outcome(False, f"Internal error: {type(exc).__name__}", error="internal")
        await self._finish(run, action, outcome)
        return outcome

    async def _finish(self, run: Run, action: Action | None, outcome: Outcome) -> None:
        status = RunStatus.SUCCESS if outcome.ok else RunStatus.FAILURE
        outcome.message = self.redact(outcome.message)
        event = {
            "status": status.value,
            "http_status": outcome.status,
            "error": outcome.error,
            "result": outcome.message,
            "duration_ms": outcome.duration_ms,
        }
        run = await asyncio.to_thread(
            self.store.finish_run, run.id, status.value, outcome.message, self.redact(event)
        )
        log.info("run %s finished %s", run.id, status.value)
        if action is not None:
            try:
                await self.notifier.finished(run, action, outcome)
            except Exception:
                log.exception("run %s: could not post the result", run.id)

    async def _deliver(
        self,
        catalog: Catalog,
        action: Action,
        run: Run,
        service: Service | None,
        inputs: Mapping[str, Any],
    ) -> Outcome:
        secrets = self.settings.template_secrets
        profile = await self.profiles(run.user_id)
        user = {"id": run.user_id, "name": profile.get("name") or run.user_name, **profile}
        base = templates.request_context(
            catalog=catalog,
            action=action,
            user=user,
            inputs=inputs,
            service=service,
            run_id=run.id,
        )
        hook = action.webhook
        try:
            url = (await templates.render(hook.url, base, secrets)).strip()
            headers = {k: await templates.render(v, base, secrets) for k, v in hook.headers.items()}
            payload = await templates.render(hook.payload, base, secrets)
        except templates.TemplateError as exc:
            return await self._failed(run, "template", f"The request template failed: {exc}")
        if hook.payload and not hook.header("Content-Type"):
            headers["Content-Type"] = "application/json"
        if hook.payload and is_json(hook.header("Content-Type") or headers["Content-Type"]):
            try:
                json.loads(payload)
            except ValueError as exc:
                await self._record(
                    "invalid_payload", {"payload": payload, "error": str(exc)}, run_id=run.id
                )
                return await self._failed(
                    run,
                    "invalid_payload",
                    "The request was not sent: the payload template did not produce valid "
                    "JSON. The action's owners can see the details in the audit log.",
                )
        request = delivery.build(
            method=hook.method,
            url=url,
            configured=headers,
            body=payload.encode("utf-8"),
            secret=self.settings.WEBHOOK_SIGNING_SECRET,
            prefix=self.settings.WEBHOOK_HEADER_PREFIX,
            run_id=run.id,
        )
        await self._record(
            "webhook_request",
            {
                "method": request.method,
                "url": request.url,
                "headers": request.headers,
                "body": payload,
                "attempt": 1,
            },
            run_id=run.id,
        )
        try:
            response = await delivery.send(self.client, request, hook.timeout)
        except delivery.DeliveryError as exc:
            await self._record(
                "webhook_error",
                {"kind": exc.kind, "error": exc.message, "duration_ms": exc.duration_ms},
                run_id=run.id,
            )
            return Outcome(False, _explain(exc), error=exc.kind, duration_ms=exc.duration_ms)
        await self._record(
            "webhook_response",
            {
                "status": response.status,
                "headers": response.headers,
                "body": response.text,
                "truncated": response.truncated,
                "duration_ms": response.duration_ms,
            },
            run_id=run.id,
        )
        ok = 200 <= response.status < 300
        body = templates.parse_body(response.text)
        outcome = Outcome(
            ok,
            "",
            status=response.status,
            error=None if ok else "http_status",
            body=body,
            duration_ms=response.duration_ms,
        )
        outcome.message = await self._render_result(action, base, outcome, response, run)
        return outcome

    async def _render_result(
        self,
        action: Action,
        base: Mapping[str, Any],
        outcome: Outcome,
        response: delivery.Response,
        run: Run,
    ) -> str:
        default = (
            f"{action.name} succeeded (HTTP {response.status})."
            if outcome.ok
            else f"{action.name} failed: the receiver answered HTTP {response.status}."
        )
        if not action.response_template:
            return default
        context = templates.response_context(
            base,
            status=response.status,
            body=outcome.body,
            headers=response.headers,
            ok=outcome.ok,
        )
        try:
            text = await templates.render(
                action.response_template, context, self.settings.template_secrets
            )
        except templates.TemplateError as exc:
            await self._record(
                "template_error", {"template": "response", "error": str(exc)}, run_id=run.id
            )
            outcome.error = outcome.error or "response_template"
            return f"{default} (The response template failed: {exc}.)"
        return text.strip() or default

    async def _failed(self, run: Run, kind: str, message: str) -> Outcome:
        await self._record("error", {"kind": kind, "error": message}, run_id=run.id)
        return Outcome(False, message, error=kind)


def _explain(error: delivery.DeliveryError) -> str:
    if error.kind == "blocked":
        return "The request was not sent: its target is on a private network."
    if error.kind == "timeout":
        return f"The receiver did not answer in time ({error.message})."
    if error.kind == "connection":
        return "The receiver could not be reached (connection failed)."
    if error.kind == "invalid_url":
        return f"The request was not sent: {error.message}."
    return f"The request failed: {error.message}."
