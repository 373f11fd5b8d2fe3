"""Block Kit for approvals and time-limited runs: requests, decisions, expiry controls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.catalog import Action, Catalog, Service
from bot.kinds import RunKind
from bot.mrkdwn import escape
from bot.outcomes import seconds_text
from bot.runs.expiry import clock
from bot.slack.limits import SECTION_FIELD, SECTION_FIELDS
from bot.slack.views.blocks import context, modal, plain, section, shown_value
from bot.store import Run
from bot.store.models import ApprovalDecision

APPROVE = "approve_run"
DENY = "deny_run"
DENY_MODAL = "deny_modal"
WITHDRAW = "withdraw_run"
REVOKE = "revoke_now"
EXTEND = "extend_run"
EXTEND_MODAL = "extend_modal"

ENDINGS = {
    "PENDING": ":white_check_mark: Approved: running it now.",
    "RUNNING": ":white_check_mark: Approved: running it now.",
    "SUCCESS": ":white_check_mark: Approved and done.",
    "FAILURE": ":white_check_mark: Approved; the run failed.",
    "DENIED": ":no_entry: Denied.",
    "EXPIRED": ":hourglass: Expired: nobody decided in time.",
    "WITHDRAWN": ":leftwards_arrow_with_hook: Withdrawn by the requester.",
}


def approvers_text(catalog: Catalog, action: Action) -> str:
    assert action.approval is not None
    rule = action.approval.approvers
    names = [f"*{escape(team.name if (team := catalog.team(t)) else t)}*" for t in rule.teams]
    names += [f"<@{u}>" for u in rule.users]
    names += [f"<!subteam^{g}>" for g in rule.usergroups]
    return ", ".join(names) or "the approvers"


def _what(run: Run, action: Action, service: Service | None) -> str:
    on = f" on *{escape(service.name)}*" if service else ""
    if run.kind == RunKind.EXTEND:
        seconds = float(run.inputs.get("seconds") or 0)
        return (
            f"<@{run.user_id}> wants to extend *{escape(action.name)}*{on} by "
            f"{seconds_text(seconds)}"
        )
    return f"<@{run.user_id}> wants to run *{escape(action.name)}*{on}"


def request_blocks(
    catalog: Catalog,
    run: Run,
    action: Action,
    service: Service | None,
    decisions: Sequence[ApprovalDecision] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """The approval request, as first posted and after each decision."""
    assert action.approval is not None
    blocks: list[dict[str, Any]] = [
        section(f":raised_hand: *Approval needed*\n{_what(run, action, service)}")
    ]
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
    need = action.approval.count
    blocks.append(
        context(
            f"Needs {need} approval{'s' if need > 1 else ''} from {approvers_text(catalog, action)}"
            f" · Run `{run.id[:8]}`"
        )
    )
    for decision in decisions:
        icon = ":white_check_mark: Approved" if decision.approved else ":no_entry: Denied"
        note = f": {escape(decision.comment)}" if decision.comment else ""
        blocks.append(context(f"{icon} by <@{decision.approver}>{note}"))
    if run.status == "PENDING_APPROVAL":
        blocks.append(_decide_buttons(run))
    else:
        blocks.append(section(ENDINGS.get(run.status, run.status.lower())))
    return f"Approval needed: {action.name}", blocks


def _decide_buttons(run: Run) -> dict[str, Any]:
    def button(label: str, style: str, action_id: str) -> dict[str, Any]:
        return {
            "type": "button",
            "text": plain(label),
            "style": style,
            "action_id": action_id,
            "value": run.id,
        }

    return {
        "type": "actions",
        "block_id": "approval",
        "elements": [button("Approve", "primary", APPROVE), button("Deny", "danger", DENY)],
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
                        {"text": plain("Deny"), "value": f"deny:{run.id}"},
                    ],
                },
            )
        )
    return blocks


def expiry_blocks(run: Run, action: Action, expires_at: datetime) -> list[dict[str, Any]]:
    assert action.expires is not None
    return [
        section(
            f":hourglass_flowing_sand: *{escape(action.name)}* expires at "
            f"*{clock(expires_at)}*: it will be undone then."
        ),
        {
            "type": "actions",
            "block_id": "expiry",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Revoke now"),
                    "style": "danger",
                    "action_id": REVOKE,
                    "value": run.id,
                    "confirm": {
                        "title": plain("Undo it now?", 100),
                        "text": plain("The revert runs at once.", 300),
                        "confirm": plain("Revoke", 30),
                        "deny": plain("Keep", 30),
                    },
                },
                {"type": "button", "text": plain("Extend"), "action_id": EXTEND, "value": run.id},
            ],
        },
        context(f"At most {seconds_text(action.expires.max)} in all."),
    ]


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


def extend_modal(action: Action, run: Run, metadata: str, approval: bool) -> dict[str, Any]:
    note = " Approvers will be asked first." if approval else ""
    expires = clock(run.expires_at) if run.expires_at else "—"
    return modal(
        "Extend",
        [
            section(f"*{escape(action.name)}* expires at {expires}. Extend it by how long?{note}"),
            {
                "type": "input",
                "block_id": "duration",
                "label": plain("Extend by"),
                "hint": plain("For example 30m, 1h or 1h30m"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "duration",
                    "placeholder": plain("1h"),
                },
            },
        ],
        callback_id=EXTEND_MODAL,
        private_metadata=metadata,
        submit=plain("Extend"),
        close=plain("Cancel"),
    )


def escalation_text(run: Run, action: Action, owner_channel: str | None, text: str) -> str:
    link = f" (<{run.permalink}|thread>)" if run.permalink else ""
    return f":rotating_light: {text}{link}\nIt was started by <@{run.user_id}>." + (
        "" if owner_channel else " The owner team has no channel; admins, please help."
    )
