"""The Bolt app: request verification on, listeners registered, errors logged."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import listeners

log = logging.getLogger(__name__)


def build_app(runtime: Runtime) -> AsyncApp:
    settings = runtime.settings
    app = AsyncApp(
        client=runtime.slack,
        signing_secret=settings.SLACK_SIGNING_SECRET or "unused-in-socket-mode",
        # Answer Slack at ack() and keep working afterwards.
        process_before_response=False,
        logger=logging.getLogger("bot.slack.bolt"),
    )
    listeners.register(app, runtime)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") if isinstance(body, dict) else None
        log.error("listener failed on %s: %s", kind, error, exc_info=error)

    return app
