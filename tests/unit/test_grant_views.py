"""Pure pieces of grants and run details: states, choices, times, and their Block Kit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.access import Principal
from bot.catalog import Action
from bot.kinds import GrantState
from bot.mrkdwn import local_time
from bot.runs.grants import extension_choices, grant_state, time_left
from bot.slack import guards
from bot.slack.views import details, grants, locks
from bot.store import AuditEvent, Run
from bot.store.locks import UserLock
from bot.store.models import ApprovalDecision
from tests.samples import catalog, message_ok, parse_yaml, texts, view_ok

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)

CATALOG = """
admins: {users: [U0ADMIN]}
teams: [{id: ops, name: Ops, members: [U0OPS]}]
actions:
  - id: grant
    name: Grant access
    owner: ops
    expires: {after: "{{ manualInputs.span }}", max: 4h, webhook: {url: "https://r.example/undo"}}
    webhook: {url: "https://r.example/do"}
    inputs:
      - {identifier: span, displayName: For, type: duration, values: [{value: 30m, display: Half an hour}, 1h, 3h]}
      - {identifier: who, displayName: Who, type: user}
      - {identifier: token, displayName: Token, type: secret}
  - id: approved
    name: Approved grant
    owner: ops
    approval: {approvers: {users: [U0SRE]}}
    expires: {after: 30m, webhook: {url: "https://r.example/undo"}}
    webhook: {url: "https://r.example/do"}
  - id: plain
    name: Plain grant
    owner: ops
    expires: {after: 30m, max: 2h, webhook: {url: "https://r.example/undo"}}
    webhook: {url: "https://r.example/do"}
"""


def action(action_id: str) -> Action:
    found = catalog(parse_yaml(CATALOG)).action(action_id)
    assert found is not None
    return found


def grant_run(expires_in: float, ran_ago: float = 0, **extra: object) -> Run:
    finished = NOW - timedelta(seconds=ran_ago)
    return Run(
        id="0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        action_id="grant",
        user_id="U0DEV",
        status="SUCCESS",
        created_at=finished,
        finished_at=finished,
        expires_at=NOW + timedelta(seconds=expires_in),
        **extra,
    )


def revert(status: str) -> Run:
    return Run(action_id="grant", user_id="U0DEV", kind="revert", status=status, created_at=NOW)


@pytest.mark.parametrize(
    ("due", "reverts", "state"),
    [
        (NOW + timedelta(minutes=5), [], GrantState.ACTIVE),
        (NOW, [], GrantState.REVERTING),
        (None, [], GrantState.REVERT_FAILED),  # the revert job gave up
        (None, [revert("PENDING")], GrantState.REVERTING),
        (None, [revert("SUCCESS")], GrantState.REVERTED),
        (None, [revert("FAILURE")], GrantState.REVERT_FAILED),
        (None, [revert("SUCCESS"), revert("FAILURE")], GrantState.REVERT_FAILED),
        (None, [revert("FAILURE"), revert("SUCCESS")], GrantState.REVERTED),
        (NOW - timedelta(seconds=1), [revert("FAILURE")], GrantState.REVERTING),  # a retry
    ],
)
def test_grant_state(due: datetime | None, reverts: list[Run], state: GrantState) -> None:
    assert grant_state(due, reverts, NOW) == state


def test_extension_choices_are_the_forms_own_within_max() -> None:
    run = grant_run(expires_in=3600)  # 4h max from now: 3h left
    assert extension_choices(run, action("grant")) == [
        ("Half an hour", 1800.0),
        ("1h", 3600.0),
        ("3h", 10800.0),
    ]
    nearly = grant_run(expires_in=3600, ran_ago=2 * 3600)  # 1h left
    assert [s for _, s in extension_choices(nearly, action("grant"))] == [1800.0, 3600.0]
    assert extension_choices(grant_run(3600, ran_ago=3 * 3600), action("grant")) == []


def test_extension_choices_without_a_duration_input_are_standard_ones() -> None:
    run = grant_run(expires_in=1800).model_copy(update={"action_id": "plain"})
    assert extension_choices(run, action("plain")) == [  # 2h max: 1h30 left
        ("15 min", 900.0),
        ("30 min", 1800.0),
        ("60 min", 3600.0),
    ]


def test_local_time_shows_each_reader_their_zone_with_a_utc_fallback() -> None:
    assert (
        local_time(NOW)
        == f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} {{time}}|2026-12-02 14:00 UTC>"
    )
    naive = datetime(2026, 12, 2, 14, 0)
    assert (
        local_time(naive, "{time}")
        == f"<!date^{int(NOW.timestamp())}^{{time}}|2026-12-02 14:00 UTC>"
    )


def test_time_left() -> None:
    assert time_left(NOW + timedelta(seconds=61), NOW) == "2 min left"
    assert time_left(NOW + timedelta(hours=2, minutes=5), NOW) == "2 h 5 min left"
    assert time_left(NOW - timedelta(seconds=1), NOW) == "due now"


@pytest.mark.parametrize("state", list(GrantState))
def test_status_tail_offers_only_buttons_that_work(state: GrantState) -> None:
    run = grant_run(expires_in=600)
    blocks = message_ok(grants.status_tail(run, action("grant"), state) or [{"type": "divider"}])
    labels = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    expected = {
        GrantState.ACTIVE: ["Revoke now", "Extend"],
        GrantState.REVERT_FAILED: ["Retry revert"],
    }.get(state, [])
    assert labels == expected
    if state == GrantState.ACTIVE:
        assert local_time(run.expires_at) in texts(blocks)


def test_access_section_and_warning_and_extend_modal_are_valid() -> None:
    run = grant_run(expires_in=1500)
    rows = [
        grants.Grant(run, "Grant <access>", GrantState.ACTIVE),
        grants.Grant(run.model_copy(update={"id": "other"}), "Old", GrantState.REVERT_FAILED),
    ]
    section = message_ok(grants.access_section(rows, now=NOW))
    shown = texts(section)
    assert "*My access and locks*" in shown and "Grant &lt;access&gt;" in shown
    assert "25 min left" in shown and "The revert failed" in shown
    assert grants.access_section([], now=NOW) == []
    text, body = grants.warning_message(run, action("grant"), NOW, GrantState.ACTIVE)
    assert text == "Grant access expires soon (25 min left)"
    message_ok(body)
    text, body = grants.warning_message(run, action("grant"), NOW, GrantState.REVERTED)
    assert text == "Grant access: reverted" and "Reverted" in texts(message_ok(body))
    choices = extension_choices(run, action("grant"))
    view_ok(grants.extend_modal(action("grant"), run, "m", False, choices))
    full = grants.extend_modal(action("grant"), run, "m", False, [])
    assert "can't be extended further" in texts(view_ok(full)["blocks"])


def test_details_modal_is_valid_escaped_and_redacts_secrets() -> None:
    run = grant_run(
        expires_in=600,
        inputs={"span": "30m", "who": "U0ADA"},
        summary="Done",
        permalink="https://slack.example/p1",
    )
    at = NOW
    events = [
        AuditEvent(kind="requested", actor="U0DEV", at=at, detail={}),
        AuditEvent(kind="webhook_response", at=at, detail={"attempt": 1, "status": 503}),
        AuditEvent(kind="retry_scheduled", at=at, detail={"delay_s": 20, "reason": "HTTP 503"}),
        AuditEvent(kind="webhook_error", at=at, detail={"attempt": 2, "error": "<b>timeout"}),
        AuditEvent(
            kind="callback",
            at=at,
            detail={
                "status": "running",
                "message": "Half way [x](https://evil)",
                "links": [
                    {"text": "Logs", "url": "https://logs.example/1"},
                    {"url": "javascript:x"},
                ],
            },
        ),
        AuditEvent(kind="finished", at=at, detail={"status": "SUCCESS"}),
    ]
    decision = ApprovalDecision(run_id=run.id, approver="U0SRE", approved=True, comment="ok", at=at)
    story = details.RunStory(run, action("grant"), None, events, [decision], [revert("FAILURE")])
    view = view_ok(details.details_modal(story))
    shown = texts(view["blocks"])
    assert "*Who*\n<@U0ADA>" in shown and "Half an hour" in shown
    assert "Token" not in shown  # a secret is never among the run's inputs
    assert "Approved by <@U0SRE>" in shown and ": ok" in shown
    assert "Attempt 1: HTTP 503" in shown and "Attempt 2 failed: &lt;b&gt;timeout" in shown
    assert "Retry scheduled in 20 s (HTTP 503)" in shown
    assert "<https://logs.example/1|Logs>" in shown and "javascript" not in shown
    assert "<https://evil" not in shown  # a receiver's text never becomes a link
    assert "Revert " in shown and "failure" in shown
    # The result reads as in the thread: the owner's rendered template (values escaped then).
    assert "*Result*\nDone" in shown


def test_details_are_for_the_requester_the_approvers_and_admins() -> None:
    cat = catalog(parse_yaml(CATALOG))
    gated = cat.action("approved")
    run = grant_run(600).model_copy(update={"action_id": "approved"})
    for user in ("U0DEV", "U0SRE", "U0ADMIN"):
        assert guards.viewer(cat, gated, Principal(user), run), user
    refused = guards.viewer(cat, gated, Principal("U0OPS"), run)
    assert not refused and "approvers or an admin" in refused.reason
    # The action left the catalog: its approvers are unknown, the requester and admins remain.
    assert guards.viewer(cat, None, Principal("U0DEV"), run)
    assert not guards.viewer(cat, None, Principal("U0SRE"), run)


def test_lock_lines_say_what_which_key_since_when_and_escape_the_key() -> None:
    since = NOW - timedelta(minutes=5)
    held = [
        UserLock("r-hold", "grant", "checkout-api", True, since),
        UserLock("r-wait", "gone", "<!channel> & co", False, since),
    ]
    blocks = message_ok(locks.lock_blocks(held, {"grant": "Grant access"}))
    shown = texts(blocks)
    assert f":lock: *Grant access* holds *checkout-api* since {local_time(since)}" in shown
    assert "is waiting for *&lt;!channel&gt; &amp; co*" in shown and "<!channel>" not in shown
    assert [b["accessory"]["value"] for b in blocks] == ["r-hold", "r-wait"]
    many = [UserLock(f"r{n}", "grant", "k", True, since) for n in range(locks.SHOWN + 1)]
    blocks = locks.lock_blocks(many, {})
    assert len(blocks) == locks.SHOWN + 1 and "more of your runs" in texts(blocks[-1:])
