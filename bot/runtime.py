"""Everything a running bot holds, built once from the settings and the config."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from opentelemetry.trace import SpanKind
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics, tracing
from bot.admission import Admission
from bot.audit import sinks
from bot.audit.stream import AuditStream
from bot.backends.follower import CiClients
from bot.catalog import Catalog
from bot.config import Loaded, load_file
from bot.config.loader import merge
from bot.jobs import Worker, merge_handlers
from bot.options import OptionSource
from bot.pagerduty import PagerDuty
from bot.policy import Policy
from bot.redaction import Redactor
from bot.runs import Runs
from bot.settings import Settings, SettingsError
from bot.slack.directory import Directory
from bot.slack.metadata import Sealer
from bot.slack.notify import SlackNotifier
from bot.store import Store, migrate
from bot.store.models import utcnow
from bot.tokens import Tokens
from bot.triggers.chains import Chains
from bot.triggers.schedules import Schedules
from bot.webhooks.transport import build_client

log = logging.getLogger(__name__)


class CountingWebClient(AsyncWebClient):
    """The Slack client, counting failed calls by method for /metrics; a span per call."""

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        attributes = {"rpc.system": "slack", "rpc.method": api_method}
        with tracing.span(
            f"slack {api_method}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            try:
                return await super().api_call(api_method, **kwargs)
            except Exception as exc:
                metrics.SLACK_ERRORS.labels(api_method).inc()
                tracing.failed(span, type(exc).__name__)
                raise


def slack_client(settings: Settings) -> CountingWebClient:
    """The one Slack Web API client: retries lost connections and rate limits."""
    return CountingWebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


SLACK_ACTIONS_POLL = 5.0  # seconds: how soon other replicas see an admin's change
RETENTION_EVERY = 24 * 3600.0
SCHEDULE_TICK = 5.0  # seconds: how late a firing may start


class Runtime:
    def __init__(
        self,
        settings: Settings,
        loaded: Loaded,
        adjust: Callable[[Catalog], Catalog] | None = None,
    ) -> None:
        self.settings = settings
        # ``adjust`` rewrites every catalog built (the playground points URLs at its echo).
        self._adjust = adjust or (lambda catalog: catalog)
        self._catalog = self._adjust(loaded.catalog)
        self._document = loaded.document  # the file, to merge Slack-created actions into
        self._slack_version = ""
        self.redactor = Redactor(settings.secret_values())
        self.store = Store(settings.DATABASE_URL)
        self.http = build_client(
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
            max_connections=settings.WORKER_CONCURRENCY,
        )
        self.slack = slack_client(settings)
        self.directory = Directory(self.slack)
        self.sealer = Sealer(settings.SLACK_SIGNING_SECRET or settings.webhook_secret)
        self.notifier = SlackNotifier(self.slack, self.store, self.catalog)
        self.runner = Runs(
            settings=settings,
            catalog=self.catalog,
            store=self.store,
            client=self.http,
            redactor=self.redactor,
            notifier=self.notifier,
            profiles=self.directory.profile,
            ci_clients=self._ci_clients(settings),
        )
        self._build_admission(settings)
        self.home_users: set[str] = set()  # who has seen the Home tab (refreshed after runs)
        self.audit_stream = self._audit_stream(settings)
        self.worker = self._worker(settings)
        self.runner.wake = self.worker.wake
        self.ready = False

    def _build_admission(self, settings: Settings) -> None:
        """What decides on and starts runs: admission with its policy, tokens, chains and
        schedules."""
        self.options = OptionSource(settings, self.http)
        self.pagerduty = PagerDuty(
            self.http, settings.PAGERDUTY_API_TOKEN, settings.PAGERDUTY_API_URL
        )
        self.policy = Policy(
            pagerduty=self.pagerduty,
            people=self.directory,
            secrets=settings.template_secrets,
            manager_field=settings.MANAGER_PROFILE_FIELD,
        )
        self.admission = Admission(
            settings=settings,
            catalog=self.catalog,
            store=self.store,
            lookups=self.directory,
            options=self.options,
            policy=self.policy,
        )
        self.tokens = Tokens(settings, self.store, self.directory.profile)
        self.chains = Chains(
            settings=settings,
            catalog=self.catalog,
            store=self.store,
            admission=self.admission,
            runner=self.runner,
        )
        self.schedules = Schedules(
            catalog=self.catalog,
            store=self.store,
            admission=self.admission,
            runner=self.runner,
            channels=self.notifier,
        )

    def _worker(self, settings: Settings) -> Worker:
        return Worker(
            self.store,
            merge_handlers(
                self.runner.handlers,
                self.audit_stream.handlers,
                self.chains.handlers,
                self.schedules.handlers,
            ),
            concurrency=settings.WORKER_CONCURRENCY,
            lease=settings.JOB_LEASE_SECONDS,
        )

    def _audit_stream(self, settings: Settings) -> AuditStream:
        # Sinks are the operator's own endpoints (trusted, often on a private network): their
        # client may reach private addresses, unlike the one for webhooks.
        self.sink_http = build_client(allow_private=True, max_connections=10)
        try:
            found = [sinks.parse(url, self.sink_http) for url in settings.audit_sinks]
        except ValueError as exc:
            raise SettingsError(f"AUDIT_SINKS: {exc}") from None
        if len({sink.name for sink in found}) < len(found):
            raise SettingsError("AUDIT_SINKS: the same sink is named twice")
        return AuditStream(self.store, found, self.redactor)

    def _ci_clients(self, settings: Settings) -> CiClients:
        # The CI API URLs are the operator's (trusted; GitHub Enterprise Server or GitLab may
        # be on a private network), so this client may reach private addresses.
        self.ci_http = build_client(allow_private=True, max_connections=20)
        return CiClients(settings, self.ci_http)

    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def document(self) -> dict[str, Any]:
        return self._document

    def _merge(self, document: dict[str, Any]) -> Loaded:
        extra = [a.document for a in self.store.slack_actions()]
        return merge(
            document,
            extra,
            source=self.settings.ACTIONS_CONFIG,
            secrets=self.settings.template_secrets,
        )

    async def refresh_slack_actions(self, force: bool = False) -> None:
        """Pick up actions created, edited or deleted in Slack (here or on a replica)."""
        version = await asyncio.to_thread(self.store.slack_actions_version)
        if version == self._slack_version and not force:
            return
        loaded = await asyncio.to_thread(self._merge, self._document)
        for warning in loaded.warnings:
            log.warning("%s", warning)
        self._catalog = self._adjust(loaded.catalog)
        self._slack_version = version

    async def reload(self) -> Loaded:
        """Re-read the config file; on error the running catalog stays (ConfigError)."""
        fresh = await asyncio.to_thread(
            load_file, self.settings.ACTIONS_CONFIG, self.settings.template_secrets
        )
        loaded = await asyncio.to_thread(self._merge, fresh.document)
        self._document = fresh.document
        self._catalog = self._adjust(loaded.catalog)
        loaded.warnings = fresh.warnings + loaded.warnings
        await self.schedules.sync()
        return loaded

    async def purge_old(self) -> int:
        before = utcnow() - timedelta(days=self.settings.AUDIT_RETENTION_DAYS)
        removed = await asyncio.to_thread(self.store.purge, before)
        if removed:
            log.info("retention: removed %d runs and events older than %s", removed, before)
        return removed

    async def start(self) -> None:
        """Migrate, then serve. Failing to reach the database fails start-up."""
        await asyncio.to_thread(migrate, self.settings.DATABASE_URL)
        await self.refresh_slack_actions(force=True)
        await self.schedules.sync()
        await self.worker.start()  # picks up whatever a previous process left due
        await self.schedules.tick()  # firings missed while down: once, within their grace
        self.worker.every(SCHEDULE_TICK, self.schedules.tick, "schedules")
        self.worker.every(SLACK_ACTIONS_POLL, self.refresh_slack_actions, "slack-actions")
        self.worker.every(RETENTION_EVERY, self.purge_old, "retention", first_in=60.0)
        await self.audit_stream.start(self.worker)
        # The catalog and the imports live for the process: keep them out of the collector's
        # way, which otherwise walks them on every full collection (visible in p99 latency).
        gc.collect()
        gc.freeze()
        self.ready = True
        log.info(
            "ready: %d actions, %d services, database %s",
            len(self._catalog.actions),
            len(self._catalog.services),
            self.store.engine.url.render_as_string(hide_password=True),
        )

    async def stop(self, grace: float = 10.0) -> None:
        self.ready = False
        await self.worker.stop(grace)
        await self.audit_stream.stop()
        await self.http.aclose()
        await self.sink_http.aclose()
        await self.ci_http.aclose()
        self.store.close()
