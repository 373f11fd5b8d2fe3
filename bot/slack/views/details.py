"""A run's detail view: what happened to it, in order, for the people it concerns.

Pure: built from the run, its audit events, approval decisions and child runs (reverts,
extensions). Everything a receiver or a person typed is escaped; secrets never reach the
events (they are redacted when recorded) nor the run's inputs (they are sealed apart).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.catalog import Action, Service
from bot.mrkdwn import escape, inert, local_time, to_mrkdwn, truncate
from bot.outcomes import seconds_text
from bot.slack import limits
from bot.slack.views.blocks import (
    STATUS_ICONS,
    context,
    input_fields,
    links_text,
    modal,
    plain,
    section,
)
from bot.store import AuditEvent, Run
from bot.store.models import ApprovalDecision

HISTORY_LINES = 40  # the newest are kept: the modal holds 100 blocks of 3000 characters


@dataclass(frozen=True)
class RunStory:
    """Everything the detail view shows of one run."""

    run: Run
    action: Action | None
    service: Service | None = None
    events: Sequence[AuditEvent] = ()
    decisions: Sequence[ApprovalDecision] = ()
    children: Sequence[Run] = field(default_factory=list)


def _who(event: AuditEvent) -> str:
    return f" by <@{escape(event.actor)}>" if event.actor else ""


def _status(value: Any) -> str:
    return escape(str(value or "")).lower().replace("_", " ")


def _attempt(event: AuditEvent) -> str:
    d = event.detail
    took = f" in {seconds_text(float(d['duration_ms']) / 1000)}" if d.get("duration_ms") else ""
    number = escape(str(d.get("attempt", "?")))
    if event.kind == "webhook_response":
        return f"Attempt {number}: HTTP {escape(str(d.get('status')))}{took}"
    reason = escape(truncate(str(d.get("error") or d.get("kind") or "error"), 200))
    return f"Attempt {number} failed: {reason}{took}"


def _callback(event: AuditEvent) -> str:
    d = event.detail
    text = f"Receiver: {_status(d.get('status'))}"
    if isinstance(d.get("message"), str) and d["message"]:
        text += f": {inert(truncate(d['message'], 300))}"
    links = d.get("links")
    if isinstance(links, list):
        shown = links_text([link for link in links if isinstance(link, dict)])
        text += f" · {shown}" if shown else ""
    return text


WORDS: dict[str, Callable[[AuditEvent], str]] = {
    "requested": lambda e: f"Requested{_who(e)}",
    "approval_granted": lambda e: "Approved: released to run",
    "accepted": lambda e: "Accepted by the receiver: running",
    "webhook_response": _attempt,
    "webhook_error": _attempt,
    "retry_scheduled": lambda e: (
        f"Retry scheduled in {seconds_text(float(e.detail.get('delay_s') or 0))}"
        f" ({escape(str(e.detail.get('reason', '')))})"
    ),
    "callback": _callback,
    "finished": lambda e: f"Finished: {_status(e.detail.get('status'))}",
    "cancelled": lambda e: f"Cancelled{_who(e)}",
    "denied": lambda e: "Denied",
    "withdrawn": lambda e: "Withdrawn by the requester",
    "expired": lambda e: "Expired: nobody decided in time",
    "revoke_requested": lambda e: f"Revoked early{_who(e)}",
    "revert_retried": lambda e: f"Revert retried{_who(e)}",
    "extended": lambda e: (
        f"Extended by {seconds_text(float(e.detail.get('seconds') or 0))}{_who(e)}"
    ),
}


def history_lines(events: Sequence[AuditEvent]) -> list[str]:
    """Each step worth a person's reading, with its time in the reader's time zone."""
    lines = []
    for event in events:
        words = WORDS.get(event.kind)
        if words is not None:
            lines.append(
                f"{local_time(event.at, '{date_short_pretty} {time_secs}')} · {words(event)}"
            )
    return lines[-HISTORY_LINES:]


def _decisions(decisions: Sequence[ApprovalDecision]) -> list[str]:
    lines = []
    for d in decisions:
        icon = ":white_check_mark: Approved" if d.approved else ":no_entry: Denied"
        note = f": {escape(truncate(d.comment, 300))}" if d.comment else ""
        lines.append(f"{icon} by <@{escape(d.approver)}> {local_time(d.at)}{note}")
    return lines


def _children(children: Sequence[Run]) -> list[str]:
    label = {"revert": "Revert", "extend": "Extension request"}
    return [
        f"{STATUS_ICONS.get(c.status, '')} {label.get(c.kind, 'Re-run')} "
        f"{local_time(c.created_at)} · {_status(c.status)}"
        for c in children
    ]


def _lines(title: str, lines: Sequence[str]) -> list[dict[str, Any]]:
    """A titled list, split into sections that each fit Slack's text limit."""
    if not lines:
        return []
    blocks, chunk = [], f"*{title}*"
    for line in lines:
        if len(chunk) + len(line) + 1 > limits.SECTION_TEXT - 10:
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    return [*blocks, section(chunk)]


def details_modal(story: RunStory) -> dict[str, Any]:
    """The run as its requester, approvers and admins may see it."""
    run, action = story.run, story.action
    name = escape(action.name) if action else f"`{escape(run.action_id)}`"
    on = f" on *{escape(story.service.name)}*" if story.service else ""
    icon = STATUS_ICONS.get(run.status, ":grey_question:")
    kind = {"revert": "Revert of ", "extend": "Extension of "}.get(run.kind, "")
    blocks: list[dict[str, Any]] = [
        section(f"{icon} {kind}*{name}*{on} · {_status(run.status)}"),
        context(
            f"Run `{run.id[:8]}` · by <@{escape(run.user_id)}> · {local_time(run.created_at)}"
            + (f" · <{run.permalink}|thread>" if run.permalink else "")
        ),
    ]
    fields = input_fields(action, run.inputs) if action and run.kind == "run" else []
    if fields:
        blocks += [section("*Inputs*"), {"type": "section", "fields": fields}]
    blocks += _lines("Approvals", _decisions(story.decisions))
    blocks += _lines("History", history_lines(story.events))
    blocks += _lines("Reverts and extensions", _children(story.children))
    if run.summary and run.final:
        blocks += [section("*Result*"), section(to_mrkdwn(run.summary))]
    return modal("Run details", blocks[: limits.VIEW_BLOCKS], close=plain("Close"))
