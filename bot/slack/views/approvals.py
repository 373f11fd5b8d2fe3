"""Block Kit for approvals: requests, decisions, denials, escalations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.catalog import Action, Catalog, Service
from bot.kinds import RunKind
from bot.mrkdwn import escape, local_time, truncate
from bot.outcomes import RequestPreview, seconds_text
from bot.policy import SOURCE_NAMES, Plan
from bot.slack.limits import SECTION_FIELD, SECTION_FIELDS, SECTION_TEXT
from bot.slack.views.blocks import context, modal, origin_text, plain, section, shown_value
from bot.slack.views.fallback import fallback
from bot.store import Run
from bot.store.models import ApprovalDecision

APPROVE = "approve_run"
DENY = "deny_run"
DENY_MODAL = "deny_modal"
APPROVE_COMMENT = "approve_with_comment"  # opens APPROVE_MODAL
APPROVE_MODAL = "approve_modal"
WITHDRAW = "withdraw_run"

ENDINGS = {
    "PENDING": ":white_check_mark: Approved: running it now.",
    "RUNNING": ":white_check_mark: Approved: running it now.",
    "SUCCESS": ":white_check_mark: Approved and done.",
    "FAILURE": ":white_check_mark: Approved; the run failed.",
    "DENIED": ":no_entry: Denied.",
    "EXPIRED": ":hourglass: Expired: nobody decided in time.",
    "WITHDRAWN": ":leftwards_arrow_with_hook: Withdrawn by the requester.",
}


def approvers_text(catalog: Catalog, action: Action, plan: Plan | None = None) -> str:
    assert action.approval is not None
    rule = action.approval.approvers
    names = [f"*{escape(team.name if (team := catalog.team(t)) else t)}*" for t in rule.teams]
    names += [f"<@{u}>" for u in rule.users]
    names += [f"<!subteam^{g}>" for g in rule.usergroups]
    names += [f"<@{u}>" for u in (plan.approvers if plan else []) if u not in rule.users]
    return ", ".join(names) or "the approvers"


def plan_lines(plan: Plan | None) -> list[dict[str, Any]]:
    """Where the approvers came from, which sources failed, and an auto-approval."""
    if plan is None:
        return []
    found = []
    asked = [
        f"{SOURCE_NAMES.get(name, name)}: " + ", ".join(f"<@{u}>" for u in ids)
        for name, ids in plan.sources.items()
    ]
    if asked:
        found.append(context(("Resolved now: " + "; ".join(asked))[:SECTION_FIELD]))
    if plan.failed:
        failed = "; ".join(
            f"{SOURCE_NAMES.get(k, k)} ({escape(v)})" for k, v in plan.failed.items()
        )
        found.append(context(f":warning: Could not resolve {failed}; the others were asked."))
    if plan.auto is not None:
        found.append(context(f":robot_face: Auto-approved by the rule `{escape(plan.auto)}`"))
    return found


def _what(run: Run, action: Action, service: Service | None) -> str:
    on = f" on *{escape(service.name)}*" if service else ""
    if run.kind == RunKind.EXTEND:
        seconds = float(run.inputs.get("seconds") or 0)
        return (
            f"<@{run.user_id}> asks to extend *{escape(action.name)}*{on} by "
            f"{seconds_text(seconds)}"
        )
    return f"<@{run.user_id}> asks to run *{escape(action.name)}*{on}"


def expires_at(run: Run, action: Action) -> datetime:
    assert action.approval is not None
    created = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
    return created + timedelta(seconds=action.approval.expires_after)


def preview_blocks(preview: RequestPreview | None) -> list[dict[str, Any]]:
    """What will be sent, as code: secrets were redacted before it got here."""
    if preview is None:
        return []
    if preview.problem:
        return [context(f":warning: The request can't be shown: {escape(preview.problem)}")]
    # Fences inside the body would end the code block early.
    body = escape(preview.body.replace("```", "ˋˋˋ"))
    request = f"{preview.method} {escape(preview.url)}" + (f"\n{body}" if body else "")
    shown = truncate(request, SECTION_TEXT - 40)
    return [section(f"*What will be sent*\n```{shown}```")]


def request_blocks(
    catalog: Catalog,
    run: Run,
    action: Action,
    service: Service | None,
    decisions: Sequence[ApprovalDecision] = (),
    *,
    preview: RequestPreview | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The approval request, as first posted and after each decision."""
    assert action.approval is not None
    blocks: list[dict[str, Any]] = [
        section(f":raised_hand: *Approval needed*\n{_what(run, action, service)}")
    ]
    origin = origin_text(run, action)
    if origin:
        blocks.append(context(origin))
    fields = [
        {
            "type": "mrkdwn",
            "text": f"*{escape(i.displayName)}*\n{shown_value(i, run.inputs[i.identifier])}"[
                :SECTION_FIELD
            ],
        }
        for i in action.inputs
        if run.inputs.get(i.identifier) not in (None, "", [])
    ][:SECTION_FIELDS]
    if fields and run.kind == RunKind.RUN:
        blocks.append({"type": "section", "fields": fields})
    blocks += preview_blocks(preview)
    need = action.approval.count
    waiting = (
        f" · Expires {local_time(expires_at(run, action), '{date_short_pretty} at {time}')}"
        if run.status == "PENDING_APPROVAL"
        else ""
    )
    blocks.append(
        context(
            f"Needs {need} approval{'s' if need > 1 else ''} from {approvers_text(catalog, action)}"
            f"{waiting} · Run `{run.id[:8]}`"
        )
    )
    blocks += plan_lines(Plan.from_json(run.approval_plan))
    for decision in decisions:
        icon = ":white_check_mark: Approved" if decision.approved else ":no_entry: Denied"
        note = f": {escape(decision.comment)}" if decision.comment else ""
        blocks.append(context(f"{icon} by <@{decision.approver}>{note}"))
    if run.status == "PENDING_APPROVAL":
        blocks.append(_decide_buttons(run))
    else:
        blocks.append(section(ENDINGS.get(run.status, run.status.lower())))
    return f"Approval needed: {fallback(_what(run, action, service))}", blocks


def _decide_buttons(run: Run) -> dict[str, Any]:
    def button(label: str, style: str, action_id: str) -> dict[str, Any]:
        return {
            "type": "button",
            "text": plain(label),
            "style": style,
            "action_id": action_id,
            "value": run.id,
        }

    with_comment = {
        "type": "button",
        "text": plain("Approve with comment…"),
        "action_id": APPROVE_COMMENT,
        "value": run.id,
    }
    return {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            button("Approve", "primary", APPROVE),
            with_comment,
            button("Deny", "danger", DENY),
        ],
    }


def pending_for_home(catalog: Catalog, runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Approvers see what waits for them on the Home tab."""
    if not runs:
        return []
    blocks: list[dict[str, Any]] = [section("*Waiting for your approval*")]
    for run in runs[:5]:
        action = catalog.action(run.action_id)
        if action is None:
            continue
        service = catalog.service(run.service_id) if run.service_id else None
        blocks.append(
            section(
                _what(run, action, service),
                accessory={
                    "type": "overflow",
                    "action_id": "approval_menu",
                    "options": [
                        {"text": plain("Approve"), "value": f"approve:{run.id}"},
                        {"text": plain("Approve with comment…"), "value": f"comment:{run.id}"},
                        {"text": plain("Deny"), "value": f"deny:{run.id}"},
                    ],
                },
            )
        )
    return blocks


def deny_modal(action: Action, metadata: str) -> dict[str, Any]:
    return modal(
        "Deny request",
        [
            section(f"Deny *{escape(action.name)}*? The requester sees your reason."),
            {
                "type": "input",
                "block_id": "reason",
                "label": plain("Reason"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
        callback_id=DENY_MODAL,
        private_metadata=metadata,
        submit=plain("Deny"),
        close=plain("Cancel"),
    )


def approve_modal(action: Action, metadata: str) -> dict[str, Any]:
    """Approve, saying something to the requester (optional; shown in the thread)."""
    return modal(
        "Approve request",
        [
            section(f"Approve *{escape(action.name)}*? The requester sees your comment."),
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": plain("Comment"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "comment",
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
        callback_id=APPROVE_MODAL,
        private_metadata=metadata,
        submit=plain("Approve"),
        close=plain("Cancel"),
    )


def escalation_text(run: Run, action: Action, owner_channel: str | None, text: str) -> str:
    link = f" (<{run.permalink}|thread>)" if run.permalink else ""
    return f":rotating_light: {text}{link}\nIt was started by <@{run.user_id}>." + (
        "" if owner_channel else " The owner team has no channel; admins, please help."
    )
