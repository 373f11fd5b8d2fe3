"""Block Kit for time-limited runs: the grant on its status message, Extend, the expiry DM,
and "My access and locks" on the Home tab."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.catalog import Action
from bot.kinds import GrantState
from bot.mrkdwn import escape, local_time
from bot.outcomes import seconds_text
from bot.runs.grants import time_left
from bot.slack.views.blocks import context, modal, plain, section
from bot.store import Run

REVOKE = "revoke_now"
EXTEND = "extend_run"
EXTEND_MODAL = "extend_modal"
RETRY_REVERT = "retry_revert"
DURATION = "duration"  # the Extend form's block and select


def _button(label: str, action_id: str, run_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": plain(label),
        "action_id": action_id,
        "value": run_id,
        **extra,
    }


def revoke_button(run_id: str) -> dict[str, Any]:
    confirm = {
        "title": plain("Undo it now?", 100),
        "text": plain("The revert runs at once.", 300),
        "confirm": plain("Revoke", 30),
        "deny": plain("Keep", 30),
    }
    return _button("Revoke now", REVOKE, run_id, style="danger", confirm=confirm)


def controls(run_id: str, state: GrantState, block_id: str = "expiry") -> list[dict[str, Any]]:
    """The buttons that can take effect now: Revoke now and Extend, or Retry revert."""
    if state == GrantState.ACTIVE:
        buttons = [revoke_button(run_id), _button("Extend", EXTEND, run_id)]
    elif state == GrantState.REVERT_FAILED:
        buttons = [_button("Retry revert", RETRY_REVERT, run_id, style="primary")]
    else:
        return []
    return [{"type": "actions", "block_id": block_id, "elements": buttons}]


def state_text(run: Run, state: GrantState) -> str:
    """One line on where the grant stands, its time in each reader's own time zone."""
    if state == GrantState.REVERTED:
        return ":leftwards_arrow_with_hook: Reverted: the access has been undone."
    if state == GrantState.REVERTING:
        return ":arrows_counterclockwise: Reverting now…"
    if state == GrantState.REVERT_FAILED:
        return (
            ":warning: *The revert failed*: it is still in effect. "
            "Retry the revert, or undo it by hand."
        )
    assert run.expires_at is not None
    return f":hourglass_flowing_sand: Expires {local_time(run.expires_at)}: it will be undone then."


def status_tail(run: Run, action: Action, state: GrantState | None) -> list[dict[str, Any]]:
    """What a time-limited run's status message adds below the run: the grant and its buttons."""
    if state is None or run.expires_at is None or action.expires is None:
        return []
    blocks = [section(state_text(run, state)), *controls(run.id, state)]
    if state == GrantState.ACTIVE:
        blocks.append(context(f"At most {seconds_text(action.expires.max)} in all."))
    return blocks


def warning_message(
    run: Run, action: Action, now: datetime, state: GrantState
) -> tuple[str, list[dict[str, Any]]]:
    """The DM shortly before a grant expires; edited later to show what became of it."""
    assert run.expires_at is not None
    link = f" (<{run.permalink}|see the run>)" if run.permalink else ""
    if state != GrantState.ACTIVE:
        line = f"*{escape(action.name)}*{link}: {state_text(run, state)}"
        return f"{action.name}: {state.value.replace('_', ' ')}", [section(line)]
    text = (
        f":hourglass: *{escape(action.name)}* expires {local_time(run.expires_at)} "
        f"({time_left(run.expires_at, now)}){link}. Extend it if you still need it."
    )
    fallback = f"{action.name} expires soon ({time_left(run.expires_at, now)})"
    return fallback, [section(text), *controls(run.id, GrantState.ACTIVE, "expiry_warning")]


@dataclass(frozen=True)
class Grant:
    """A time-limited run that is still in effect, as Home lists it."""

    run: Run
    name: str
    state: GrantState


def access_section(
    grants: Sequence[Grant], locks: Sequence[dict[str, Any]] = (), now: datetime | None = None
) -> list[dict[str, Any]]:
    """ "My access and locks": active grants with time left and their buttons; locks (blocks
    built by their own module) follow under the same heading."""
    if not grants and not locks:
        return []
    blocks: list[dict[str, Any]] = [section("*My access and locks*")]
    for grant in grants[:8]:  # 3 blocks each: the Home tab holds 100
        run = grant.run
        line = f"*{escape(grant.name)}*"
        if grant.state == GrantState.ACTIVE and run.expires_at is not None and now is not None:
            left = time_left(run.expires_at, now)
            line += f" · {left} · until {local_time(run.expires_at)}"
        else:
            line += f"\n{state_text(run, grant.state)}"
        blocks.append(section(line))
        blocks += controls(run.id, grant.state, f"grant:{run.id}")
    return blocks + list(locks)


def extend_modal(
    action: Action,
    run: Run,
    metadata: str,
    approval: bool,
    choices: Sequence[tuple[str, float]],
) -> dict[str, Any]:
    """Extend: the same choices the form offered, as a select; a notice when none fit."""
    expires = local_time(run.expires_at) if run.expires_at else "—"
    if not choices:
        assert action.expires is not None
        text = (
            f"*{escape(action.name)}* expires {expires}. It can't be extended further: it "
            f"may last at most {seconds_text(action.expires.max)} in all."
        )
        return modal("Extend", [section(text)], close=plain("Close"))
    note = " Approvers will be asked first." if approval else ""
    options = [
        {"text": plain(label, 75), "value": f"{seconds:g}"} for label, seconds in choices[:100]
    ]
    select = {
        "type": "static_select",
        "action_id": DURATION,
        "options": options,
        "initial_option": options[0],
    }
    return modal(
        "Extend",
        [
            section(f"*{escape(action.name)}* expires {expires}. Extend it by how long?{note}"),
            {"type": "input", "block_id": DURATION, "label": plain("Extend by"), "element": select},
        ],
        callback_id=EXTEND_MODAL,
        private_metadata=metadata,
        submit=plain("Extend"),
        close=plain("Cancel"),
    )
