"""`/actions-admin` and its buttons and forms. Admins only, checked at every step."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import admin as domain
from bot import inputs, templates, why
from bot.admission import Refused, Request, Via
from bot.catalog import Action, Catalog, Service, parse_duration
from bot.config import ConfigError, payload_warnings
from bot.mrkdwn import escape
from bot.runtime import Runtime
from bot.slack import guards
from bot.slack.listeners import schedules
from bot.slack.listeners.runs import form_fields, form_user
from bot.slack.request import SlackRequest
from bot.slack.views import admin as views
from bot.slack.views import blocks, forms
from bot.slack.views import tokens as token_views
from bot.slack.views.fallback import fallback, text_message
from bot.store import Run
from bot.store.models import utcnow
from bot.vault import VaultError
from bot.webhooks import conformance, render

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    def admins(step: str, *, quiet: bool = False) -> list[guards.Middleware]:
        return [guards.admin_only(step, quiet=quiet)]

    app.command("/actions-admin", middleware=admins("admin_command"))(command)
    app.view(views.EDIT_MODAL, middleware=admins("admin_edit"))(saved)
    app.action(views.DELETE_BUTTON, middleware=admins("admin_delete"))(delete)
    app.view(views.TEST_MODAL, middleware=admins("admin_test"))(dry_run)
    # A click inside the test modal: a refusal has no message to answer on.
    app.action(views.SEND_TEST, middleware=admins("admin_test_send", quiet=True))(send_test)
    app.action(views.RUNS_PAGE, middleware=admins("admin_runs"))(older_runs)
    app.action(views.RUN_PICK, middleware=admins("admin_run"))(pick_run)
    app.action(re.compile(f"^{views.HOME_BUTTON}:"), middleware=admins("admin_home"))(home_button)
    app.action(re.compile(f"^{views.LIST_BUTTON}:"), middleware=admins("admin_list"))(list_button)
    app.action(views.PUBLISH_BUTTON, middleware=admins("admin_publish"))(publish_button)


async def command(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    await ack()
    words = slack_request.value.split()
    sub = words[0].lower() if words else "list"
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        text = f"Unknown subcommand `{escape(sub)}`.\n{views.HELP}"
        await respond(response_type="ephemeral", **text_message(text))
        return
    await handler(runtime, Call(slack_request, respond, client, slack_request.user_id, words[1:]))


async def saved(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    user_id = slack_request.user_id
    meta = runtime.sealer.open(slack_request.metadata) or {}
    editing = meta.get("edit")
    values = views.read_edit_form(slack_request.state)
    if editing:
        values["id"] = editing
    document, errors = domain.document_from_form(values)
    stored = {a.id: a for a in runtime.store.slack_actions()}
    before = stored[editing].document if editing and editing in stored else None
    if before is not None:
        document["published"] = before.get("published", False)
    if not errors:
        others = [a.document for key, a in stored.items() if key != document.get("id")]
        errors = domain.check_document(
            runtime.document, others, document, source=runtime.settings.ACTIONS_CONFIG
        )
        if not editing and document.get("id") in runtime.catalog().actions:
            errors["id"] = "An action with this id exists already."
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    change = "edit" if editing else "create"
    await save(runtime, user_id, document, change, before, domain.yaml_texts(values))
    await dm(client, user_id, *views.saved_message(document, domain.document_warnings(document)))


async def delete(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    await ack()
    action_id = slack_request.value
    stored = {a.id: a for a in runtime.store.slack_actions()}
    if action_id not in stored:
        await respond(replace_original=True, **text_message(f"`{action_id}` is already gone."))
        return
    event = {"change": "delete", "diff": domain.diff(stored[action_id].document, None)}
    user_id = slack_request.user_id
    await asyncio.to_thread(runtime.store.delete_slack_action, action_id, user_id, event)
    await runtime.refresh_slack_actions(force=True)
    await respond(replace_original=True, **text_message(f"Deleted `{action_id}`."))


async def dry_run(ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest) -> None:
    """The test form was filled in: show the exact request, send nothing yet."""
    catalog = runtime.catalog()
    meta = runtime.sealer.open(slack_request.metadata) or {}
    action = catalog.action(meta.get("action", ""))
    if action is None:
        await ack(response_action="update", view=blocks.notice_modal("Test", "Gone."))
        return
    service = catalog.service(forms.read_service(slack_request.state) or "")
    raw = forms.read_inputs(action, slack_request.state)
    user = await form_user(runtime, slack_request, action)
    checked = _test_inputs(catalog, action, raw, user, service)
    if isinstance(checked, str):
        await ack(response_action="update", view=blocks.notice_modal("Test", checked))
        return
    values, errors = checked
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    # The request as the send will make it: the sender's profile as sending fills it in.
    profile = await runtime.directory.profile(slack_request.user_id)
    sending_user = templates.sender(slack_request.user_id, slack_request.user_name, profile)
    try:
        preview = await _preview(runtime, action, raw, sending_user, values, service)
    except render.RenderError as exc:
        note = f"Nothing would be sent: {exc}"
        await ack(response_action="update", view=blocks.notice_modal("Test", note))
        return
    await ack(response_action="update", view=preview)


def _test_inputs(
    catalog: Catalog,
    action: Action,
    raw: dict[str, Any],
    user: dict[str, Any],
    service: Service | None,
) -> tuple[dict[str, Any], dict[str, str]] | str:
    """The test form's values and its errors by block, or why the form cannot be drawn."""
    fields = form_fields(catalog, action, raw, user, service)
    if isinstance(fields, str):
        return fields
    values, errors = inputs.validate(action, raw, fields)
    if action.scope == "service" and service is None:
        errors["service"] = "Choose a service."
    return values, {(k if k == "service" else forms.error_block(k)): v for k, v in errors.items()}


async def _preview(
    runtime: Runtime,
    action: Action,
    raw: dict[str, Any],
    user: dict[str, Any],
    values: dict[str, Any],
    service: Service | None,
) -> dict[str, Any]:
    """The dry run's modal: the request that would be sent, redacted, and a Send button."""
    rendered = await render.render(
        runtime.settings,
        runtime.catalog(),
        action,
        run_id="dry-run",
        user=user,
        inputs=values,
        service=service,
    )
    # Secret inputs and the callback token by field, credential headers by name.
    redact = runtime.redactor.extended(render.callback_tokens(runtime.settings, "dry-run"))
    request = rendered.shown
    sealed = runtime.sealer.seal(
        # What was typed, not what it became: the send is admitted (validated) again.
        {
            "action": action.id,
            **_with_secrets_encrypted(runtime, action, raw),
            "service": service.id if service else None,
        }
    )
    if len(sealed) > 3000:
        sealed = runtime.sealer.seal({"action": action.id, "too_big": True})
    return views.dry_run_modal(
        action,
        request.method,
        redact(request.url),
        redact(request.headers),
        redact(rendered.shown_payload),
        sealed,
        payload_warnings(action),
    )


async def send_test(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    await ack()
    user_id = slack_request.user_id

    async def show(view: dict[str, Any]) -> None:
        await client.views_update(view_id=slack_request.view_id, view=view)

    catalog = runtime.catalog()
    meta = runtime.sealer.open(slack_request.metadata) or {}
    action = catalog.action(meta.get("action", ""))
    if action is None or meta.get("too_big"):
        text = "The inputs are too large to send from here; use `python -m bot preview`."
        await show(blocks.notice_modal("Test", text))
        return
    try:
        secret = runtime.runner.vault.open(meta["secret"]) if meta.get("secret") else {}
    except VaultError as exc:
        await show(blocks.notice_modal("Test", f"Not sent: {exc}."))
        return
    verdict = await runtime.admission.admit(
        Request(
            action_id=action.id,
            user_id=user_id,
            via=Via.TEST,
            service_id=meta.get("service"),
            inputs={**(meta.get("inputs") or {}), **secret},
        )
    )
    if isinstance(verdict, Refused):
        await runtime.runner.refuse(action.id, user_id, verdict.decision, "admin_test_send")
        await show(blocks.notice_modal("Test", f"Not sent: {verdict.reason}."))
        return
    run, response, error, outcome = await runtime.runner.send_test(
        catalog,
        verdict.action,
        user=templates.sender(
            user_id, slack_request.user_name, await runtime.directory.profile(user_id)
        ),
        inputs=verdict.inputs,
        service=verdict.service,
    )
    seen = (
        blocks.result_message(run, action, catalog.owner_of(action), outcome)[1] if outcome else []
    )
    await show(
        views.test_result_modal(
            action,
            response.status if response else None,
            response.headers if response else {},
            response.text if response else "",
            response.duration_ms if response else None,
            error,
            [b for b in seen if b["type"] != "actions"],  # the thread reply, without Run again
        )
    )


async def older_runs(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    await ack()
    try:
        state = json.loads(slack_request.value or "{}")
    except ValueError:
        state = {}
    state = state if isinstance(state, dict) else {}
    text = " ".join(str(w) for w in state.get("words") or [])
    before = state.get("before")
    found = await runs_page(runtime, text, tuple(before) if before else None)
    await respond(replace_original=True, text="Runs", blocks=found)


async def home_button(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, client: AsyncWebClient
) -> None:
    await ack()
    which = slack_request.value
    trigger = slack_request.trigger_id
    if which == "new":
        await open_editor(runtime, client, trigger, None)
        return
    if which == "runs":
        found = await runs_page(runtime, "", None)
    else:
        found = await list_blocks(runtime)
    await client.views_open(
        trigger_id=trigger,
        view=blocks.modal(
            "Admin",
            [b for b in found if b["type"] != "actions"][:100],
            close=blocks.plain("Close"),
        ),
    )


async def list_button(
    ack: AsyncAck,
    runtime: Runtime,
    slack_request: SlackRequest,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """A button of `list`: Edit, Test, Publish, Unpublish, Runs, or the next page."""
    await ack()
    which = slack_request.action_id.partition(":")[2]
    value = slack_request.value
    call = Call(slack_request, respond, client, slack_request.user_id, [value])
    if which == "page":
        offset = int(value) if value.isdigit() else 0
        found = await list_blocks(runtime, offset=offset)
        await respond(replace_original=True, text="Actions", blocks=found)
    elif which == "edit":
        await _edit(runtime, call)
    elif which == "test":
        await _test(runtime, call)
    elif which == "runs":
        await _runs(
            runtime, Call(slack_request, respond, client, call.user_id, [f"action:{value}"])
        )
    elif which in ("publish", "unpublish"):
        said = await publish(runtime, call.user_id, value, which == "publish")
        # The list is redrawn in place: the button now offers the opposite.
        found = await list_blocks(runtime, note=said)
        await respond(replace_original=True, text=said, blocks=found)


async def publish_button(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    """Publish, offered under "Saved" in the DM: the message says what became of it."""
    await ack()
    said = await publish(runtime, slack_request.user_id, slack_request.value, True)
    await respond(replace_original=True, text=said)


def _with_secrets_encrypted(
    runtime: Runtime, action: Action, values: dict[str, Any]
) -> dict[str, Any]:
    """The test form's inputs for private_metadata, which is signed but readable: secret
    inputs go encrypted (the vault), apart from the others."""
    secret = {
        i.identifier: values[i.identifier]
        for i in action.inputs
        if i.type == "secret" and values.get(i.identifier)
    }
    plain = {k: v for k, v in values.items() if k not in secret}
    return {"inputs": plain, **({"secret": runtime.runner.vault.seal(secret)} if secret else {})}


class Call:
    """One `/actions-admin` invocation."""

    def __init__(
        self,
        request: SlackRequest,
        respond: AsyncRespond,
        client: AsyncWebClient,
        user_id: str,
        words: list[str],
    ) -> None:
        self.request = request
        self.respond = respond
        self.client = client
        self.user_id = user_id
        self.words = words

    async def say(self, text: str, found: list[dict[str, Any]] | None = None) -> None:
        if found is None:
            await self.respond(response_type="ephemeral", **text_message(text))
        else:
            await self.respond(response_type="ephemeral", text=fallback(text), blocks=found)


async def dm(
    client: AsyncWebClient, user_id: str, text: str, found: list[dict[str, Any]] | None = None
) -> None:
    try:
        if found is None:
            await client.chat_postMessage(channel=user_id, **text_message(text))
        else:
            await client.chat_postMessage(channel=user_id, text=fallback(text), blocks=found)
    except SlackApiError as exc:
        log.warning("could not DM %s: %s", user_id, exc)


async def save(
    runtime: Runtime,
    user_id: str,
    document: dict[str, Any],
    change: str,
    before: dict[str, Any] | None,
    written: dict[str, str] | None = None,
) -> None:
    event: dict[str, Any] = {
        "change": change,
        "diff": runtime.redactor(domain.diff(before, document)),
    }
    if written:
        event["written"] = runtime.redactor(written)
    await asyncio.to_thread(
        runtime.store.save_slack_action, str(document["id"]), document, user_id, event
    )
    await runtime.refresh_slack_actions(force=True)


async def list_blocks(runtime: Runtime, *, offset: int = 0, note: str = "") -> list[dict[str, Any]]:
    stats = await asyncio.to_thread(runtime.store.action_stats, utcnow() - timedelta(days=7))
    return views.list_blocks(runtime.catalog(), stats, offset=offset, note=note)


async def runs_page(
    runtime: Runtime, text: str, before: tuple[str, str] | None
) -> list[dict[str, Any]]:
    try:
        query = domain.parse_runs_query(text)
    except domain.QueryError as exc:
        return [blocks.section(f"{exc}.\n\n{views.HELP}")]
    cursor = (datetime.fromisoformat(before[0]), before[1]) if before else None
    runs = await asyncio.to_thread(
        runtime.store.runs_page,
        action_id=query.action,
        user_id=query.user,
        status=query.status,
        since=query.since,
        before=cursor,
        limit=20,
    )
    next_value = None
    if len(runs) == 20:
        last = runs[-1]
        next_value = json.dumps(
            {"words": text.split(), "before": [last.created_at.isoformat(), last.id]}
        )
    return views.runs_blocks(runs, runtime.catalog(), query, next_value)


async def open_editor(
    runtime: Runtime, client: AsyncWebClient, trigger: str | None, document: dict[str, Any] | None
) -> None:
    meta = runtime.sealer.seal({"edit": document.get("id") if document else None})
    written = await asyncio.to_thread(_written, runtime, document) if document else {}
    await client.views_open(
        trigger_id=trigger, view=views.edit_modal(runtime.catalog(), document, meta, written)
    )


def _written(runtime: Runtime, document: dict[str, Any]) -> dict[str, str]:
    """The author's own YAML texts, from the newest save that kept them."""
    events = runtime.store.events(kind="admin")
    for event in reversed(events):
        texts = event.detail.get("written") if event.action_id == document.get("id") else None
        if isinstance(texts, dict):
            return domain.written_texts(document, texts)
    return {}


async def _list(runtime: Runtime, call: Call) -> None:
    await call.say("Actions", await list_blocks(runtime))


async def _help(runtime: Runtime, call: Call) -> None:
    await call.say(views.HELP)


def _target(runtime: Runtime, call: Call) -> tuple[str, dict[str, Any] | None, str | None]:
    """(action id, its Slack document or None, a problem to report)."""
    if not call.words:
        return "", None, "Which action? Give its id."
    return _target_of(runtime, call.words[0])


def _target_of(runtime: Runtime, action_id: str) -> tuple[str, dict[str, Any] | None, str | None]:
    stored = {a.id: a for a in runtime.store.slack_actions()}
    if action_id in stored:
        return action_id, stored[action_id].document, None
    if action_id in runtime.catalog().actions:
        return (
            action_id,
            None,
            (
                f"`{action_id}` is managed in `{runtime.settings.ACTIONS_CONFIG}`: change it there "
                "and run `/actions-admin reload`."
            ),
        )
    return action_id, None, f"No action `{escape(action_id)}`. `/actions-admin list` shows all."


async def _new(runtime: Runtime, call: Call) -> None:
    await open_editor(runtime, call.client, call.request.trigger_id, None)


async def _edit(runtime: Runtime, call: Call) -> None:
    _, document, problem = _target(runtime, call)
    if problem:
        await call.say(problem)
        return
    await open_editor(runtime, call.client, call.request.trigger_id, document)


async def publish(runtime: Runtime, user_id: str, action_id: str, published: bool) -> str:
    """Publish or unpublish an action created in Slack; what happened, in a sentence."""
    action_id, document, problem = _target_of(runtime, action_id)
    if problem or document is None:
        return problem or ""
    state = "published" if published else "a draft"
    if bool(document.get("published")) == published:
        return f"`{action_id}` is already {state}."
    change = "publish" if published else "unpublish"
    await save(runtime, user_id, {**document, "published": published}, change, document)
    return f"`{action_id}` is now {state}."


def _publishing(published: bool) -> Any:
    async def handler(runtime: Runtime, call: Call) -> None:
        if not call.words:
            await call.say("Which action? Give its id.")
            return
        await call.say(await publish(runtime, call.user_id, call.words[0], published))

    return handler


async def _delete(runtime: Runtime, call: Call) -> None:
    action_id, document, problem = _target(runtime, call)
    if problem or document is None:
        await call.say(problem or "")
        return
    button = {
        "type": "button",
        "text": blocks.plain("Delete"),
        "style": "danger",
        "action_id": views.DELETE_BUTTON,
        "value": action_id,
        "confirm": {
            "title": blocks.plain("Delete this action?", 100),
            "text": blocks.plain(
                f"{action_id} will disappear for everyone. Its runs stay in the audit log.", 300
            ),
            "confirm": blocks.plain("Delete", 30),
            "deny": blocks.plain("Keep", 30),
        },
    }
    await call.say(
        f"Delete `{action_id}`?",
        [
            blocks.section(f"Delete `{escape(action_id)}`?"),
            {"type": "actions", "block_id": "delete", "elements": [button]},
        ],
    )


async def _test(runtime: Runtime, call: Call) -> None:
    catalog = runtime.catalog()
    action = catalog.action(call.words[0]) if call.words else None
    if action is None:
        await call.say("Which action? `/actions-admin test <id>`.")
        return
    user = {"id": call.user_id, "name": call.request.user_name or None}
    fields = form_fields(catalog, action, {}, user, None)
    if isinstance(fields, str):
        await call.say(fields)
        return
    view = forms.run_modal(
        action,
        catalog.owner_of(action),
        fields,
        channel_id=None,
        metadata=runtime.sealer.seal({"action": action.id, "test": True}),
        services=catalog.services_for(action),
    )
    await call.client.views_open(
        trigger_id=call.request.trigger_id, view=views.as_test_form(view, action)
    )


async def _runs(runtime: Runtime, call: Call) -> None:
    await call.say("Runs", await runs_page(runtime, " ".join(call.words), None))


async def _run(runtime: Runtime, call: Call) -> None:
    """One run by its id or any unique prefix of it; an ambiguous prefix offers the runs."""
    prefix = domain.run_id_prefix(call.words[0]) if call.words else None
    if prefix is None:
        await call.say("Which run? `/actions-admin run <id>`: the id, or its first characters.")
        return
    found = await asyncio.to_thread(runtime.store.runs_by_prefix, prefix, RUN_CHOICES + 1)
    if not found:
        await call.say(f"No run starts with `{prefix}`. `/actions-admin runs` lists them.")
        return
    exact = [r for r in found if r.id == prefix]
    if len(found) > 1 and not exact:
        names = {a.id: a.name for a in runtime.catalog().actions.values()}
        await call.say(
            "Which run?",
            views.run_choices(prefix, found[:RUN_CHOICES], names, more=len(found) > RUN_CHOICES),
        )
        return
    await call.say("Run", await run_detail(runtime, (exact or found)[0]))


RUN_CHOICES = 10


async def run_detail(runtime: Runtime, run: Run) -> list[dict[str, Any]]:
    events = await asyncio.to_thread(runtime.store.events, run.id)
    # The run's callback tokens are credentials: not shown, even from an event stored before
    # they were redacted.
    redact = runtime.runner.run_redactor(run.id, {})
    events = [e.model_copy(update={"detail": redact(e.detail)}) for e in events]
    action = runtime.catalog().action(run.action_id)
    return views.run_blocks(run, action.name if action else run.action_id, events)


async def pick_run(
    ack: AsyncAck, runtime: Runtime, slack_request: SlackRequest, respond: AsyncRespond
) -> None:
    """A run chosen from an ambiguous prefix's list."""
    await ack()
    run = await asyncio.to_thread(runtime.store.get_run, slack_request.value)
    if run is None:
        await respond(replace_original=True, text="That run no longer exists.")
        return
    await respond(replace_original=True, text="Run", blocks=await run_detail(runtime, run))


async def _export(runtime: Runtime, call: Call) -> None:
    since, fmt = "30d", "csv"
    for word in call.words:
        key, _, value = word.partition(":")
        if key == "since":
            since = value
        elif key == "format" and value in ("csv", "jsonl"):
            fmt = value
        else:
            await call.say("Usage: `/actions-admin export [since:30d] [format:csv|jsonl]`")
            return
    try:
        start = utcnow() - timedelta(seconds=parse_duration(since))
    except ValueError as exc:
        await call.say(f"`since:` {exc}")
        return
    audit = await asyncio.to_thread(
        domain.export_audit,
        runtime.store,
        start,
        utcnow(),
        fmt,
        runtime.redactor,
        partial(render.callback_tokens, runtime.settings),
    )
    documents = [a.document for a in runtime.store.slack_actions()]
    actions_yaml = runtime.redactor(domain.as_yaml({"actions": documents}))
    opened = await call.client.conversations_open(users=call.user_id)
    channel = opened["channel"]["id"]
    await call.client.files_upload_v2(
        channel=channel,
        initial_comment=f"Audit log since {start:%Y-%m-%d %H:%M} UTC, and the actions "
        "created in Slack.",
        file_uploads=[
            {"filename": f"audit.{fmt}", "content": audit, "title": "Audit log"},
            {
                "filename": "slack-actions.yml",
                "content": actions_yaml,
                "title": "Actions created in Slack",
            },
        ],
    )
    event = {"change": "export", "since": start.isoformat(), "format": fmt}
    await asyncio.to_thread(runtime.store.record, "admin", event, actor=call.user_id)
    await call.say("The export is in your direct messages with me.")


async def _reload(runtime: Runtime, call: Call) -> None:
    try:
        loaded = await runtime.reload()
    except ConfigError as exc:
        lines = "\n".join(f"• {escape(e)}" for e in exc.errors[:30])
        await call.say(
            f":x: `{runtime.settings.ACTIONS_CONFIG}` is invalid; the running "
            f"config is kept.\n{lines}"
        )
        return
    await asyncio.to_thread(runtime.store.record, "admin", {"change": "reload"}, actor=call.user_id)
    warnings = "".join(f"\n• {escape(w)}" for w in loaded.warnings[:20])
    await call.say(f"Reloaded: {len(loaded.catalog.actions)} actions.{warnings}")


async def _check_receiver(runtime: Runtime, call: Call) -> None:
    """Send an action's receiver the check's six requests; the scorecard answers privately."""
    catalog = runtime.catalog()
    try:
        action_id, service_id, pairs, force = conformance.parse_words(call.words)
        action = catalog.action(action_id)
        if action is None:
            raise conformance.CheckError(f"no action `{action_id}` (`/actions-admin list`)")
        refused = conformance.refusal(action, force, "add `--force`")
        if refused:
            raise conformance.CheckError(refused)
        values, service = conformance.prepare(catalog, action, service_id, pairs)
    except conformance.CheckError as exc:
        await call.say(f"Not checked: {escape(str(exc))}.\n{USAGE_CHECK}")
        return
    redact = runtime.redactor.extended(
        str(values[i.identifier])
        for i in action.inputs
        if i.type == "secret" and values.get(i.identifier)
    )
    user = {"id": call.user_id, "name": call.request.user_name or None}
    try:
        card = await conformance.check(
            runtime.http,
            runtime.settings,
            catalog,
            action,
            user=user,
            inputs=values,
            service=service,
            redact=redact,
        )
    except conformance.CheckError as exc:
        await call.say(f"Not checked: {escape(redact(str(exc)))}")
        return
    event = {
        "change": "receiver_check",
        "forced": force,
        "url": card.url,
        "results": {str(r.probe.number): r.answer for r in card.results},
        "passed": card.passed,
    }
    await asyncio.to_thread(
        runtime.store.record, "admin", event, action_id=action.id, actor=call.user_id
    )
    await call.say(views.check_text(card))


async def _why(runtime: Runtime, call: Call) -> None:
    """The rules that grant or refuse a run, in order, for someone else."""
    try:
        query = domain.parse_why(call.words)
    except domain.QueryError as exc:
        await call.say(str(exc))
        return
    catalog = runtime.catalog()
    action = catalog.action(query.action)
    service = catalog.find_service(query.service) if query.service else None
    if action is None or (query.service and service is None):
        missing = f"action `{query.action}`" if action is None else f"service `{query.service}`"
        await call.say(f"No {escape(missing)}. `/actions-admin list` shows the actions.")
        return
    who = await runtime.directory.principal(query.user, catalog)
    found = await why.why(
        runtime.policy, catalog, action, who, service=service, inputs=query.inputs
    )
    await call.say("\n".join(found.lines()))


async def _schedules(runtime: Runtime, call: Call) -> None:
    await schedules.show(runtime, call.user_id, call.respond, "all")


USAGE_CHECK = "Usage: `/actions-admin check-receiver <id> [--service s] [key=value …] [--force]`"


async def _tokens(runtime: Runtime, call: Call) -> None:
    """Every API token, with Revoke for the live ones."""
    found = await asyncio.to_thread(runtime.store.tokens)
    await call.say("API tokens", token_views.token_list(found, everyone=True))


SUBCOMMANDS = {
    "list": _list,
    "tokens": _tokens,
    "help": _help,
    "new": _new,
    "edit": _edit,
    "publish": _publishing(True),
    "unpublish": _publishing(False),
    "delete": _delete,
    "test": _test,
    "runs": _runs,
    "run": _run,
    "export": _export,
    "reload": _reload,
    "check-receiver": _check_receiver,
    "why": _why,
    "schedules": _schedules,
}
