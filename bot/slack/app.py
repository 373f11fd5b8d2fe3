"""The Bolt app: request verification on, listeners registered, errors logged."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import listeners
from bot.slack.listeners.cards import publish_home

log = logging.getLogger(__name__)


class _QuietTokenWarning(logging.Filter):
    # Bolt also reads SLACK_BOT_TOKEN from the environment and then warns that the client
    # we pass (pointed at SLACK_API_URL) wins; that is the intent, not a problem.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(runtime: Runtime) -> AsyncApp:
    settings = runtime.settings
    bolt_log = logging.getLogger("bot.slack.bolt")
    bolt_log.addFilter(_QuietTokenWarning())
    app = AsyncApp(
        client=runtime.slack,
        signing_secret=settings.SLACK_SIGNING_SECRET or "unused-in-socket-mode",
        # Answer Slack at ack() and keep working afterwards.
        process_before_response=False,
        logger=bolt_log,
    )
    @app.middleware
    async def one_client(context: Any, next: Any) -> None:
        # Bolt builds a fresh client per request; ours counts errors and retries 429s.
        context["client"] = runtime.slack
        await next()

    listeners.register(app, runtime)

    async def refresh_home(user_id: str) -> None:
        if user_id in runtime.home_users:
            await publish_home(runtime, user_id)

    runtime.notifier.after_finish = refresh_home

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") if isinstance(body, dict) else None
        log.error("listener failed on %s: %s", kind, error, exc_info=error)

    return app
