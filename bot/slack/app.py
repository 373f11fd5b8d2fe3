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
from bot.slack import listeners
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
        name, attributes = _describe(req.body)
        # The root of a trace. Listeners that outlive the ack run in tasks that copy this
        # context, so their spans stay in the trace.
        with tracing.span(name, kind=SpanKind.SERVER, attributes=attributes):
            req.context["ack"] = TracedAck()
            return await super().async_dispatch(req)

    def _register_listener(  # type: ignore[override]
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


def _describe(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A span name and attributes for a Slack payload (ids only: no user text)."""
    kind = str(body.get("type") or ("command" if "command" in body else "event"))
    who = body.get("user")
    user = body.get("user_id") or (who.get("id") if isinstance(who, dict) else None)
    attributes = {"slack.type": kind}
    if body.get("command"):
        attributes["slack.command"] = str(body["command"])
    elif kind == "event_callback":
        attributes["slack.event"] = str((body.get("event") or {}).get("type"))
    elif body.get("actions"):
        attributes["slack.action_id"] = str(body["actions"][0].get("action_id"))
    elif body.get("view"):
        attributes["slack.callback_id"] = str(body["view"].get("callback_id"))
    if user:
        attributes["enduser.id"] = str(user)
    detail = next((v for k, v in attributes.items() if k not in ("slack.type", "enduser.id")), "")
    return f"slack {kind} {detail}".strip(), attributes


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
