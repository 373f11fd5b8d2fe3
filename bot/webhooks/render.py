"""An action's request, rendered and signed: shared by delivery, admin dry runs and preview."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import templates, tracing
from bot.catalog import Action, Catalog, Service, Webhook
from bot.redaction import REDACTED, redact_headers
from bot.settings import Settings
from bot.webhooks import delivery


class RenderError(Exception):
    """Nothing can be sent; ``kind`` is template or invalid_payload."""

    def __init__(self, kind: str, message: str, payload: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.payload = payload


@dataclass
class Rendered:
    request: delivery.Request  # what is sent
    payload: str  # the body as text
    context: dict[str, Any]  # what the templates saw
    # What may be stored or shown (audit log, dry run, preview): rendered again with secret
    # inputs and the callback token as [REDACTED] (by field, whatever their length), and
    # credential headers redacted by name. The signatures are those of the request sent.
    shown: delivery.Request
    shown_context: dict[str, Any]  # for the response template, whose text reaches Slack

    @property
    def shown_payload(self) -> str:
        return self.shown.body.decode("utf-8", "replace")


USES_SECRET = re.compile(r"\bsecrets?\b")


def secret_headers(hook: Webhook, prefix: str) -> set[str]:
    """Configured headers whose template uses a secret, and the callback token header."""
    named = {name for name, text in hook.headers.items() if USES_SECRET.search(text)}
    return {*named, f"{prefix}-Callback-Token"}


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def callback_token(settings: Settings, run_id: str) -> str:
    """A per-run token for async callbacks, derived so that it is never stored."""
    key = settings.webhook_secret.encode()
    return hmac.new(key, f"callback:{run_id}".encode(), hashlib.sha256).hexdigest()


def callback_tokens(settings: Settings, run_id: str) -> list[str]:
    """Every token a receiver may hold for a run (one per secret, during a rotation)."""
    key_of = [s.encode() for s in settings.webhook_secrets]
    return [hmac.new(k, f"callback:{run_id}".encode(), hashlib.sha256).hexdigest() for k in key_of]


def callback_url(settings: Settings, run_id: str) -> str:
    return f"{settings.PUBLIC_URL}/runs/{run_id}/callback"


@tracing.traced("render request")
async def render(
    settings: Settings,
    catalog: Catalog,
    action: Action,
    *,
    run_id: str,
    user: Mapping[str, Any],
    inputs: Mapping[str, Any],
    service: Service | None,
    timestamp: int | None = None,
    webhook: Webhook | None = None,
    extra_context: Mapping[str, Any] | None = None,
) -> Rendered:
    """Render URL, headers and payload, check the payload, and sign the request.

    ``webhook`` replaces the action's own (a time-limited action's revert);
    ``extra_context`` adds approval, expiry and parent-run details.
    """
    context = templates.request_context(
        catalog=catalog, action=action, user=user, inputs=inputs, service=service, run_id=run_id
    )
    _merge(context, extra_context or {})
    hook = webhook or action.webhook
    if hook is None:
        raise RenderError("template", f"{action.name} runs a CI backend, not a webhook")
    extra = _callback(settings, action, run_id, context)
    try:
        url, headers, payload = await _parts(settings, hook, context)
    except templates.TemplateError as exc:
        raise RenderError("template", f"The request template failed: {exc}") from None
    if hook.payload and not hook.header("Content-Type"):
        # A default, not a configured header: it is sent but not signed.
        extra["Content-Type"] = "application/json"
    if hook.payload and is_json(hook.header("Content-Type") or extra.get("Content-Type")):
        await _check_json(settings, action, hook, context, (url, headers, payload))
    request = delivery.build(
        method=hook.method,
        url=url,
        configured=headers,
        body=payload.encode("utf-8"),
        secret=settings.webhook_secrets,
        prefix=settings.WEBHOOK_HEADER_PREFIX,
        run_id=run_id,
        timestamp=int(time.time()) if timestamp is None else timestamp,
    )
    # Unsigned extras: OpsLevel-style receivers verify exactly the configured headers.
    request.headers.update(extra)
    shown, shown_context = await _shown_request(
        settings, action, hook, context, (url, headers, payload), request
    )
    return Rendered(request, payload, context, shown, shown_context)


def _callback(
    settings: Settings, action: Action, run_id: str, context: dict[str, Any]
) -> dict[str, str]:
    """An async action's callback URL and token: into the context, and as extra headers."""
    if not action.is_async:
        return {}
    prefix = settings.WEBHOOK_HEADER_PREFIX
    url, token = callback_url(settings, run_id), callback_token(settings, run_id)
    context["run"].update(callback_url=url, callback_token=token)
    return {f"{prefix}-Callback-Url": url, f"{prefix}-Callback-Token": token}


async def _shown_request(
    settings: Settings,
    action: Action,
    hook: Webhook,
    context: dict[str, Any],
    parts: tuple[str, dict[str, str], str],
    request: delivery.Request,
) -> tuple[delivery.Request, dict[str, Any]]:
    """The request as people may see it (secrets redacted), and its context likewise."""
    prefix = settings.WEBHOOK_HEADER_PREFIX
    shown_url, shown_headers, shown_payload, shown_context = await _shown(
        settings, action, hook, context, parts
    )
    shown = delivery.Request(
        method=request.method,
        url=shown_url,
        headers=redact_headers({**request.headers, **shown_headers}, secret_headers(hook, prefix)),
        body=shown_payload.encode("utf-8"),
    )
    return shown, shown_context


def _merge(context: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if key == "run":
            context["run"].update(value)
        else:
            context[key] = value


async def _check_json(
    settings: Settings,
    action: Action,
    hook: Webhook,
    context: dict[str, Any],
    parts: tuple[str, dict[str, str], str],
) -> None:
    """Refuse a payload that is not JSON, showing it (secrets redacted) to the owners."""
    try:
        json.loads(parts[2])
    except ValueError as exc:
        _, _, shown_body, _ = await _shown(settings, action, hook, context, parts)
        raise RenderError(
            "invalid_payload",
            "The request was not sent: the payload template did not produce valid JSON "
            f"({exc}). The action's owners can see the details in the audit log.",
            shown_body,
        ) from None


async def _parts(
    settings: Settings, hook: Webhook, context: Mapping[str, Any]
) -> tuple[str, dict[str, str], str]:
    """URL, configured headers and payload, rendered."""
    secrets = settings.template_secrets
    url = (await templates.render(hook.url, context, secrets)).strip()
    headers = {k: await templates.render(v, context, secrets) for k, v in hook.headers.items()}
    payload = await templates.render(hook.payload, context, secrets)
    return url, headers, payload


async def _shown(
    settings: Settings,
    action: Action,
    hook: Webhook,
    context: dict[str, Any],
    parts: tuple[str, dict[str, str], str],
) -> tuple[str, dict[str, str], str, dict[str, Any]]:
    """The parts rendered again with secret inputs and the callback token as [REDACTED]."""
    hidden = {
        i.identifier
        for i in action.inputs
        if i.type == "secret" and context["manualInputs"].get(i.identifier) not in (None, "")
    }
    if not hidden:  # nothing to hide by field (the token is also redacted by value)
        return (*parts, context)
    values = {**context["manualInputs"], **dict.fromkeys(hidden, REDACTED)}
    run = {**context["run"], "callback_token": REDACTED}
    shown = {**context, "manualInputs": values, "inputs": values, "run": run}
    try:
        return (*await _parts(settings, hook, shown), shown)
    except templates.TemplateError:  # a template that needs the real value: show nothing
        return REDACTED, {k: REDACTED for k in hook.headers}, REDACTED, shown
