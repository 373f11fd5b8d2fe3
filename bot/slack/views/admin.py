"""`/actions-admin`: Block Kit for managing, testing, debugging and auditing actions.

Pure builders; the listeners that use them are in bot.slack.listeners.admin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.access import Principal, is_admin
from bot.admin import RunsQuery, as_yaml
from bot.catalog import Access, Action, Catalog
from bot.mrkdwn import escape, truncate
from bot.slack import limits
from bot.slack.views.blocks import STATUS_ICONS, context, modal, plain, section
from bot.store import AuditEvent, Run
from bot.webhooks.conformance import DOCS, Scorecard

EDIT_MODAL = "admin_edit"
TEST_MODAL = "admin_test"
SEND_TEST = "admin_send_test"
DELETE_BUTTON = "admin_delete"
RUNS_PAGE = "admin_runs_page"
HOME_BUTTON = "admin_home"  # admin_home:list | admin_home:new | admin_home:runs

HELP = (
    "*`/actions-admin` commands*\n"
    "`list` — every action: state, source, owner, runs in 7 days, failure rate\n"
    "`new` · `edit <id>` — create or change an action created in Slack\n"
    "`publish <id>` · `unpublish <id>` · `delete <id>`\n"
    "`test <id>` — fill the form, see the exact request, optionally send it privately\n"
    "`runs [action:<id>] [user:@someone] [status:failure] [since:7d]` — the audit history\n"
    "`run <run-id>` — every step of one run\n"
    "`export [since:30d] [format:csv|jsonl]` — Slack-created actions as YAML and the audit "
    "log, as files in your DM\n"
    "`reload` — re-read the config file (the running config stays if it is invalid)\n"
    "`check-receiver <id> [--service s] [key=value …] [--force]` — send the action's receiver "
    "six requests (valid, forged, stale, replayed, retried, altered) and grade its answers"
)


def access_text(action: Action) -> str:
    rule = action.access
    if not isinstance(rule, Access):
        return rule
    parts = [
        *(f"team {t}" for t in rule.teams),
        *(f"<@{u}>" for u in rule.users),
        *(f"<!subteam^{g}>" for g in rule.usergroups),
    ]
    return ", ".join(parts) or "admins"


def _chunks(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Lines packed into sections, each within Slack's text limit."""
    blocks: list[dict[str, Any]] = []
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > limits.SECTION_TEXT - 10:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks


def list_blocks(
    catalog: Catalog, stats: Mapping[str, tuple[int, int]] | None = None
) -> list[dict[str, Any]]:
    stats = stats or {}
    actions = list(catalog.actions.values())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Actions ({len(actions)})", limits.HEADER_TEXT)},
        context(f"From `{escape(catalog.source or 'the config file')}` and created in Slack"),
    ]
    lines = []
    for action in actions:
        state = "published" if action.published else "draft"
        source = "Slack" if action.id in catalog.slack_ids else "file"
        runs, failed = stats.get(action.id, (0, 0))
        rate = f"{100 * failed / runs:.0f}% failed" if runs else "no runs"
        owner = catalog.owner_of(action)
        lines.append(
            f"• *{escape(action.name)}* `{action.id}` · {state} · {source} · "
            f"owner {escape(owner.name)} · access: {access_text(action)} · "
            f"{runs} runs in 7 days, {rate}"
        )
    return (blocks + _chunks(lines))[: limits.MESSAGE_BLOCKS]


def home_section(catalog: Catalog, who: Principal) -> list[dict[str, Any]]:
    if not is_admin(catalog, who):
        return []
    buttons = [
        {"type": "button", "text": plain(text), "action_id": f"{HOME_BUTTON}:{name}", "value": name}
        for name, text in (("list", "All actions"), ("new", "New action"), ("runs", "Recent runs"))
    ]
    return [
        section("*Admin*  ·  `/actions-admin help` lists every command"),
        {"type": "actions", "block_id": "admin", "elements": buttons},
    ]


# --- the edit form ------------------------------------------------------------------------


def _text(
    block_id: str,
    label: str,
    value: Any = None,
    *,
    multiline: bool = False,
    optional: bool = True,
    hint: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": multiline,
    }
    if value not in (None, ""):
        text = value if isinstance(value, str) else as_yaml(value).strip()
        element["initial_value"] = text[:3000]
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _select(
    block_id: str, label: str, choices: Sequence[tuple[str, str]], value: str | None
) -> dict[str, Any]:
    options = [{"text": plain(text, 75), "value": key} for key, text in choices]
    element: dict[str, Any] = {"type": "static_select", "action_id": block_id, "options": options}
    chosen = next((o for o in options if o["value"] == value), None)
    if chosen:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "label": plain(label), "element": element}


# The fields the edit form shows one by one; anything else goes under "More settings".
EDITED = (
    "id",
    "name",
    "description",
    "category",
    "owner",
    "scope",
    "access",
    "webhook",
    "inputs",
    "response_template",
    "published",
)


def edit_modal(
    catalog: Catalog, document: Mapping[str, Any] | None, metadata: str
) -> dict[str, Any]:
    """Create (document None) or edit an action created in Slack."""
    doc = dict(document or {})
    if document is None:
        hint = "Lowercase letters, digits and dashes, e.g. restart-worker"
        first = _text("id", "Id", optional=False, hint=hint)
    else:
        first = context(f"Editing `{escape(str(doc.get('id')))}`")
    blocks = [first, *_who_fields(catalog, doc), *_webhook_fields(doc)]
    title = "New action" if document is None else "Edit action"
    return modal(
        title,
        blocks,
        callback_id=EDIT_MODAL,
        private_metadata=metadata,
        submit=plain("Save"),
        close=plain("Cancel"),
    )


def _who_fields(catalog: Catalog, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Name, description, owner, scope and who may run it."""
    access = doc.get("access", "everyone")
    teams = [(t.id, t.name) for t in catalog.teams.values()][:100]
    return [
        _text("name", "Name", doc.get("name"), optional=False),
        _text("description", "Description", doc.get("description")),
        _text("category", "Category", doc.get("category")),
        _select("owner", "Owner team", teams, doc.get("owner")),
        _select(
            "scope",
            "Scope",
            [("global", "Global"), ("service", "Runs on a service")],
            doc.get("scope", "global"),
        ),
        _select(
            "access",
            "Who may run it",
            [
                ("everyone", "Everyone"),
                ("admins", "Admins"),
                ("service_owners", "The service's owner team"),
                ("list", "The list below"),
            ],
            access if isinstance(access, str) else "list",
        ),
        _text(
            "access_list",
            "Access list (YAML)",
            access if not isinstance(access, str) else None,
            multiline=True,
            hint="teams: [...], users: [...], usergroups: [...]",
        ),
    ]


def _webhook_fields(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The request: method, URL, headers, payload; inputs, result and the rest."""
    hook = doc.get("webhook") or {}
    advanced = {k: v for k, v in doc.items() if k not in EDITED}
    return [
        _select(
            "method",
            "Method",
            [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")],
            str(hook.get("method", "POST")).upper(),
        ),
        _text("url", "URL", hook.get("url"), optional=False, hint="A Liquid template"),
        _text("headers", "Headers (YAML)", hook.get("headers"), multiline=True),
        _text(
            "payload",
            "Payload (Liquid)",
            hook.get("payload"),
            multiline=True,
            hint='Use | json for every value: {"title": {{ manualInputs.title | json }}}',
        ),
        _text("inputs", "Inputs (OpsLevel manual-inputs YAML)", doc.get("inputs"), multiline=True),
        _text(
            "response_template",
            "Response template (Liquid, Markdown)",
            doc.get("response_template"),
            multiline=True,
        ),
        _text(
            "advanced",
            "More settings (YAML)",
            advanced or None,
            multiline=True,
            hint="retry, async, timeout_after, approval, expires, filter, channels, confirm",
        ),
    ]


def read_edit_form(state: Any) -> dict[str, str | None]:
    values = state.get("values") if isinstance(state, dict) else None
    found: dict[str, str | None] = {}
    for block_id, block in (values or {}).items():
        element = (block or {}).get(block_id) or {}
        option = element.get("selected_option")
        found[block_id] = option.get("value") if isinstance(option, dict) else element.get("value")
    return found


# --- test: dry run and private send ---------------------------------------------------


def _code(text: str, limit: int = 2800) -> str:
    return f"```{escape(truncate(text.replace('```', 'ˋˋˋ'), limit)) or ' '}```"


def request_blocks(
    method: str, url: str, headers: Mapping[str, str], body: str
) -> list[dict[str, Any]]:
    head = "\n".join(f"{k}: {v}" for k, v in headers.items())
    return [
        section(f"*{escape(method)}* `{escape(truncate(url, 2000))}`"),
        section("*Headers*\n" + _code(head)),
        section("*Body*\n" + _code(body or "(empty)")),
    ]


def dry_run_modal(
    action: Action,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: str,
    metadata: str,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    blocks = [
        section(
            f"*Dry run of {escape(action.name)}*: this is the exact request. Nothing was "
            "sent. Secrets are shown as `[REDACTED]`; both signatures are the real ones "
            "for this moment."
        ),
        *([context(warnings_text(warnings).strip())] if warnings else []),
        *request_blocks(method, url, headers, body),
        {
            "type": "actions",
            "block_id": "send",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Send it for real"),
                    "style": "danger",
                    "action_id": SEND_TEST,
                    "value": "send",
                    "confirm": {
                        "title": plain("Send to the receiver?", 100),
                        "text": plain(
                            "The receiver gets this request now. The result is "
                            "shown here only and marked as a test in the audit "
                            "log.",
                            300,
                        ),
                        "confirm": plain("Send", 30),
                        "deny": plain("Cancel", 30),
                    },
                }
            ],
        },
    ]
    return modal("Test " + action.name, blocks, private_metadata=metadata, close=plain("Close"))


def test_result_modal(
    action: Action,
    status: int | None,
    headers: Mapping[str, str],
    body: str,
    duration_ms: float | None,
    error: str | None,
) -> dict[str, Any]:
    if error:
        summary = f":x: *Not answered*: {escape(error)}"
    else:
        icon = ":white_check_mark:" if status and 200 <= status < 300 else ":x:"
        summary = f"{icon} *HTTP {status}* in {duration_ms or 0:.0f} ms"
    blocks = [section(f"*Test send of {escape(action.name)}*\n{summary}")]
    if not error:
        head = "\n".join(f"{k}: {v}" for k, v in headers.items())
        blocks += [
            section("*Response headers*\n" + _code(head)),
            section("*Response body*\n" + _code(body or "(empty)")),
        ]
    blocks.append(context("Recorded in the audit log as a test run; nothing was posted."))
    return modal("Test " + action.name, blocks, close=plain("Close"))


# --- the audit log ----------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short}} {{time}}|{moment:%Y-%m-%d %H:%M}>"


def _inputs_text(inputs: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in inputs.items())
    return escape(truncate(text, 300)) if text else "no inputs"


def runs_blocks(
    runs: Sequence[Run], names: Mapping[str, str], query: RunsQuery, next_value: str | None
) -> list[dict[str, Any]]:
    filters = " ".join(
        f"{k}:{v}"
        for k, v in (
            ("action", query.action),
            ("user", f"<@{query.user}>" if query.user else None),
            ("status", query.status.lower() if query.status else None),
            ("since", f"{query.since:%Y-%m-%d %H:%M}" if query.since else None),
        )
        if v
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("Runs", limits.HEADER_TEXT)},
        context(f"Newest first · {filters or 'all runs'}"),
    ]
    if not runs:
        return [*blocks, section("No runs match.")]
    lines = []
    for run in runs:
        took = ""
        if run.finished_at:
            took = f" · {(run.finished_at - run.created_at).total_seconds():.1f} s"
        test = " · test" if run.is_test else ""
        name = escape(names.get(run.action_id, run.action_id))
        lines.append(
            f"{STATUS_ICONS.get(run.status, '')} *{name}*"
            f" by <@{run.user_id}> · {_when(run.created_at)} · {run.status.lower()}{took}{test}"
            f"\n      `{run.id}` · {_inputs_text(run.inputs)}"
        )
    blocks += _chunks(lines)
    if next_value:
        blocks.append(
            {
                "type": "actions",
                "block_id": "runs_pager",
                "elements": [
                    {
                        "type": "button",
                        "text": plain("Older runs"),
                        "action_id": RUNS_PAGE,
                        "value": next_value,
                    }
                ],
            }
        )
    return blocks[: limits.MESSAGE_BLOCKS]


def run_blocks(run: Run, action_name: str, events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    """The debug view of one run: every audit event in order."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Run of {action_name}", limits.HEADER_TEXT)},
        context(
            f"`{run.id}` · <@{run.user_id}> · {run.status.lower()} · "
            f"started {_when(run.created_at)}"
            + (f" · <{run.permalink}|thread>" if run.permalink else "")
        ),
    ]
    room = limits.MESSAGE_BLOCKS - len(blocks) - 1
    shown = list(events)[:room]
    for event in shown:
        detail = json.dumps(event.detail, indent=1, default=str, ensure_ascii=False)
        who = f" · <@{event.actor}>" if event.actor else ""
        blocks.append(
            section(f"*{escape(event.kind)}* · {_when(event.at)}{who}\n" + _code(detail, 2600))
        )
    note = (
        "Long texts are cut for Slack. The full text of every event is in the "
        "`audit_event` table (see `python -m bot audit export`)."
    )
    if len(events) > len(shown):
        note = f"{len(events) - len(shown)} more events not shown. " + note
    blocks.append(context(note))
    return blocks


def warnings_text(warnings: Sequence[str]) -> str:
    """Config warnings for an admin: allowed, but worth fixing."""
    return "".join(f"\n:warning: {escape(w)}" for w in warnings[:10])


def check_text(card: Scorecard) -> str:
    """The receiver check's scorecard; the receiver's URL is shown as code, escaped."""
    lines = [f"*Receiver check of `{escape(card.action.id)}`*: {card.method} `{escape(card.url)}`"]
    for result in card.results:
        mark = ":white_check_mark:" if result.passed else ":x:"
        probe = result.probe
        lines.append(f"{mark} {probe.number}. {escape(probe.title)}: {escape(result.answer)}")
        if not result.passed:
            lines.append(f"        {escape(result.explain())}")
    lines.append(f"*{card.summary}.* How receivers verify signatures: {DOCS}")
    return "\n".join(lines)
