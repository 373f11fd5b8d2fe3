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
from bot.store.models import ApprovalDecision

RUN_MODAL = "run_action_modal"
CANCEL_BUTTON = "cancel_run"
RERUN_BUTTON = "rerun"
DETAILS_BUTTON = "run_details"
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
        "Run action",  # short: the body names the action in full
        f":hourglass_flowing_sand: Running *{escape(action.name)}*…\n"
        f"The result will appear in {where}, in a thread.",
    )


def result_modal(action: Action, outcome: Outcome, permalink: str | None) -> dict[str, Any]:
    status = outcome.final_status or ("SUCCESS" if outcome.ok else "FAILURE")
    icon = STATUS_ICONS.get(status, ":x:")
    text = f"{icon} *{escape(action.name)}* {STATUS_WORDS.get(status, 'finished')}."
    if permalink:
        text += f"\n<{permalink}|See the result in the thread>"
    return notice_modal("Run action", text)


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
        elif item.type == "url" and safe_url(str(one)):
            url = str(one).replace("&", "&amp;")
            parts.append(f"<{url}|{escape(truncate(str(one), 300))}>")
        else:
            option = item.option(str(one))
            parts.append(escape(truncate(option.label if option else str(one), 300)))
    return ", ".join(parts)


def input_fields(action: Action, inputs: dict[str, Any]) -> list[dict[str, Any]]:
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


def links_text(links: Sequence[dict[str, str]]) -> str:
    # Links come from receivers: only plain http(s) URLs become links, their text escaped.
    shown = [link for link in links if safe_url(link.get("url", ""))][:10]
    return " · ".join(
        f"<{link['url'].replace('&', '&amp;')}|{escape(link.get('text') or link['url'])}>"
        for link in shown
    )


def origin_text(run: Run, action: Action) -> str | None:
    """How a run was asked for outside Slack, as the status message says it."""
    origin = run.origin or {}
    name = str(origin.get("token") or "")[:75]
    token = f" (token *{escape(name)}*)" if name else ""
    if origin.get("via") == "mcp":
        agent = escape(str(origin.get("agent") or "an MCP client")[:75])
        return f"<@{run.user_id}>'s agent *{agent}* asks to run *{escape(action.name)}*{token}"
    if origin.get("via") == "api":
        return f"requested via API{token} by <@{run.user_id}>"
    return None


def status_message(
    run: Run,
    action: Action,
    service: Service | None,
    *,
    status: str | None = None,
    note: str | None = None,
    links: Sequence[dict[str, str]] = (),
    duration_ms: float | None = None,
    decisions: Sequence[ApprovalDecision] = (),
    tail: Sequence[dict[str, Any]] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """The channel message for a run: posted when it starts, edited as it goes.

    ``tail``: what another builder adds below the run (a time-limited run's grant).
    """
    status = status or run.status
    on = f" on *{escape(service.name)}*" if service else ""
    blocks: list[dict[str, Any]] = [section(headline(run, action, on, status, decisions))]
    origin = origin_text(run, action)
    if origin:
        blocks.append(context(origin))
    fields = input_fields(action, run.inputs)
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if note:
        blocks.append(section(to_mrkdwn(note)))
    if links_text(links):
        blocks.append(section(links_text(links)))
    footer = f"Run `{run.id[:8]}`"
    if duration_ms is not None:
        footer += f" · {duration_ms:.0f} ms"
    blocks.append(context(footer))
    blocks += tail
    blocks += _run_controls(run, status, followed=action.backend is not None)
    plain_text = f"{action.name}{on.replace('*', '')}: {status.lower().replace('_', ' ')}"
    return plain_text, blocks


def headline(
    run: Run, action: Action, on: str, status: str, decisions: Sequence[ApprovalDecision] = ()
) -> str:
    """Who did what, in words: a request that never ran is a request, not a run."""
    icon = STATUS_ICONS.get(status, ":grey_question:")
    who, what = f"<@{run.user_id}>", f"*{escape(action.name)}*{on}"
    if status == "DENIED":
        denial = next((d for d in reversed(decisions) if not d.approved), None)
        by = f" by <@{denial.approver}>" if denial else ""
        why = f": {escape(denial.comment)}" if denial and denial.comment else ""
        return f"{icon} {who}'s request to run {what} was denied{by}{why}"
    if status in ("EXPIRED", "WITHDRAWN"):
        return f"{icon} {who}'s request to run {what} {STATUS_WORDS[status]}"
    if status in STATUS_WORDS:
        return f"{icon} {who} ran {what} — {STATUS_WORDS[status]}"
    if status == "PENDING_APPROVAL":
        return f"{icon} {who} asks to run {what}: waiting for approval"
    return f"{icon} {who} is running {what}…"


def details_button(run_id: str) -> dict[str, Any]:
    """Opens the run's detail view (for its requester, approvers and admins)."""
    return {
        "type": "button",
        "text": plain("Details"),
        "action_id": DETAILS_BUTTON,
        "value": run_id,
    }


def _run_controls(run: Run, status: str, followed: bool = False) -> list[dict[str, Any]]:
    """Withdraw while waiting for approval; Cancel while not yet sent, or while a CI run
    is followed (which cancels the CI run too); Details always."""
    elements = [details_button(run.id)]
    if status == "PENDING_APPROVAL":
        withdraw = {
            "type": "button",
            "text": plain("Withdraw request"),
            "action_id": "withdraw_run",
            "value": run.id,
        }
        elements.insert(0, withdraw)
    if status == "PENDING" or (status == "RUNNING" and followed):
        sent = (
            "It cancels the CI run too."
            if followed
            else "It will not be sent if it has not been sent yet."
        )
        cancel = {
            "type": "button",
            "text": plain("Cancel"),
            "action_id": CANCEL_BUTTON,
            "value": run.id,
            "style": "danger",
            "confirm": {
                "title": plain("Cancel this run?", 100),
                "text": plain(sent, 300),
                "confirm": plain("Cancel run", 30),
                "deny": plain("Keep it", 30),
            },
        }
        elements.insert(0, cancel)
    block_id = "withdraw" if status == "PENDING_APPROVAL" else "run_controls"
    return [{"type": "actions", "block_id": block_id, "elements": elements}]


def result_message(
    run: Run, action: Action, owner: Team, outcome: Outcome
) -> tuple[str, list[dict[str, Any]]]:
    """The thread reply: the owner's response template, rendered, plus help on failure."""
    blocks = [section(to_mrkdwn(outcome.message))]
    if links_text(outcome.links):
        blocks.append(section(links_text(outcome.links)))
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
