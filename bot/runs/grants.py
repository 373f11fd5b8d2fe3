"""Pure rules for time-limited runs: where a grant stands, how far it may be extended."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.catalog import Action, parse_duration
from bot.kinds import FINAL, GrantState, RunStatus
from bot.outcomes import seconds_text
from bot.store import Run

# Offered by Extend when the action's form has no duration choices of its own.
STANDARD_CHOICES = (900.0, 1800.0, 3600.0, 7200.0, 4 * 3600.0, 8 * 3600.0, 86400.0)


def grant_state(revert_due: datetime | None, reverts: Sequence[Run], now: datetime) -> GrantState:
    """From the pending revert job's due time (None: none pending) and the revert runs.

    A pending revert job wins over earlier reverts: it is a retry on its way.
    """
    if revert_due is not None:
        return GrantState.ACTIVE if revert_due > now else GrantState.REVERTING
    if not reverts:  # the revert job ended without starting its run: it gave up
        return GrantState.REVERT_FAILED
    last = reverts[-1].status
    if last == RunStatus.SUCCESS:
        return GrantState.REVERTED
    return GrantState.REVERT_FAILED if last in FINAL else GrantState.REVERTING


def time_left(expires_at: datetime, now: datetime) -> str:
    """`25 min left`, rounded up, for a glance; the exact time is shown beside it."""
    seconds = (expires_at - now).total_seconds()
    if seconds <= 0:
        return "due now"
    if seconds < 3600:
        return f"{-(-seconds // 60):.0f} min left"
    hours, rest = divmod(seconds, 3600)
    return f"{hours:.0f} h {rest // 60:.0f} min left"


def _choices_of(action: Action) -> list[tuple[str, float]]:
    """The duration choices of the action's own form: what the requester picked from."""
    for item in action.inputs:
        if item.type != "duration" or not item.static_values:
            continue
        found = []
        for option in item.static_values:
            try:
                found.append((option.label, parse_duration(option.value)))
            except ValueError:
                continue
        if found:
            return found
    return [(seconds_text(s), s) for s in STANDARD_CHOICES]


def extension_room(run: Run, action: Action) -> float:
    """Seconds the run may still be extended by, within `expires.max` from when it ran."""
    if action.expires is None or run.expires_at is None or run.finished_at is None:
        return 0.0
    limit = run.finished_at + timedelta(seconds=action.expires.max)
    return max(0.0, (limit - run.expires_at).total_seconds())


def extension_choices(run: Run, action: Action) -> list[tuple[str, float]]:
    """What Extend offers: the form's duration choices (or standard ones) that still fit."""
    room = extension_room(run, action)
    return [(label, seconds) for label, seconds in _choices_of(action) if seconds <= room]
