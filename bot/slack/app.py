"""The Bolt app: request verification on, listeners registered, errors logged."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.trace import SpanKind
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import tracing
from bot.runtime import Runtime
from bot.slack import listeners, middleware
from bot.slack.listeners.cards import publish_home

log = logging.getLogger(__name__)


class _QuietTokenWarning(logging.Filter):
    # Bolt also reads SLACK_BOT_TOKEN from the environment and then warns that the client
    # we pass (pointed at SLACK_API_URL) wins; that is the intent, not a problem.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class TracedAck(AsyncAck):
    """ack(), as a span: when Slack gets its answer."""

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        with tracing.span("slack ack"):
            return await super().__call__(*args, **kwargs)


class TracedApp(AsyncApp):
    """Bolt with a trace per Slack request and a span per listener (when tracing is on)."""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        if not tracing.enabled():
            return await super().async_dispatch(req)
        kind, attributes = _describe(req.body)
        # The root of a trace. Listeners that outlive the ack run in tasks that copy this
        # context, so their spans stay in the trace.
        with tracing.span(f"slack {kind}", kind=SpanKind.SERVER, attributes=attributes) as span:
            req.context["ack"] = TracedAck()
            response = await super().async_dispatch(req)
            span.set_attribute("http.response.status_code", response.status)
            detail = next(
                (
                    attributes[k]
                    for k in ("slack.command", "slack.callback_id", "slack.event")
                    if k in attributes
                ),
                None,
            )
            # Named by what Slack signed and we could read, never by a forger.
            if detail and response.status not in (400, 401):
                span.update_name(f"slack {kind} {detail}")
            return response

    def _register_listener(
        self, functions: Sequence[Callable[..., Any]], *args: Any, **kwargs: Any
    ) -> Any:
        return super()._register_listener([_traced(f) for f in functions], *args, **kwargs)


def _traced(func: Callable[..., Any]) -> Callable[..., Any]:
    # functools.wraps keeps the signature Bolt reads to choose the arguments it passes.
    @functools.wraps(func)
    async def listener(*args: Any, **kwargs: Any) -> Any:
        with tracing.span(f"listener {func.__name__}"):
            return await func(*args, **kwargs)

    return listener


SLACK_TYPES = {
    "block_actions",
    "block_suggestion",
    "command",
    "event_callback",
    "message_action",
    "shortcut",
    "url_verification",
    "view_closed",
    "view_submission",
}


def _describe(body: Any) -> tuple[str, dict[str, str]]:
    """The payload's type and ids, read defensively: the body is not verified yet."""
    body = body if isinstance(body, dict) else {}

    def text(*path: Any) -> str | None:
        value: Any = body
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, list):
                value = value[0] if value else None
        return value[:100] if isinstance(value, str) and value else None

    kind = text("type") or ("command" if "command" in body else "other")
    kind = kind if kind in SLACK_TYPES else "other"
    found = {
        "slack.command": text("command"),
        "slack.callback_id": text("view", "callback_id"),
        "slack.action_id": text("actions", "action_id"),
        "slack.event": text("event", "type"),
        "enduser.id": text("user_id") or text("user", "id"),
    }
    return kind, {"slack.type": kind, **{k: v for k, v in found.items() if v}}


def build_app(runtime: Runtime) -> AsyncApp:
    settings = runtime.settings
    bolt_log = logging.getLogger("bot.slack.bolt")
    bolt_log.addFilter(_QuietTokenWarning())
    app = TracedApp(
        client=runtime.slack,
        signing_secret=settings.SLACK_SIGNING_SECRET or "unused-in-socket-mode",
        # Answer Slack at ack() and keep working afterwards.
        process_before_response=False,
        logger=bolt_log,
        # Right after the signature check: a malformed body is refused (400) before Bolt's
        # own middleware or any listener reads it.
        before_authorize=middleware.Provide(runtime),
    )

    listeners.register(app)

    async def refresh_home(user_id: str) -> None:
        if user_id in runtime.home_users:
            await publish_home(runtime, user_id)

    runtime.notifier.after_finish = refresh_home

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") if isinstance(body, dict) else None
        log.error("listener failed on %s: %s", kind, error, exc_info=error)

    return app
