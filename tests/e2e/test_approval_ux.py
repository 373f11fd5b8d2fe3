"""Approval requests people can decide on: who asks, what exactly will be sent (secrets
redacted), until when, and approving with a comment. End to end over real HTTP.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TRACKER_TOKEN, Bot, Modals, start_bot
from tests.samples import shown, texts
from tests.support import click, request_message, thread_text, wait

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER, U0DEV], channel: C0PAY}
  - {id: sre, name: SRE, members: [U0SRE1, U0SRE2], channel: C0SRE}
actions:
  - id: merge-pr
    name: Merge a pull request
    owner: payments
    approval: {approvers: {teams: [sre]}, channel: C0APPROVE, expires_after: 2h}
    webhook:
      url: "{receiver}/merge?pr={{ manualInputs.pr | url_encode }}"
      headers: {Content-Type: application/json,
                Authorization: "Bearer {{ 'TRACKER_TOKEN' | secret }}"}
      payload: >-
        {"pr": {{ manualInputs.pr | json }}, "token": {{ manualInputs.token | json }},
         "why": {{ manualInputs.why | json }}, "comment": {{ approval.comment | json }}}
    inputs:
      - {identifier: pr, displayName: Pull request, type: url, required: true}
      - {identifier: token, displayName: Deploy key, type: secret, required: true}
      - {identifier: why, displayName: Reason, type: text_input}
"""

PR = "https://git.example.com/shop/pull/7"
KEY = "deploy-key-0123456789abcdef"


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def ask(bot: Bot) -> str:
    answers = {"input:pr": PR, "input:token": KEY, "input:why": "release 7"}
    bot.submit(bot.open_form("merge-pr"), answers)
    return bot.store.runs()[0].id


def test_the_request_names_the_requester_and_shows_what_will_be_sent(bot: Bot) -> None:
    ask(bot)
    request = request_message(bot)
    text = texts(request["blocks"])
    assert "<@U0DEV> asks to run *Merge a pull request*" in text
    assert "*Pull request*" in text and "*Reason*\nrelease 7" in text
    assert f"<{PR}|{PR}>" in text  # an input's link is a link
    assert "*Deploy key*\n••••••" in text
    # What will be sent, rendered now: the URL and body, with the secrets redacted.
    assert "*What will be sent*" in text
    assert f"POST {bot.receiver.url}/merge?pr=https%3A%2F%2Fgit.example.com" in text
    assert '"pr": "https://git.example.com/shop/pull/7"' in text
    assert '"token": "[REDACTED]"' in text
    everything = json.dumps([c.params for c in bot.slack.calls()])
    assert KEY not in everything and TRACKER_TOKEN not in everything
    # When the request expires, in each reader's own time.
    stamp = re.search(r"Expires <!date\^(\d+)\^\{date_short_pretty\} at \{time\}\|", text)
    assert stamp and abs(int(stamp[1]) - (time.time() + 7200)) < 60
    assert request["text"].startswith("Approval needed: <@U0DEV> asks to run Merge a pull request")


def test_approve_with_a_comment_shows_it_in_the_thread_and_the_audit_log(bot: Bot) -> None:
    run_id = ask(bot)
    request_message(bot)
    modals = Modals.before(bot.slack)
    click(bot, "approve_with_comment", run_id, "U0SRE1")
    modal = modals.opened()
    assert modal["callback_id"] == "approve_modal"
    assert modal["title"]["text"] == "Approve request"
    answer = bot.requests.view_submission(
        modal,
        {"comment": {"comment": {"type": "plain_text_input", "value": " Ship it <!here> "}}},
        user_id="U0SRE1",
    )
    assert "Approved." in texts(answer.json()["view"]["blocks"])
    sent = bot.receiver.wait(1)[0]
    assert sent.json()["comment"] == "Ship it <!here>"  # templates see approval.comment
    assert sent.json()["token"] == KEY  # the real request carries the real value
    wait(lambda: "Approved by <@U0SRE1>. Running it now." in thread_text(bot), what="approval")
    assert "<@U0SRE1>: Ship it &lt;!here&gt;" in thread_text(bot)  # inert, never a broadcast
    approved = bot.store.events(run_id, kind="approved")
    assert [e.detail["comment"] for e in approved] == ["Ship it <!here>"]
    assert [e.actor for e in approved] == ["U0SRE1"]


def test_a_comment_is_optional(bot: Bot) -> None:
    run_id = ask(bot)
    request_message(bot)
    modals = Modals.before(bot.slack)
    click(bot, "approve_with_comment", run_id, "U0SRE2")
    bot.requests.view_submission(modals.opened(), {}, user_id="U0SRE2")
    assert bot.receiver.wait(1)[0].json()["comment"] == ""


def test_an_outsider_cannot_open_or_submit_the_approve_form(bot: Bot) -> None:
    run_id = ask(bot)
    request_message(bot)
    before = len(bot.slack.calls("response_url"))
    click(bot, "approve_with_comment", run_id, "U0OWNER")
    told = bot.slack.wait_for("response_url", count=before + 1)[before].params
    assert "not an approver" in shown(told)
    time.sleep(0.3)
    assert bot.store.get_run(run_id).status == "PENDING_APPROVAL"


def test_a_denial_names_who_denied_and_why(bot: Bot) -> None:
    run_id = ask(bot)
    request_message(bot)
    modals = Modals.before(bot.slack)
    click(bot, "deny_run", run_id, "U0SRE2")
    bot.requests.view_submission(
        modals.opened(),
        {"reason": {"reason": {"type": "plain_text_input", "value": "Freeze week"}}},
        user_id="U0SRE2",
    )
    expected = (
        "<@U0DEV>'s request to run *Merge a pull request* was denied by <@U0SRE2>: Freeze week"
    )
    wait(
        lambda: expected in texts(bot.slack.messages("C0CHAN")[0]["blocks"]),
        what="the status message naming the denial",
    )
    status = bot.slack.messages("C0CHAN")[0]
    assert " ran " not in texts(status["blocks"])
    assert "Withdraw" not in texts(status["blocks"])


def test_the_home_tab_menu_offers_approve_with_comment(bot: Bot) -> None:
    run_id = ask(bot)
    request_message(bot)
    bot.requests.event({"type": "app_home_opened", "user": "U0SRE1", "tab": "home"})
    home = bot.slack.wait_for("views.publish")[-1].params["view"]
    menu = next(
        b["accessory"] for b in home["blocks"] if b.get("accessory", {}).get("type") == "overflow"
    )
    labels = [o["text"]["text"] for o in menu["options"]]
    assert labels == ["Approve", "Approve with comment…", "Deny"]
    modals = Modals.before(bot.slack)
    bot.requests.block_action(
        "approval_menu",
        channel_id=None,
        container={"type": "view"},
        user_id="U0SRE1",
        selected_option={"value": f"comment:{run_id}"},
    )
    modal = modals.opened()
    assert modal["callback_id"] == "approve_modal"
    bot.requests.view_submission(
        modal,
        {"comment": {"comment": {"type": "plain_text_input", "value": "LGTM"}}},
        user_id="U0SRE1",
    )
    assert bot.receiver.wait(1)[0].json()["comment"] == "LGTM"
