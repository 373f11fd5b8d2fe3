"""Block Kit builders: pure functions from domain objects to Slack views and messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.access import Decision
from bot.catalog import Action, Catalog, Input, Option, Service, Team
from bot.mrkdwn import escape, to_mrkdwn, truncate
from bot.runs import Outcome
from bot.slack import limits
from bot.store import Run

RUN_BUTTON = "run_action"
PAGE_BUTTON = "catalog_page"
RUN_MODAL = "run_action_modal"
CANCEL_BUTTON = "cancel_run"
RERUN_BUTTON = "rerun"
SERVICE_BLOCK = "service"
INPUT_PREFIX = "input:"
CARDS_PER_MESSAGE = 15  # 3 blocks a card, within 50 blocks per message
CARDS_PER_VIEW = 30  # within 100 blocks per Home tab


@dataclass(frozen=True)
class Card:
    action: Action
    owner: Team
    decision: Decision


# --- small pieces ---------------------------------------------------------------------


def plain(text: str, limit: int = limits.SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def md(text: str, limit: int = limits.SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": md(text), **extra}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [md(t, limits.CONTEXT_TEXT) for t in texts if t]}


def channel_ref(team: Team) -> str:
    return f"<#{team.channel}>" if team.channel else ""


def ask_owner(team: Team) -> str:
    where = f" in {channel_ref(team)}" if team.channel else ""
    return f"Ask *{escape(team.name)}*{where}"


def _option(option: Option) -> dict[str, Any]:
    return {"text": plain(option.label, limits.OPTION_TEXT), "value": option.value}


def _modal(title: str, blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain(title, limits.MODAL_TITLE), "blocks": blocks, **extra}


# --- the catalog: cards ---------------------------------------------------------------


def card_blocks(card: Card) -> list[dict[str, Any]]:
    action, owner, decision = card.action, card.owner, card.decision
    title = f"*{escape(action.name)}*"
    if not action.published:
        title += "  `draft`"
    text = f"{title}\n{escape(action.description)}" if action.description else title
    block = section(text, block_id=f"card:{action.id}")
    if decision:
        block["accessory"] = {
            "type": "button",
            "text": plain("Run", limits.BUTTON_TEXT),
            "action_id": RUN_BUTTON,
            "value": action.id,
            "style": "primary",
        }
    notes = [
        f"Owner: *{escape(owner.name)}*" + (f" · {channel_ref(owner)}" if owner.channel else "")
    ]
    if action.scope == "service":
        notes.append("Runs on a service")
    lines = [" · ".join(notes)]
    if not decision:
        lines.append(
            f":lock: You can't run this: {decision.reason}. {ask_owner(owner)} for access."
        )
    return [block, context(*lines)]


def _page(cards: Sequence[Card], page: int, per_page: int) -> tuple[Sequence[Card], int, int]:
    pages = max(1, -(-len(cards) // per_page))
    page = min(max(page, 0), pages - 1)
    return cards[page * per_page : (page + 1) * per_page], page, pages


def _pager(page: int, pages: int, total: int, shown: int, per_page: int) -> list[dict[str, Any]]:
    first = page * per_page + 1
    blocks = [context(f"Showing {first}–{first + shown - 1} of {total} actions")]
    buttons = []
    if page > 0:
        buttons.append(
            {
                "type": "button",
                "text": plain("Previous"),
                "action_id": f"{PAGE_BUTTON}:prev",
                "value": str(page - 1),
            }
        )
    if page < pages - 1:
        buttons.append(
            {
                "type": "button",
                "text": plain("Next"),
                "action_id": f"{PAGE_BUTTON}:next",
                "value": str(page + 1),
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "pager", "elements": buttons})
    return blocks


def catalog_blocks(
    cards: Sequence[Card], *, page: int = 0, per_page: int = CARDS_PER_MESSAGE
) -> list[dict[str, Any]]:
    """The /actions message (and the body of the Home tab): a page of cards."""
    header = {"type": "header", "text": plain("Self-service actions", limits.HEADER_TEXT)}
    if not cards:
        return [header, section("No actions are configured yet.")]
    shown, page, pages = _page(cards, page, per_page)
    blocks: list[dict[str, Any]] = [header]
    for card in shown:
        blocks += [{"type": "divider"}, *card_blocks(card)]
    if pages > 1:
        blocks += _pager(page, pages, len(cards), len(shown), per_page)
    return blocks


def home_view(cards: Sequence[Card], *, page: int = 0) -> dict[str, Any]:
    blocks = catalog_blocks(cards, page=page, per_page=CARDS_PER_VIEW)
    blocks.insert(
        1,
        context("Pick an action and press *Run*. Type `/actions` in any channel to run it there."),
    )
    return {"type": "home", "blocks": blocks}


def admin_list_blocks(catalog: Catalog) -> list[dict[str, Any]]:
    actions = list(catalog.actions.values())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Actions ({len(actions)})", limits.HEADER_TEXT)},
        context(f"Managed in `{escape(catalog.source or 'the config file')}`"),
    ]
    lines = []
    for action in actions:
        state = "published" if action.published else "draft"
        owner = catalog.owner_of(action)
        lines.append(
            f"• *{escape(action.name)}* `{action.id}` · {state} · access: {action.access} · "
            f"scope: {action.scope} · owner: {escape(owner.name)}"
        )
    # Many actions: several sections, each within Slack's text limit.
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > limits.SECTION_TEXT - 10:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks[: limits.MESSAGE_BLOCKS]


# --- the run modal ----------------------------------------------------------------------


def input_element(item: Input, value: str | None = None) -> dict[str, Any]:
    """The Slack element for an input, showing ``value`` (a re-run) or the default."""
    initial = value if value not in (None, "") else item.defaultValue
    if item.type == "dropdown":
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": item.identifier,
            "options": [_option(o) for o in item.values],
        }
        chosen = item.option(initial) if initial else None
        if chosen:
            element["initial_option"] = _option(chosen)
    else:
        element = {"type": "plain_text_input", "action_id": item.identifier}
        if item.type == "text_area":
            element["multiline"] = True
        if initial:
            element["initial_value"] = initial
        if item.maxLength:
            element["max_length"] = item.maxLength
        if item.minLength:
            element["min_length"] = item.minLength
    if item.placeholder:
        element["placeholder"] = plain(item.placeholder, 150)
    return element


def input_block(item: Input, value: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": INPUT_PREFIX + item.identifier,
        "label": plain(item.displayName, 2000),
        "element": input_element(item, value),
        "optional": not item.required,
    }
    if item.description:
        block["hint"] = plain(item.description, 2000)
    return block


def service_block(services: Sequence[Service], selected: Service | None) -> dict[str, Any]:
    options = [
        {"text": plain(s.name, limits.OPTION_TEXT), "value": s.id}
        for s in services[: limits.STATIC_OPTIONS]
    ]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": SERVICE_BLOCK,
        "options": options,
        "placeholder": plain("Choose a service"),
    }
    if selected:
        element["initial_option"] = {"text": plain(selected.name, 75), "value": selected.id}
    return {
        "type": "input",
        "block_id": SERVICE_BLOCK,
        "label": plain("Service"),
        "element": element,
    }


def run_modal(
    action: Action,
    owner: Team,
    *,
    channel_id: str | None,
    metadata: str,
    services: Sequence[Service] = (),
    service: Service | None = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The form for one action, prefilled with ``values`` for a re-run.

    ``metadata`` (the sealed action and channel) comes back with the submission.
    """
    intro = f"*{escape(action.name)}*"
    if action.description:
        intro += f"\n{escape(action.description)}"
    blocks: list[dict[str, Any]] = [
        section(intro),
        context(
            f"Owner: *{escape(owner.name)}*" + (f" · {channel_ref(owner)}" if owner.channel else "")
        ),
    ]
    if action.scope == "service":
        blocks.append(service_block(services, service))
    values = values or {}
    blocks += [input_block(i, values.get(i.identifier)) for i in action.inputs]
    where = f"<#{channel_id}>" if channel_id else "your direct messages with me"
    blocks.append(context(f"The result will be posted in {where}."))
    return _modal(
        action.name,
        blocks,
        callback_id=RUN_MODAL,
        private_metadata=metadata,
        submit=plain("Run", limits.MODAL_TITLE),
        close=plain("Cancel", limits.MODAL_TITLE),
    )


def notice_modal(title: str, text: str) -> dict[str, Any]:
    return _modal(title, [section(text)], close=plain("Close", limits.MODAL_TITLE))


def refusal_modal(action: Action, owner: Team, decision: Decision) -> dict[str, Any]:
    return notice_modal(
        "Not allowed",
        f":lock: You can't run *{escape(action.name)}*: {decision.reason}.\n"
        f"{ask_owner(owner)} for access.",
    )


def running_modal(action: Action, channel_id: str | None) -> dict[str, Any]:
    where = f"<#{channel_id}>" if channel_id else "your direct messages with me"
    return notice_modal(
        action.name,
        f":hourglass_flowing_sand: Running *{escape(action.name)}*…\n"
        f"The result will appear in {where}, in a thread.",
    )


def result_modal(action: Action, outcome: Outcome, permalink: str | None) -> dict[str, Any]:
    status = outcome.final_status or ("SUCCESS" if outcome.ok else "FAILURE")
    icon = STATUS_ICONS.get(status, ":x:")
    text = f"{icon} *{escape(action.name)}* {STATUS_WORDS.get(status, 'finished')}."
    if permalink:
        text += f"\n<{permalink}|See the result in the thread>"
    return notice_modal(action.name, text)


# --- messages about a run ---------------------------------------------------------------


def _input_fields(action: Action, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    fields = []
    for item in action.inputs[: limits.SECTION_FIELDS]:
        value = inputs.get(item.identifier)
        if value in (None, ""):
            continue
        if item.type == "dropdown" and (option := item.option(str(value))):
            value = option.label
        shown = escape(truncate(str(value), 300))
        fields.append(md(f"*{escape(item.displayName)}*\n{shown}", limits.SECTION_FIELD))
    return fields


STATUS_ICONS = {
    "PENDING": ":hourglass_flowing_sand:",
    "RUNNING": ":arrows_counterclockwise:",
    "SUCCESS": ":white_check_mark:",
    "FAILURE": ":x:",
    "TIMED_OUT": ":alarm_clock:",
    "CANCELLED": ":no_entry_sign:",
}
STATUS_WORDS = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "TIMED_OUT": "timed out",
    "CANCELLED": "was cancelled",
}


def _links(links: Sequence[dict[str, str]]) -> str:
    return " · ".join(
        f"<{link['url']}|{escape(link.get('text') or link['url'])}>" for link in links[:10]
    )


def status_message(
    run: Run,
    action: Action,
    service: Service | None,
    *,
    status: str | None = None,
    note: str | None = None,
    links: Sequence[dict[str, str]] = (),
    duration_ms: float | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The channel message for a run: posted when it starts, edited as it goes."""
    status = status or run.status
    on = f" on *{escape(service.name)}*" if service else ""
    icon = STATUS_ICONS.get(status, ":grey_question:")
    if status in STATUS_WORDS:
        text = f"{icon} <@{run.user_id}> ran *{escape(action.name)}*{on} — {STATUS_WORDS[status]}"
    else:
        text = f"{icon} <@{run.user_id}> is running *{escape(action.name)}*{on}…"
    blocks: list[dict[str, Any]] = [section(text)]
    fields = _input_fields(action, run.inputs)
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if note:
        blocks.append(section(to_mrkdwn(note)))
    if links:
        blocks.append(section(_links(links)))
    footer = f"Run `{run.id[:8]}`"
    if duration_ms is not None:
        footer += f" · {duration_ms:.0f} ms"
    blocks.append(context(footer))
    if status == "PENDING":
        cancel = {
            "type": "button",
            "text": plain("Cancel"),
            "action_id": CANCEL_BUTTON,
            "value": run.id,
            "style": "danger",
            "confirm": {
                "title": plain("Cancel this run?", 100),
                "text": plain("It will not be sent if it has not been sent yet.", 300),
                "confirm": plain("Cancel run", 30),
                "deny": plain("Keep it", 30),
            },
        }
        blocks.append({"type": "actions", "block_id": "run_controls", "elements": [cancel]})
    plain_text = f"{action.name}{on.replace('*', '')}: {status.lower().replace('_', ' ')}"
    return plain_text, blocks


def result_message(
    run: Run, action: Action, owner: Team, outcome: Outcome
) -> tuple[str, list[dict[str, Any]]]:
    """The thread reply: the owner's response template, rendered, plus help on failure."""
    blocks = [section(to_mrkdwn(outcome.message))]
    if outcome.links:
        blocks.append(section(_links(outcome.links)))
    if outcome.log:
        # A receiver's log, shown as code; fences inside it would end the block early.
        text = truncate(escape(outcome.log.replace("```", "ˋˋˋ")), limits.SECTION_TEXT - 10)
        blocks.append(section(f"```{text}```"))
    if not outcome.ok:
        blocks.append(context(f"Need help? {ask_owner(owner)}, who own *{escape(action.name)}*."))
    rerun = {
        "type": "button",
        "text": plain("Run again"),
        "action_id": RERUN_BUTTON,
        "value": run.id,
    }
    blocks.append({"type": "actions", "block_id": "result_controls", "elements": [rerun]})
    fallback = truncate(outcome.message, 300) or action.name
    return fallback, blocks


def refusal_text(action: Action, owner: Team, decision: Decision) -> str:
    return f":lock: You can't run *{escape(action.name)}*: {decision.reason}. {ask_owner(owner)}."
