"""One attempt at a run's webhook: render, sign, send, and what came of it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from bot import metrics, templates
from bot.catalog import Action, Catalog, Service, Webhook
from bot.kinds import RunKind
from bot.outcomes import Outcome
from bot.redaction import redact_headers
from bot.runs.approvals import approval_context
from bot.runs.context import Context
from bot.runs.results import explain, render_result
from bot.store import Run
from bot.store.models import utcnow
from bot.webhooks import delivery, render

Attempted = tuple[Outcome, bool, float | None]  # (outcome, worth retrying, Retry-After s)


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


def hook_for(action: Action, run: Run) -> Webhook:
    """A revert sends the action's `expires.webhook`: its URL, method and timeout."""
    hook = action.webhook
    if run.kind == RunKind.REVERT and action.expires is not None:
        hook = action.expires.webhook
    assert hook is not None, "a backend run is dispatched, not sent"
    return hook


async def attempt(
    ctx: Context,
    loaded_catalog: Catalog,
    action: Action,
    run: Run,
    service: Service | None,
    number: int,
    inputs: Mapping[str, Any],
    seen: dict[str, Any] | None = None,
) -> Attempted:
    """Attempt number ``number``; ``seen`` gets the template context used."""
    profile = await ctx.profiles(run.user_id)
    user = templates.sender(run.user_id, run.user_name, profile)
    hook = hook_for(action, run)
    try:
        rendered = await render.render(
            ctx.settings,
            loaded_catalog,
            action,
            run_id=run.id,
            user=user,
            inputs=inputs,
            service=service,
            webhook=hook,
            extra_context=await extra_context(ctx, run),
        )
    except render.RenderError as exc:
        return await _not_rendered(ctx, run, exc)
    if seen is not None:
        seen["context"] = rendered.context
    sent = await send(ctx, run, rendered, hook.timeout, number)
    if isinstance(sent, delivery.DeliveryError):
        retryable = action.retry.retries(hook.method, error=sent.kind)
        outcome = Outcome(False, explain(sent), error=sent.kind, duration_ms=sent.duration_ms)
        return outcome, retryable, None
    return await _answered(ctx, action, run, rendered, sent, number)


async def _answered(
    ctx: Context,
    action: Action,
    run: Run,
    rendered: render.Rendered,
    response: delivery.Response,
    number: int,
) -> Attempted:
    """The receiver answered: success, a failure worth retrying, or the result to show."""
    metrics.WEBHOOK_SECONDS.labels(action.id).observe(response.duration_ms / 1000)
    ok = 200 <= response.status < 300
    outcome = Outcome(
        ok,
        "",
        status=response.status,
        error=None if ok else "http_status",
        duration_ms=response.duration_ms,
    )
    hook = hook_for(action, run)
    retryable = not ok and action.retry.retries(hook.method, status=response.status)
    if not ok and retryable and number < action.retry.attempts:
        return outcome, True, retry_after(response.headers)
    if not (ok and action.is_async):
        body = templates.parse_body(response.text)
        base = rendered.shown_context  # secret inputs and the token stay out of Slack
        outcome.message = await render_result(
            ctx, action, base, outcome, body, response.headers, run
        )
    return outcome, retryable, retry_after(response.headers)


async def _not_rendered(ctx: Context, run: Run, exc: render.RenderError) -> Attempted:
    if exc.payload is not None:
        await ctx.record(
            "invalid_payload",
            {"payload": exc.payload, "error": str(exc)},
            ctx.run_redactor(run.id, {}),  # the payload is shown by field already
            run_id=run.id,
        )
    await ctx.record("error", {"kind": exc.kind, "error": str(exc)}, run_id=run.id)
    return Outcome(False, str(exc), error=exc.kind), False, None


async def send(
    ctx: Context,
    run: Run,
    rendered: render.Rendered,
    timeout: float,
    number: int,
    test: bool = False,
) -> delivery.Response | delivery.DeliveryError:
    """Send one attempt, auditing the request and what came back (or didn't)."""
    shown = rendered.shown  # secret inputs and credentials hidden by field and name
    marks = {"attempt": number, **({"test": True} if test else {})}
    await ctx.record(
        "webhook_request",
        {
            **marks,
            "method": shown.method,
            "url": shown.url,
            "headers": shown.headers,
            "body": rendered.shown_payload,
        },
        # By field, not by the values users typed: those may equal other inputs' text.
        ctx.run_redactor(run.id, {}),
        run_id=run.id,
    )
    try:
        response = await delivery.send(ctx.client, rendered.request, timeout, attempt=number)
    except delivery.DeliveryError as exc:
        await ctx.record(
            "webhook_error",
            {**marks, "kind": exc.kind, "error": exc.message, "duration_ms": exc.duration_ms},
            run_id=run.id,
        )
        return exc
    await ctx.record(
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


async def extra_context(ctx: Context, run: Run) -> dict[str, Any]:
    """Approval and expiry details for templates (a revert sees its parent's)."""
    source = run
    if run.parent_id and run.kind == RunKind.REVERT:
        parent = await ctx.db(ctx.store.get_run, run.parent_id)
        source = parent or run
    decisions = await ctx.db(ctx.store.decisions, source.id)
    return {
        "run": {"parent_id": run.parent_id},
        "approval": approval_context(decisions),
        "expires_at": source.expires_at.isoformat() if source.expires_at else None,
    }
