"""`/actions-admin`: Block Kit for managing, testing, debugging and auditing actions.

Pure builders; the listeners that use them are in bot.slack.listeners.admin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.access import Principal, is_admin
from bot.admin import EDITED, RunsQuery, as_yaml
from bot.catalog import Access, Action, Catalog
from bot.kinds import RunKind
from bot.mrkdwn import escape, truncate
from bot.slack import limits
from bot.slack.views.blocks import STATUS_ICONS, context, details_button, modal, plain, section
from bot.store import AuditEvent, Run
from bot.webhooks.conformance import DOCS, Scorecard

EDIT_MODAL = "admin_edit"
TEST_MODAL = "admin_test"
SEND_TEST = "admin_send_test"
DELETE_BUTTON = "admin_delete"
RUNS_PAGE = "admin_runs_page"
RUN_PICK = "admin_run_pick"
LIST_BUTTON = "admin_list"  # admin_list:edit | test | publish | unpublish | runs | page
PUBLISH_BUTTON = "admin_publish"  # under "Saved" in the DM
HOME_BUTTON = "admin_home"  # admin_home:list | admin_home:new | admin_home:runs

HELP = (
    "*`/actions-admin` commands*\n"
    "`list` — every action: state, source, owner, runs in 7 days, failure rate\n"
    "`new` · `edit <id>` — create or change an action created in Slack\n"
    "`publish <id>` · `unpublish <id>` · `delete <id>`\n"
    "`test <id>` — fill the form, see the exact request, optionally send it privately\n"
    "`runs [action:<id>] [user:@someone] [status:failure] [since:7d]` — the audit history\n"
    "`run <run-id>` — every step of one run; the first characters of its id are enough\n"
    "`export [since:30d] [format:csv|jsonl]` — Slack-created actions as YAML and the audit "
    "log, as files in your DM\n"
    "`tokens` — every API token, with its last use; revoke any\n"
    "`reload` — re-read the config file (the running config stays if it is invalid)\n"
    "`schedules` — every schedule: pause, resume, delete, run now, next firings\n"
    "`check-receiver <id> [--service s] [key=value …] [--force]` — send the action's receiver "
    "six requests (valid, forged, stale, replayed, retried, altered) and grade its answers\n"
    "`why @user <action> [service]` — the rules that let them run it or refuse, in order: "
    "access, channel, draft, approval"
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


LIST_PAGE = 20  # actions per `list` message: a section and a row of buttons each


def list_blocks(
    catalog: Catalog,
    stats: Mapping[str, tuple[int, int]] | None = None,
    *,
    offset: int = 0,
    note: str = "",
) -> list[dict[str, Any]]:
    """Every action as a section with its buttons: Edit, Test, Publish or Unpublish, Runs."""
    stats = stats or {}
    actions = list(catalog.actions.values())
    page = actions[offset : offset + LIST_PAGE]
    where = f"From `{escape(catalog.source or 'the config file')}` and created in Slack"
    if len(actions) > LIST_PAGE:
        where += f" · {offset + 1}–{offset + len(page)} of {len(actions)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Actions ({len(actions)})", limits.HEADER_TEXT)},
        context(where, note),
    ]
    for action in page:
        blocks += _list_entry(catalog, action, stats.get(action.id, (0, 0)))
    if offset + LIST_PAGE < len(actions):
        more = {"type": "button", "text": plain("More actions"), "action_id": f"{LIST_BUTTON}:page"}
        more["value"] = str(offset + LIST_PAGE)
        blocks.append({"type": "actions", "block_id": "list_pager", "elements": [more]})
    return blocks[: limits.MESSAGE_BLOCKS]


def _list_entry(catalog: Catalog, action: Action, stats: tuple[int, int]) -> list[dict[str, Any]]:
    state = "published" if action.published else "draft"
    made_in_slack = action.id in catalog.slack_ids
    runs, failed = stats
    rate = f"{100 * failed / runs:.0f}% failed" if runs else "no runs"
    owner = catalog.owner_of(action)
    text = (
        f"*{escape(action.name)}* `{action.id}` · {state} · {'Slack' if made_in_slack else 'file'}"
        f"\nowner {escape(owner.name)} · access: {access_text(action)} · "
        f"{runs} runs in 7 days, {rate}"
    )
    buttons = [("test", "Test"), ("runs", "Runs")]
    if made_in_slack:  # actions from the file are changed in the file
        toggle = ("unpublish", "Unpublish") if action.published else ("publish", "Publish")
        buttons = [("edit", "Edit"), buttons[0], toggle, buttons[1]]
    elements = [
        {
            "type": "button",
            "text": plain(label),
            "action_id": f"{LIST_BUTTON}:{name}",
            "value": action.id,
            **({"style": "primary"} if name == "publish" else {}),
        }
        for name, label in buttons
    ]
    return [
        section(text, block_id=f"action:{action.id}"),
        {"type": "actions", "block_id": f"buttons:{action.id}", "elements": elements},
    ]


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
    written: str | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": multiline,
    }
    if placeholder:  # Slack has no code input: an example in the empty field shows the shape
        element["placeholder"] = plain(placeholder, limits.PLACEHOLDER)
    if written:
        element["initial_value"] = written[:3000]
    elif value not in (None, ""):
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


def edit_modal(
    catalog: Catalog,
    document: Mapping[str, Any] | None,
    metadata: str,
    written: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Create (document None) or edit an action created in Slack. ``written``: the author's
    own text of YAML fields (comments, order, quoting), shown instead of a fresh dump."""
    doc = dict(document or {})
    own = dict(written or {})
    if document is None:
        hint = "Lowercase letters, digits and dashes, e.g. restart-worker"
        first = _text("id", "Id", optional=False, hint=hint)
    else:
        first = context(f"Editing `{escape(str(doc.get('id')))}`")
    blocks = [first, *_who_fields(catalog, doc, own), *_webhook_fields(doc, own)]
    if document is not None:  # the saved action, in monospace: how the fields add up
        blocks.append(section("*Saved as (YAML)*\n" + _code(as_yaml(dict(document)), 2900)))
    title = "New action" if document is None else "Edit action"
    return modal(
        title,
        blocks,
        callback_id=EDIT_MODAL,
        private_metadata=metadata,
        submit=plain("Save"),
        close=plain("Cancel"),
    )


def _who_fields(
    catalog: Catalog, doc: dict[str, Any], written: Mapping[str, str]
) -> list[dict[str, Any]]:
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
            written=written.get("access_list"),
        ),
    ]


def _webhook_fields(doc: dict[str, Any], written: Mapping[str, str]) -> list[dict[str, Any]]:
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
        _text(
            "headers",
            "Headers (YAML)",
            hook.get("headers"),
            multiline=True,
            written=written.get("headers"),
            placeholder="Content-Type: application/json",
            hint="YAML: one `Name: value` per line; values are Liquid templates",
        ),
        _text(
            "payload",
            "Payload (Liquid)",
            hook.get("payload"),
            multiline=True,
            hint="JSON with Liquid. Use | json for every value; an invalid JSON shape is refused "
            "with its line and column",
            placeholder='{"title": {{ manualInputs.title | json }}, "by": {{ user.id | json }}}',
        ),
        _text(
            "inputs",
            "Inputs (OpsLevel manual-inputs YAML)",
            doc.get("inputs"),
            multiline=True,
            written=written.get("inputs"),
            placeholder="- {identifier: title, displayName: Title, type: text_input}",
            hint="YAML: a list of inputs, or OpsLevel's {version, inputs} as exported",
        ),
        _text(
            "response_template",
            "Response template (Liquid, Markdown)",
            doc.get("response_template"),
            multiline=True,
            placeholder="Created {{ response.body.key }}: {{ response.body.url }}",
            hint="Liquid over `response.status`, `response.body`, `inputs`; Markdown for Slack",
        ),
        _text(
            "advanced",
            "More settings (YAML)",
            advanced or None,
            multiline=True,
            hint="YAML: retry, async, timeout_after, approval, expires, filter, channels, confirm",
            written=written.get("advanced"),
            placeholder="retry: {attempts: 3}",
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


def as_test_form(view: dict[str, Any], action: Action) -> dict[str, Any]:
    """A run form made the test form. Applied on opening and on every redraw, so a test
    never turns into a real run's form."""
    view.update(
        callback_id=TEST_MODAL,
        title=plain("Test " + action.name, limits.MODAL_TITLE),
        submit=plain("Preview"),
    )
    view["blocks"][-1] = context("Nothing is sent until you press *Send it for real*.")
    return view


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


# What only the real send can know; everything else above is what it will send.
SEND_TIME = (
    "Filled at send time: the run id (`dry-run` here), the signature timestamp and "
    "signatures, an async action's callback URL and token, and `approval.*` after approval. "
    "`user.*` is filled from your Slack profile, as the send fills it."
)


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
        context(SEND_TIME),
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
    seen: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The receiver's answer, raw, beside the thread reply users would see for it."""
    if error:
        summary = f":x: *Not answered*: {escape(error)}"
    else:
        icon = ":white_check_mark:" if status and 200 <= status < 300 else ":x:"
        summary = f"{icon} *HTTP {status}* in {duration_ms or 0:.0f} ms"
    blocks = [section(f"*Test send of {escape(action.name)}*\n{summary}")]
    if seen:
        blocks += [
            {"type": "divider"},
            context("*What users will see* in the run's thread"),
            *seen,
            {"type": "divider"},
            context("*The raw response*"),
        ]
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


def input_value(kind: str | None, value: Any) -> str:
    """One input's value as a person reads it: people and channels as mentions, text as
    written (escaped), lists joined."""
    if isinstance(value, list):
        return ", ".join(input_value(kind, v) for v in value) or "—"
    if kind in ("user", "users") and isinstance(value, str) and value[:1] in ("U", "W"):
        return f"<@{escape(value)}>"
    if kind == "channel" and isinstance(value, str) and value[:1] in ("C", "G"):
        return f"<#{escape(value)}>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(truncate(str(value), 200)) if value not in (None, "") else "—"


def inputs_text(action: Action | None, inputs: Mapping[str, Any]) -> str:
    """A run's inputs by label (`Title: Disk full · Who: @ada`), within a line's room."""
    parts = []
    for key, value in inputs.items():
        item = action.input(key) if action else None
        label = escape(item.displayName if item else key)
        parts.append(f"{label}: {input_value(item.type if item else None, value)}")
    text = " · ".join(parts)
    return text if len(text) <= 600 else text[:600] + "…"


def _run_label(run: Run, name: str) -> str:
    """`*Grant access*`, or `↩ *Revert of Grant access*` for an expiry's undo."""
    if run.kind == RunKind.REVERT:
        return f"↩ *Revert of {name}*" + (f" (run `{run.parent_id[:8]}`)" if run.parent_id else "")
    return f"*{name}*"


def runs_blocks(
    runs: Sequence[Run], catalog: Catalog, query: RunsQuery, next_value: str | None
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
        action = catalog.action(run.action_id)
        name = escape(action.name if action else run.action_id)
        status = run.status.lower().replace("_", " ")
        lines.append(
            f"{STATUS_ICONS.get(run.status, '')} {_run_label(run, name)}"
            f" by <@{run.user_id}> · {_when(run.created_at)} · {status}{took}{test}"
            f"\n      `{run.id}` · {inputs_text(action, run.inputs) or 'no inputs'}"
        )
    blocks += _chunks(lines)
    blocks.append(_details_buttons(runs, catalog))
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


def _details_buttons(runs: Sequence[Run], catalog: Catalog) -> dict[str, Any]:
    """A Details button per run listed (the detail view, as its requester would see it)."""
    return {
        "type": "actions",
        "block_id": "runs_details",
        "elements": [
            {
                **details_button(run.id),
                "text": plain(
                    f"Details: {_name(catalog, run.action_id)} {run.id[:8]}",
                    limits.BUTTON_TEXT,
                ),
            }
            for run in runs[:25]
        ],
    }


def _name(catalog: Catalog, action_id: str) -> str:
    action = catalog.action(action_id)
    return action.name if action else action_id


def run_choices(
    prefix: str, runs: Sequence[Run], names: Mapping[str, str], *, more: bool = False
) -> list[dict[str, Any]]:
    """An ambiguous run id prefix: the runs it matches, each with a button to open it."""
    blocks: list[dict[str, Any]] = [
        section(f"More than one run starts with `{escape(prefix)}`. Which one?")
    ]
    for run in runs:
        name = escape(names.get(run.action_id, run.action_id))
        blocks.append(
            {
                "type": "section",
                "block_id": f"pick:{run.id}",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{STATUS_ICONS.get(run.status, '')} *{name}* by <@{run.user_id}>"
                    f" · {_when(run.created_at)} · {run.status.lower()}\n`{run.id}`",
                },
                "accessory": {
                    "type": "button",
                    "text": plain("Show"),
                    "action_id": RUN_PICK,
                    "value": run.id,
                },
            }
        )
    if more:
        blocks.append(context(f"Only the newest {len(runs)} are shown: type more of the id."))
    return blocks


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


def saved_message(
    document: Mapping[str, Any], warnings: Sequence[str]
) -> tuple[str, list[dict[str, Any]]]:
    """The DM after saving an action made in Slack: a draft offers Publish as a button."""
    action_id = str(document.get("id"))
    state = "published" if document.get("published") else "a draft"
    text = f"Saved `{escape(action_id)}` ({state})." + warnings_text(warnings)
    found: list[dict[str, Any]] = [section(text)]
    if not document.get("published"):
        button = {
            "type": "button",
            "text": plain("Publish"),
            "style": "primary",
            "action_id": PUBLISH_BUTTON,
            "value": action_id,
        }
        found.append({"type": "actions", "block_id": "publish", "elements": [button]})
    return f"Saved {action_id} ({state}).", found


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
