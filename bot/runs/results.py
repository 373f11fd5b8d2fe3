"""What a run's result says: the response template, or a plain explanation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import templates, tracing
from bot.catalog import Action
from bot.kinds import DeliveryErrorKind
from bot.mrkdwn import inert
from bot.outcomes import Outcome
from bot.runs.context import Context
from bot.store import AuditEvent, Run
from bot.webhooks import delivery


@tracing.traced("render response")
async def render_result(
    ctx: Context,
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
            action.response_template, context, ctx.settings.template_secrets, slack=True
        )
    except templates.TemplateError as exc:
        await ctx.record(
            "template_error", {"template": "response", "error": str(exc)}, run_id=run.id
        )
        outcome.error = outcome.error or "response_template"
        return f"{default} (The response template failed: {inert(str(exc))}.)"
    return text.strip() or default


def unknown(unsettled: AuditEvent) -> Outcome:
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


def explain(error: delivery.DeliveryError) -> str:
    if error.kind == DeliveryErrorKind.BLOCKED:
        return "The request was not sent: its target is on a private network."
    if error.kind == DeliveryErrorKind.TIMEOUT:
        return f"The receiver did not answer in time ({error.message})."
    if error.kind == DeliveryErrorKind.CONNECTION:
        return "The receiver could not be reached (connection failed)."
    # httpx's messages may quote the URL or the receiver's bytes.
    if error.kind == DeliveryErrorKind.INVALID_URL:
        return f"The request was not sent: {inert(error.message)}."
    return f"The request failed: {inert(error.message)}."
