"""What a run waiting for approval will send, rendered now for its approvers to read.

Rendered the way delivery renders it, then shown only in its redacted form: secret
inputs by field, credential headers by name, and every known secret value by value.
"""

from __future__ import annotations

from bot.kinds import RunKind
from bot.outcomes import RequestPreview
from bot.runs.context import Context, Loaded
from bot.vault import VaultError
from bot.webhooks import render


async def preview(ctx: Context, loaded: Loaded) -> RequestPreview | None:
    """The request ``loaded.run`` will send; None for an extension (it sends nothing new)."""
    run, action = loaded.run, loaded.action
    if action is None or run.kind != RunKind.RUN:
        return None
    try:
        secret = ctx.secrets_of(run)
    except VaultError:
        secret = {}
    profile = await ctx.profiles(run.user_id)
    user = {"id": run.user_id, "name": profile.get("name") or run.user_name, **profile}
    try:
        rendered = await render.render(
            ctx.settings,
            loaded.catalog,
            action,
            run_id=run.id,
            user=user,
            inputs={**run.inputs, **secret},
            service=loaded.service,
            extra_context={
                "run": {"parent_id": run.parent_id},
                "approval": {"approvers": [], "comment": ""},  # filled in once approved
                "expires_at": None,
            },
        )
    except render.RenderError as exc:
        method = action.webhook.method if action.webhook else "POST"
        return RequestPreview(method, "", "", problem=str(exc))
    redact = ctx.run_redactor(run.id, secret)
    shown = rendered.shown
    return RequestPreview(shown.method, redact(shown.url), redact(rendered.shown_payload))
