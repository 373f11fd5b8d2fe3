"""Approvals in the channel, and time-limited actions that undo themselves."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.conftest import Bot, Modals, database_url, start_bot
from tests.fakes import FakeSlack, Receiver
from tests.samples import shown
from tests.support import APPROVALS_CONFIG as CONFIG
from tests.support import BotProcess, buttons, click, extend_by, request_message, texts, wait


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def said(bot: Bot, action_id: str, run_id: str, user: str, channel: str = "C0APPROVE") -> str:
    """Click, and what the bot answered the clicker (its response_url post)."""
    before = len(bot.slack.calls("response_url"))
    click(bot, action_id, run_id, user, channel)
    return shown(bot.slack.wait_for("response_url", count=before + 1)[before].params)


def thread_text(bot: Bot, channel: str = "C0CHAN") -> str:
    status = bot.slack.messages(channel)[0]
    return "\n".join(
        m["text"] + " " + texts(m.get("blocks") or [])
        for m in bot.slack.thread(channel, status["ts"])
    )


def test_approve_then_run(bot: Bot) -> None:
    response = bot.submit(bot.open_form("prod-deploy"), {"input:why": "hotfix"})
    assert "Sent for approval by *SRE*" in texts(json.loads(response.text)["view"]["blocks"])
    run = bot.store.runs()[0]
    assert run.status == "PENDING_APPROVAL"
    request = request_message(bot)
    shown = texts(request["blocks"])
    assert "<@U0DEV> asks to run *Deploy to prod*" in shown and "hotfix" in shown
    wait(lambda: "Waiting for approval by *SRE*" in thread_text(bot), what="thread note")
    assert "waiting for approval" in texts(bot.slack.messages("C0CHAN")[0]["blocks"])
    time.sleep(0.3)
    assert bot.receiver.received == []  # nothing is sent before approval
    click(bot, "approve_run", run.id, "U0SRE1")
    sent = bot.receiver.wait(1)[0]
    assert sent.json() == {"approvers": ["U0SRE1"], "why": "hotfix"}
    wait(lambda: bot.store.get_run(run.id).status == "SUCCESS", what="success")
    wait(
        lambda: (
            "Approved and done" in texts(bot.slack.message("C0APPROVE", request["ts"])["blocks"])
        ),
        what="the request marked approved",
    )
    assert "Approved by <@U0SRE1>" in thread_text(bot)
    kinds = [e.kind for e in bot.store.events(run.id)]
    assert "approved" in kinds and "approval_granted" in kinds


def test_deny_with_reason(bot: Bot) -> None:
    bot.submit(bot.open_form("prod-deploy"), {"input:why": "yolo"})
    run = bot.store.runs()[0]
    request_message(bot)
    modals = Modals.before(bot.slack)
    click(bot, "deny_run", run.id, "U0SRE2")
    modal = modals.opened()
    assert modal["callback_id"] == "deny_modal"
    empty = json.loads(
        bot.requests.view_submission(
            modal,
            {"reason": {"reason": {"type": "plain_text_input", "value": " "}}},
            user_id="U0SRE2",
        ).text
    )
    assert empty["errors"] == {"reason": "Say why, for the requester."}
    bot.requests.view_submission(
        modal,
        {"reason": {"reason": {"type": "plain_text_input", "value": "Freeze week"}}},
        user_id="U0SRE2",
    )
    wait(lambda: bot.store.get_run(run.id).status == "DENIED", what="denied")
    wait(lambda: "Denied by <@U0SRE2>: Freeze week" in thread_text(bot), what="thread")
    wait(
        lambda: "was denied" in texts(bot.slack.messages("C0CHAN")[0]["blocks"]),
        what="status marked denied",
    )
    time.sleep(0.3)
    assert bot.receiver.received == []


def test_self_approval_and_outsiders_are_refused(bot: Bot) -> None:
    bot.submit(bot.open_form("two-keys"), {})
    run = bot.store.runs()[0]
    request_message(bot)
    # The requester is an approver, but not of their own request.
    assert "cannot approve your own request" in said(bot, "approve_run", run.id, "U0DEV")
    assert "not an approver" in said(bot, "approve_run", run.id, "U0OWNER")
    refusals = bot.store.events(kind="refused")
    assert {e.actor for e in refusals} == {"U0DEV", "U0OWNER"}
    assert bot.store.get_run(run.id).status == "PENDING_APPROVAL"


def test_two_approvals_needed(bot: Bot) -> None:
    bot.submit(bot.open_form("two-keys"), {})
    run = bot.store.runs()[0]
    request_message(bot)
    click(bot, "approve_run", run.id, "U0SRE1")
    wait(lambda: "1 of 2" in thread_text(bot), what="one of two")
    assert "already decided" in said(bot, "approve_run", run.id, "U0SRE1")
    time.sleep(0.3)
    assert bot.receiver.received == []
    click(bot, "approve_run", run.id, "U0SRE2")
    bot.receiver.wait(1)
    time.sleep(0.5)
    assert len(bot.receiver.received) == 1


def test_request_expires(bot: Bot) -> None:
    bot.submit(bot.open_form("quick-expiry"), {})
    run = bot.store.runs()[0]
    request = request_message(bot)
    wait(lambda: bot.store.get_run(run.id).status == "EXPIRED", what="expiry")
    wait(
        lambda: "Expired" in texts(bot.slack.message("C0APPROVE", request["ts"])["blocks"]),
        what="request marked expired",
    )
    wait(lambda: "the request expired" in thread_text(bot), what="thread")
    assert "already expired" in said(bot, "approve_run", run.id, "U0SRE1")
    assert bot.receiver.received == []


def test_withdraw(bot: Bot) -> None:
    bot.submit(bot.open_form("prod-deploy"), {"input:why": "oops"})
    run = bot.store.runs()[0]
    request_message(bot)
    assert "only the requester" in said(bot, "withdraw_run", run.id, "U0OWNER", channel="C0CHAN")
    click(bot, "withdraw_run", run.id, "U0DEV", channel="C0CHAN")
    wait(lambda: bot.store.get_run(run.id).status == "WITHDRAWN", what="withdrawn")
    wait(
        lambda: "Withdrawn" in texts(bot.slack.messages("C0APPROVE")[0]["blocks"]),
        what="request marked withdrawn",
    )


def test_dm_to_approvers_and_home_tab(bot: Bot) -> None:
    bot.submit(bot.open_form("self-ok"), {})
    run = bot.store.runs()[0]
    wait(
        lambda: (
            bot.slack.messages("D0DEV")
            and any(
                "Approval needed" in texts(m.get("blocks") or [])
                for m in bot.slack.messages("D0DEV")
            )
        ),
        what="a DM to the approver",
    )
    bot.requests.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"})
    home = bot.slack.wait_for("views.publish")[-1].params["view"]
    assert "Waiting for your approval" in texts(home["blocks"])
    bot.requests.block_action(
        "approval_menu",
        channel_id=None,
        container={"type": "view"},
        user_id="U0DEV",
        selected_option={"value": f"approve:{run.id}"},
    )
    assert bot.receiver.wait(1)[0].path == "/self"


def test_time_limited_action_reverts_itself(bot: Bot) -> None:
    view = bot.open_form("grant-access")
    bad = json.loads(bot.submit(view, {"input:duration": "3h"}).text)
    assert (
        bad["errors"] == {"input:duration": "Duration: at most 2 h."}
        or "at most" in bad["errors"]["input:duration"]
    )
    bot.submit(view, {"input:role": "admin", "input:duration": "1s"})
    grant = bot.receiver.wait(1)[0]
    assert grant.path == "/grant"
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).expires_at is not None, what="expiry set")
    wait(lambda: "expires at" in thread_text(bot), what="expiry notice")
    revoke = bot.receiver.wait(2, timeout=10)[1]
    assert revoke.path == "/revoke"
    body = revoke.json()
    assert body["revert_of"] == run.id and body["role"] == "admin" and body["expired"]
    assert revoke.headers["webhook-id"] != grant.headers["webhook-id"]
    wait(lambda: "Revert" in thread_text(bot), what="revert result in the thread")
    child = bot.store.children(run.id, "revert")[0]
    assert child.status == "SUCCESS" and child.parent_id == run.id


def status_message(bot: Bot, channel: str = "C0CHAN") -> dict:
    """The run's status message as it stands now (edited in place)."""
    wait(lambda: bot.slack.messages(channel), what="the status message")
    return bot.slack.messages(channel)[0]


def test_revoke_now_and_extend(bot: Bot) -> None:
    bot.submit(bot.open_form("grant-access"), {"input:duration": "30m"})
    bot.receiver.wait(1)
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).expires_at is not None, what="expiry set")
    first = bot.store.get_run(run.id).expires_at
    wait(lambda: "Extend" in buttons(status_message(bot)), what="live buttons on the message")
    # Extend offers the choices that still fit within the action's max (2h from the run).
    modals = Modals.before(bot.slack)
    click(bot, "extend_run", run.id, "U0DEV", channel="C0CHAN")
    modal = modals.opened()
    select = modal["blocks"][1]["element"]
    assert select["type"] == "static_select"
    offered = [o["text"]["text"] for o in select["options"]]
    assert offered == ["15 min", "30 min", "60 min"], offered  # 2h max: 1h30 left
    # A choice the form did not offer (forged) is refused next to the select.
    forged = dict(
        modal,
        blocks=[
            modal["blocks"][0],
            {
                **modal["blocks"][1],
                "element": {
                    **select,
                    "options": [
                        *select["options"],
                        {"text": {"type": "plain_text", "text": "2h"}, "value": "7200"},
                    ],
                },
            },
        ],
    )
    refused = json.loads(extend_by(bot, forged, "7200").text)
    assert "Pick one of the durations" in refused["errors"]["duration"]
    extend_by(bot, modal, "3600")
    wait(
        lambda: (bot.store.get_run(run.id).expires_at - first).total_seconds() == 3600,
        what="extended by an hour",
    )
    # The original message shows the new expiry, with live buttons; no second message.
    due = int(bot.store.get_run(run.id).expires_at.timestamp())
    wait(lambda: f"<!date^{due}^" in texts(status_message(bot)["blocks"]), what="new expiry")
    assert buttons(status_message(bot))[:2] == ["Revoke now", "Extend"]
    assert "extended it" not in thread_text(bot)
    # Someone unrelated cannot revoke; the requester can, at once.
    assert "can't revoke" in said(bot, "revoke_now", run.id, "U0SRE1", channel="C0CHAN")
    click(bot, "revoke_now", run.id, "U0DEV", channel="C0CHAN")
    assert bot.receiver.wait(2)[1].path == "/revoke"
    wait(lambda: "revoked it early" in thread_text(bot), what="revoke note")
    wait(lambda: "Reverted" in texts(status_message(bot)["blocks"]), what="marked reverted")
    assert "Revoke now" not in buttons(status_message(bot))


def test_extension_needs_approval_when_the_action_does(bot: Bot) -> None:
    bot.submit(bot.open_form("locked-grant"), {})
    run = bot.store.runs()[0]
    request_message(bot)
    click(bot, "approve_run", run.id, "U0SRE1")
    bot.receiver.wait(1)
    wait(lambda: bot.store.get_run(run.id).expires_at is not None, what="expiry set")
    before = bot.store.get_run(run.id).expires_at
    modals = Modals.before(bot.slack)
    click(bot, "extend_run", run.id, "U0DEV", channel="C0CHAN")
    modal = modals.opened()
    extend_by(bot, modal, "900")
    wait(lambda: bot.store.children(run.id, "extend"), what="an extension request")
    extension = bot.store.children(run.id, "extend")[0]
    assert extension.status == "PENDING_APPROVAL"
    assert bot.store.get_run(run.id).expires_at == before
    wait(lambda: len(bot.slack.messages("C0APPROVE")) == 2, what="second approval request")
    assert "asks to extend *Approved grant* by 15 min" in texts(
        bot.slack.messages("C0APPROVE")[1]["blocks"]
    )
    click(bot, "approve_run", extension.id, "U0SRE2")
    wait(
        lambda: (bot.store.get_run(run.id).expires_at - before).total_seconds() == 900,
        what="extended after approval",
    )


def test_failed_revert_is_escalated(bot: Bot) -> None:
    bot.receiver.reply("/revoke", status=500, body="nope")
    bot.submit(bot.open_form("grant-access"), {"input:duration": "1s"})
    run = bot.store.runs()[0]
    wait(
        lambda: (
            bot.store.children(run.id, "revert")
            and bot.store.children(run.id, "revert")[0].status == "FAILURE"
        ),
        what="failed revert",
    )
    wait(
        lambda: any("revert of *Grant access*" in shown(m) for m in bot.slack.messages("C0PAY")),
        what="escalation in #payments",
    )
    alarm = shown(next(m for m in bot.slack.messages("C0PAY") if "revert" in m["text"]))
    assert ":rotating_light:" in alarm and "<@U0DEV>" in alarm


def test_a_failed_revert_reads_as_failed_and_can_be_retried(bot: Bot) -> None:
    bot.receiver.reply("/revoke", status=500, body="nope")
    bot.submit(bot.open_form("grant-access"), {"input:duration": "1s"})
    run = bot.store.runs()[0]
    wait(
        lambda: "The revert failed" in texts(status_message(bot)["blocks"]),
        what="the status message marked as a failed revert",
    )
    assert buttons(status_message(bot)) == ["Retry revert", "Details"]
    failed = next(
        m
        for m in bot.slack.thread("C0CHAN", status_message(bot)["ts"])
        if "Revert failed" in texts(m.get("blocks") or [])
    )
    assert "Retry revert" in buttons(failed)
    # Revoke now again (an older button) does not claim it was reverted: it retries.
    bot.receiver.reply("/revoke", status=200, body="{}")
    click(bot, "retry_revert", run.id, "U0SRE1", channel="C0CHAN")  # not theirs to retry
    assert "can't retry" in bot.slack.wait_for("response_url")[-1].params["text"].lower()
    click(bot, "revoke_now", run.id, "U0DEV", channel="C0CHAN")
    wait(lambda: len(bot.store.children(run.id, "revert")) == 2, what="a second revert")
    assert not [c for c in bot.slack.calls("response_url") if "already" in c.params.get("text", "")]
    wait(lambda: bot.store.children(run.id, "revert")[1].status == "SUCCESS", what="retried revert")
    wait(lambda: "Reverted" in texts(status_message(bot)["blocks"]), what="marked reverted")
    assert buttons(status_message(bot)) == ["Details"]
    click(bot, "retry_revert", run.id, "U0DEV", channel="C0CHAN")
    bot.slack.wait_for("response_url", lambda c: "already been reverted" in c.params["text"])


def test_revert_happens_after_a_restart(tmp_path: Path) -> None:
    with FakeSlack() as slack, Receiver() as receiver:
        config = tmp_path / "actions.yml"
        config.write_text(CONFIG.replace("{receiver}", receiver.url))
        db = database_url(tmp_path)
        first = BotProcess(db, config, slack)
        modals = Modals.before(slack)
        first.requests.block_action(
            "run_action", value="grant-access", user_id="U0DEV", channel_id="C0CHAN"
        )
        view = modals.opened(timeout=15)
        first.requests.view_submission(
            view, first.requests.values_for(view, {"input:duration": "3s"})
        )
        receiver.wait(1, timeout=15)
        store = Store(db)
        wait(lambda: store.runs()[0].expires_at is not None, timeout=15, what="expiry set")
        first.kill()
        due = store.runs()[0].expires_at
        second = BotProcess(db, config, slack)
        ready = time.time()  # a slow start under load is not the scheduler's lateness
        try:
            revoke = receiver.wait(2, timeout=20)[1]
            assert revoke.path == "/revoke"
            assert revoke.time > due.timestamp() - 0.5, "reverted before it was due"
            late = revoke.time - max(due.timestamp(), ready)
            assert late < 5, late  # on time once it can be, give or take the poll
        finally:
            second.stop()
            store.close()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="replicas share PostgreSQL",
)
def test_two_replicas_approving_at_once_send_once(tmp_path: Path) -> None:
    with FakeSlack() as slack, Receiver() as receiver:
        config = tmp_path / "actions.yml"
        config.write_text(CONFIG.replace("{receiver}", receiver.url))
        db = database_url(tmp_path)
        bots = [BotProcess(db, config, slack), BotProcess(db, config, slack)]
        try:
            modals = Modals.before(slack)
            bots[0].requests.block_action(
                "run_action", value="prod-deploy", user_id="U0DEV", channel_id="C0CHAN"
            )
            view = modals.opened(timeout=15)
            bots[0].requests.view_submission(
                view, bots[0].requests.values_for(view, {"input:why": "race"})
            )
            store = Store(db)
            wait(
                lambda: store.runs() and store.runs()[0].approval_refs,
                timeout=15,
                what="request posted",
            )
            run_id = store.runs()[0].id
            clicks = [
                threading.Thread(
                    target=b.requests.block_action,
                    args=("approve_run",),
                    kwargs={"value": run_id, "user_id": user, "channel_id": "C0APPROVE"},
                )
                for b, user in zip(bots, ["U0SRE1", "U0SRE2"], strict=True)
            ]
            for thread in clicks:
                thread.start()
            for thread in clicks:
                thread.join()
            receiver.wait(1, timeout=15)
            time.sleep(2)
            assert len(receiver.requests("/deploy")) == 1
            store.close()
        finally:
            for b in bots:
                b.stop()
