"""Everything a running bot holds, built once from the settings and the config."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Catalog
from bot.jobs import Worker
from bot.options import OptionSource
from bot.redaction import Redactor
from bot.runs import Runner
from bot.settings import Settings
from bot.slack.directory import Directory
from bot.slack.metadata import Sealer
from bot.slack.notify import SlackNotifier
from bot.store import Store, migrate
from bot.webhooks.transport import build_client

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self._catalog = catalog
        self.redactor = Redactor(settings.secret_values())
        self.store = Store(settings.DATABASE_URL)
        self.http = build_client(allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
        self.slack = AsyncWebClient(
            token=settings.SLACK_BOT_TOKEN,
            base_url=settings.SLACK_API_URL,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            ],
        )
        self.directory = Directory(self.slack)
        self.sealer = Sealer(settings.SLACK_SIGNING_SECRET or settings.WEBHOOK_SIGNING_SECRET)
        self.notifier = SlackNotifier(self.slack, self.store, self.catalog)
        self.runner = Runner(
            settings=settings,
            catalog=self.catalog,
            store=self.store,
            client=self.http,
            redactor=self.redactor,
            notifier=self.notifier,
            profiles=self.directory.profile,
        )
        self.options = OptionSource(settings, self.http)
        self.home_users: set[str] = set()  # who has seen the Home tab (refreshed after runs)
        self.worker = Worker(
            self.store,
            self.runner.handlers,
            concurrency=settings.WORKER_CONCURRENCY,
            lease=settings.JOB_LEASE_SECONDS,
        )
        self.runner.wake = self.worker.wake
        self.ready = False

    def catalog(self) -> Catalog:
        return self._catalog

    async def start(self) -> None:
        """Migrate, then serve. Failing to reach the database fails start-up."""
        await asyncio.to_thread(migrate, self.settings.DATABASE_URL)
        await self.worker.start()  # picks up whatever a previous process left due
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
        await self.http.aclose()
        self.store.close()
