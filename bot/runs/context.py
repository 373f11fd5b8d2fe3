"""What every part of the run lifecycle shares: the store, the notifier, the catalog, wake,
and the few steps they all take (load a job's run, record, finish, post to the thread).

Each module of this package takes a `Context`, never another module's object, so the
modules depend on this one and not on each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

import httpx

from bot import logs, metrics, redaction
from bot.backends.follower import CiClients
from bot.catalog import Action, Catalog, Service
from bot.jobs import Retry
from bot.kinds import JobKind, RunKind, RunStatus
from bot.outcomes import Outcome, RequestPreview
from bot.redaction import Redactor
from bot.settings import Settings
from bot.store import Job, Run, Store
from bot.store.models import ApprovalDecision, utcnow
from bot.vault import Vault
from bot.webhooks import render

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Notifier(Protocol):
    """Tells people about a run (implemented for Slack in bot.slack.notify): every method
    the run lifecycle calls."""

    def mention(self, user_id: str) -> str:
        """A person, as the chat platform names them in a message."""
        ...

    async def started(self, run: Run, action: Action, service: Service | None) -> Run: ...

    async def progress(self, run: Run, text: str, edit: str | None = None) -> str | None:
        """A note in the run's thread, or the note ``edit`` changed; where it is."""
        ...

    async def running(
        self, run: Run, action: Action, message: str, links: list[dict[str, str]]
    ) -> None: ...

    async def finished(
        self, run: Run, action: Action, outcome: Outcome, view_id: str | None
    ) -> None: ...

    async def request_approval(
        self,
        run: Run,
        action: Action,
        service: Service | None,
        preview: RequestPreview | None = None,
    ) -> list[dict[str, str]]: ...

    async def update_approval(
        self,
        run: Run,
        action: Action,
        decisions: list[ApprovalDecision],
        preview: RequestPreview | None = None,
    ) -> None: ...

    async def expiry_notice(self, run: Run, action: Action) -> None: ...

    async def expiry_warning(self, run: Run, action: Action) -> dict[str, str]:
        """Tell the requester, privately, that the grant expires soon; offer Extend.
        Where it was posted ({channel, ts}), for refresh to keep it current."""
        ...

    async def refresh(self, run: Run, action: Action) -> None:
        """Redraw the run's status message as the run now stands."""
        ...

    async def escalate(self, run: Run, action: Action, text: str) -> None: ...


Profiles = Callable[[str], Awaitable[Mapping[str, Any]]]


@dataclass
class Loaded:
    """A job's run, with the catalog it is handled against."""

    run: Run
    catalog: Catalog
    action: Action | None
    service: Service | None


@dataclass
class Context:
    settings: Settings
    catalog: Callable[[], Catalog]
    store: Store
    client: httpx.AsyncClient
    redact: Redactor  # the global secrets
    notifier: Notifier
    profiles: Profiles
    wake: Callable[[], None] = lambda: None
    ci: CiClients | None = None  # the CI APIs, for actions with a `backend:`
    vault: Vault = field(init=False)

    def __post_init__(self) -> None:
        self.vault = Vault(self.settings.webhook_secrets)

    async def db(self, query: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a (blocking) store query off the event loop."""
        return await asyncio.to_thread(query, *args, **kwargs)

    # --- redaction -------------------------------------------------------------------

    def redactor(self, run_id: str | None) -> Redactor:
        """The redactor for a run: the global secrets, the run's callback tokens and, while
        this task handles the run (``redaction.scoped``), its long secret inputs."""
        if not run_id:
            return self.redact
        return redaction.for_run(run_id) or self.run_redactor(run_id, {})

    def run_redactor(self, run_id: str, secret: Mapping[str, Any]) -> Redactor:
        """The global secrets, the run's callback tokens (credentials, never stored) and
        its secret inputs long enough to be matched by value in what receivers send back."""
        typed = [str(v) for v in secret.values() if len(str(v)) >= redaction.USER_SECRET_MIN]
        return self.redact.extended([*render.callback_tokens(self.settings, run_id), *typed])

    def secrets_of(self, run: Run) -> dict[str, Any]:
        """The run's secret inputs, opened from the database (raises VaultError)."""
        return self.vault.open(run.sealed) if run.sealed else {}

    async def record(
        self, kind: str, detail: dict[str, Any], redact: Redactor | None = None, **keys: Any
    ) -> None:
        redact = redact or self.redactor(keys.get("run_id"))
        await self.db(self.store.record, kind, redact(detail), **keys)

    # --- jobs ------------------------------------------------------------------------

    async def load(self, job: Job) -> Loaded | None:
        run = await self.db(self.store.get_run, job.run_id) if job.run_id else None
        if run is None:
            return None
        catalog = self.catalog()
        service = catalog.service(run.service_id) if run.service_id else None
        logs.ACTION_ID.set(run.action_id)
        return Loaded(run, catalog, catalog.action(run.action_id), service)

    async def wait_for(self, run: Run, job: Job, *kinds: JobKind) -> None:
        """Keep the thread in order: wait (bounded) for the status message and earlier posts.

        Waiting is not a failed attempt: it does not count towards giving up.
        """
        waited = (utcnow() - job.created_at).total_seconds()
        if waited > 600:
            return
        pending = await self.db(self.store.pending_jobs, run.id)
        if any(j.kind in kinds and j.id != job.id and (j.id or 0) < (job.id or 0) for j in pending):
            raise Retry(0.1 if waited < 2 else 2.0, "waiting for earlier messages", counts=False)

    async def add_jobs(self, *jobs: Job) -> None:
        await self.db(self.store.add_jobs, list(jobs))
        self.wake()

    async def post(self, run: Run, text: str, key: str | None = None) -> None:
        """A note in the run's thread; a later note with the same ``key`` replaces it."""
        data = {"text": text, **({"key": key} if key else {})}
        await self.add_jobs(Job(kind=JobKind.PROGRESS, run_id=run.id, data=data))

    async def finish(
        self,
        run: Run,
        outcome: Outcome,
        status: RunStatus,
        view_id: str | None = None,
        jobs: list[Job] | None = None,
        fields: dict[str, Any] | None = None,
    ) -> Run | None:
        """End a run (if nobody else did): its status, result, report and closed deadline."""
        redact = self.redactor(run.id)
        outcome.message = redact(outcome.message)
        outcome.final_status = status.value
        detail = {
            "http_status": outcome.status,
            "error": outcome.error,
            "result": outcome.message,
            "duration_ms": outcome.duration_ms,
        }
        report = Job(
            kind=JobKind.REPORT, data=redact({"outcome": asdict(outcome), "view_id": view_id})
        )
        if run.approval_refs:  # the approval request shows how it ended, too
            jobs = [*(jobs or []), Job(kind=JobKind.APPROVAL_UPDATE)]
        action = self.catalog().action(run.action_id)
        if action and not run.is_test and run.kind == RunKind.RUN and action.next_after(status):
            jobs = [*(jobs or []), Job(kind=JobKind.CHAIN, data={"status": status.value})]
        finished = await self.db(
            self.store.finish_run,
            run.id,
            status.value,
            outcome.message,
            redact(detail),
            [report, *(jobs or [])],
            [JobKind.DEADLINE],
            **(fields or {}),
        )
        if finished is not None:
            log.info("run %s finished %s", run.id, status.value)
            metrics.RUNS.labels(run.action_id, status.value).inc()
            self.wake()
        return finished
