"""Block Kit builders: pure functions from domain objects to Slack views and messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.access import Decision
from bot.catalog import Action, Input, Option, Service, Team
from bot.mrkdwn import escape, safe_url, to_mrkdwn, truncate
from bot.runs import Outcome
from bot.slack import limits
from bot.store import Run

RUN_MODAL = "run_action_modal"
CANCEL_BUTTON = "cancel_run"
RERUN_BUTTON = "rerun"
SERVICE_BLOCK = "service"
INPUT_PREFIX = "input:"


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


def option(choice: Option) -> dict[str, Any]:
    return {"text": plain(choice.label, limits.OPTION_TEXT), "value": choice.value}


def modal(title: str, blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain(title, limits.MODAL_TITLE), "blocks": blocks, **extra}


# --- modals -------------------------------------------------------------------------------


def notice_modal(title: str, text: str) -> dict[str, Any]:
    return modal(title, [section(text)], close=plain("Close", limits.MODAL_TITLE))


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


def shown_value(item: Input, value: Any) -> str:
    """An input's value as mrkdwn for people to read: labels, mentions, secrets masked."""
    if item.type == "secret":
        return "••••••"
    if item.type == "checkbox":
        return "Yes" if value else "No"
    values = value if isinstance(value, list) else [value]
    parts = []
    for one in values:
        if item.type in ("user", "users"):
            parts.append(f"<@{escape(str(one))}>")
        elif item.type == "channel":
            parts.append(f"<#{escape(str(one))}>")
        else:
            option = item.option(str(one))
            parts.append(escape(truncate(option.label if option else str(one), 300)))
    return ", ".join(parts)


def _input_fields(action: Action, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for item in action.inputs:
        value = inputs.get(item.identifier)
        if value in (None, "", []) or len(fields) == limits.SECTION_FIELDS:
            continue
        text = f"*{escape(item.displayName)}*\n{shown_value(item, value)}"
        fields.append(md(text, limits.SECTION_FIELD))
    return fields


STATUS_ICONS = {
    "PENDING": ":hourglass_flowing_sand:",
    "RUNNING": ":arrows_counterclockwise:",
    "SUCCESS": ":white_check_mark:",
    "FAILURE": ":x:",
    "TIMED_OUT": ":alarm_clock:",
    "CANCELLED": ":no_entry_sign:",
    "PENDING_APPROVAL": ":raised_hand:",
    "DENIED": ":no_entry:",
    "EXPIRED": ":hourglass:",
    "WITHDRAWN": ":leftwards_arrow_with_hook:",
}
STATUS_WORDS = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "TIMED_OUT": "timed out",
    "CANCELLED": "was cancelled",
    "DENIED": "was denied",
    "EXPIRED": "expired before anyone approved it",
    "WITHDRAWN": "was withdrawn",
}


def _links(links: Sequence[dict[str, str]]) -> str:
    # Links come from receivers: only plain http(s) URLs become links, their text escaped.
    shown = [link for link in links if safe_url(link.get("url", ""))][:10]
    return " · ".join(
        f"<{link['url'].replace('&', '&amp;')}|{escape(link.get('text') or link['url'])}>"
        for link in shown
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
    elif status == "PENDING_APPROVAL":
        asked = f"<@{run.user_id}> asked to run *{escape(action.name)}*{on}"
        text = f"{icon} {asked}: waiting for approval"
    else:
        text = f"{icon} <@{run.user_id}> is running *{escape(action.name)}*{on}…"
    blocks: list[dict[str, Any]] = [section(text)]
    fields = _input_fields(action, run.inputs)
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if note:
        blocks.append(section(to_mrkdwn(note)))
    if _links(links):
        blocks.append(section(_links(links)))
    footer = f"Run `{run.id[:8]}`"
    if duration_ms is not None:
        footer += f" · {duration_ms:.0f} ms"
    blocks.append(context(footer))
    blocks += _run_controls(run, status)
    plain_text = f"{action.name}{on.replace('*', '')}: {status.lower().replace('_', ' ')}"
    return plain_text, blocks


def _run_controls(run: Run, status: str) -> list[dict[str, Any]]:
    """Withdraw while waiting for approval; Cancel while not yet sent."""
    if status == "PENDING_APPROVAL":
        withdraw = {
            "type": "button",
            "text": plain("Withdraw request"),
            "action_id": "withdraw_run",
            "value": run.id,
        }
        return [{"type": "actions", "block_id": "withdraw", "elements": [withdraw]}]
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
        return [{"type": "actions", "block_id": "run_controls", "elements": [cancel]}]
    return []


def result_message(
    run: Run, action: Action, owner: Team, outcome: Outcome
) -> tuple[str, list[dict[str, Any]]]:
    """The thread reply: the owner's response template, rendered, plus help on failure."""
    blocks = [section(to_mrkdwn(outcome.message))]
    if _links(outcome.links):
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
    # The notification text is read as mrkdwn too: the converted text, never the raw one.
    fallback = truncate(to_mrkdwn(outcome.message), 300) or action.name
    return fallback, blocks


def refusal_text(action: Action, owner: Team, decision: Decision) -> str:
    return f":lock: You can't run *{escape(action.name)}*: {decision.reason}. {ask_owner(owner)}."
