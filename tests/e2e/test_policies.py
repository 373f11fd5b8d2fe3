"""Approval policies end to end: conditions, dynamic approvers, auto-approval, over real HTTP.

PagerDuty is a fake REST API on loopback (bot/testing/pagerduty.py); Slack is the fake
Slack Web API, answering `users.lookupByEmail` and `users.profile.get`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.config import validate
from bot.testing.pagerduty import TOKEN, FakePagerDuty
from bot.testing.workspace import User
from tests import samples
from tests.conftest import Bot, start_bot
from tests.fakes import FakeSlack
from tests.support import (
    click,
    errors_of,
    first_action,
    request_message,
    texts,
    thread_text,
    wait,
    with_change,
)

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - id: payments
    name: Payments
    members: [U0OWNER, {id: U0DEV, manager: U0BOSS}]
    channel: C0PAY
  - {id: sre, name: SRE, members: [U0SRE1]}
services:
  - {id: checkout-api, name: Checkout API, owner: payments, on_call: {schedule: PSVC001}}
  - {id: ledger, name: Ledger, owner: sre}
actions:
  - id: deploy
    name: Deploy
    owner: payments
    approval:
      when: "{{ manualInputs.env == 'prod' }}"
      approvers: {teams: [sre]}
      channel: C0APPROVE
    webhook: {url: "{receiver}/deploy", payload: '{"env": {{ manualInputs.env | json }}}'}
    inputs:
      - {identifier: env, displayName: Environment, type: dropdown, values: [dev, prod], required: true}
  - id: flip-flag
    name: Flip flag
    owner: payments
    approval:
      approvers: {on_call: {schedule: PSCHED1}}
      channel: C0APPROVE
      auto_approve:
        - when: "{{ user.on_call }}"
    webhook: {url: "{receiver}/flag"}
  - id: restart
    name: Restart
    owner: payments
    scope: service
    approval: {approvers: {service_owners: true}, channel: C0APPROVE}
    webhook: {url: "{receiver}/restart"}
  - id: buy
    name: Buy hardware
    owner: payments
    approval: {approvers: {manager: true, on_call: {schedule: PSCHED1}}}
    webhook: {url: "{receiver}/buy"}
  - id: page-only
    name: Page only
    owner: payments
    approval: {approvers: {on_call: {schedule: PSCHED1}}, channel: C0APPROVE}
    webhook: {url: "{receiver}/page"}
  - id: scale
    name: Scale
    owner: payments
    scope: service
    approval:
      approvers: {teams: [sre]}
      channel: C0APPROVE
      auto_approve: [{when: "{{ user.on_call }}"}]
    webhook: {url: "{receiver}/scale"}
  - id: broken-rule
    name: Broken rule
    owner: payments
    approval: {when: "{{ 1 | divided_by: 0 }}", approvers: {teams: [sre]}}
    webhook: {url: "{receiver}/broken"}
  - id: locked
    name: Locked
    owner: payments
    published: false
    access: {teams: [sre]}
    channels: [C0OPS]
    webhook: {url: "{receiver}/locked"}
"""

ON_CALL = {"id": "PUSER01", "name": "Sam Sre", "email": "sam@example.com"}


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as fake:
        fake.schedules = {"PSCHED1": [ON_CALL], "PSVC001": []}
        yield fake


@pytest.fixture
def bot(tmp_path: Path, pagerduty: FakePagerDuty) -> Iterator[Bot]:
    for started in start_bot(
        tmp_path,
        CONFIG,
        PAGERDUTY_API_TOKEN=TOKEN,
        PAGERDUTY_API_URL=pagerduty.url,
        MANAGER_PROFILE_FIELD="Xf0MANAGER",
    ):
        started.slack.users["U0SAM"] = User("U0SAM", "sam", "Sam", ON_CALL["email"])
        started.slack.users["U0SRE1"] = User("U0SRE1", "sre1", "Sre One", "sre1@example.com")
        yield started


def submitted(bot: Bot, action: str, answers: dict, user: str = "U0DEV") -> dict:
    response = bot.submit(bot.open_form(action, user_id=user), answers, user_id=user)
    assert response.status_code == 200, response.text
    return json.loads(response.text) if response.text else {}


def test_condition_false_goes_straight_to_delivery(bot: Bot) -> None:
    submitted(bot, "deploy", {"input:env": "dev"})
    assert bot.receiver.wait(1)[0].json() == {"env": "dev"}
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).status == "SUCCESS", what="success")
    skipped = bot.store.events(run.id, kind="approval_skipped")
    assert skipped[0].detail == {"reason": "approval not required: condition false"}
    assert bot.slack.messages("C0APPROVE") == []


def test_condition_true_waits_for_approval(bot: Bot) -> None:
    answer = submitted(bot, "deploy", {"input:env": "prod"})
    assert "Sent for approval by *SRE*" in texts(answer["view"]["blocks"])
    run = bot.store.runs()[0]
    assert run.status == "PENDING_APPROVAL"
    request_message(bot)
    time.sleep(0.3)
    assert bot.receiver.received == []
    click(bot, "approve_run", run.id, "U0SRE1")
    assert bot.receiver.wait(1)[0].json() == {"env": "prod"}
    assert bot.store.events(run.id, kind="approval_skipped") == []


def test_on_call_approver_from_pagerduty(bot: Bot, pagerduty: FakePagerDuty) -> None:
    submitted(bot, "flip-flag", {})
    run = bot.store.runs()[0]
    assert run.status == "PENDING_APPROVAL"
    shown = texts(request_message(bot)["blocks"])
    assert "on call: <@U0SAM>" in shown
    asked = pagerduty.requests[-1]
    assert asked["schedule_ids[]"] == ["PSCHED1"] and asked["earliest"] == ["true"]
    email = bot.slack.calls("users.lookupByEmail")[-1].params["email"]
    assert email == "sam@example.com"
    click(bot, "approve_run", run.id, "U0OWNER")  # not on call: refused
    assert "not an approver" in bot.slack.wait_for("response_url")[-1].params["text"]
    click(bot, "approve_run", run.id, "U0SAM")
    bot.receiver.wait(1)
    wait(lambda: bot.store.get_run(run.id).status == "SUCCESS", what="success")


def test_requester_on_call_is_auto_approved(bot: Bot) -> None:
    submitted(bot, "flip-flag", {}, user="U0SAM")
    bot.receiver.wait(1)  # sent without anyone deciding
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).status == "SUCCESS", what="success")
    shown = texts(request_message(bot)["blocks"])
    assert "Auto-approved by the rule `{{ user.on_call }}`" in shown
    assert "approve_run" not in json.dumps(request_message(bot)["blocks"])
    [event] = bot.store.events(run.id, kind="auto_approved")
    assert event.actor == "bot" and event.detail["rule"] == "{{ user.on_call }}"
    wait(lambda: "Approved by the rule" in thread_text(bot), what="thread note")


def test_service_owners_approve(bot: Bot) -> None:
    submitted(bot, "restart", {"service": "ledger"})
    run = bot.store.runs()[0]
    assert "service owners: <@U0SRE1>" in texts(request_message(bot)["blocks"])
    click(bot, "approve_run", run.id, "U0SRE1")
    bot.receiver.wait(1)


def test_manager_from_profile_field_and_a_failing_source(
    bot: Bot, pagerduty: FakePagerDuty
) -> None:
    bot.slack.users["U0OWNER"].fields = {"Xf0MANAGER": {"value": "U0ADMIN", "alt": ""}}
    pagerduty.fail(503)
    submitted(bot, "buy", {}, user="U0OWNER")
    run = bot.store.runs()[0]
    assert run.status == "PENDING_APPROVAL"
    wait(lambda: bot.slack.messages("D0ADMIN"), what="the manager's DM")
    shown = texts(bot.slack.messages("D0ADMIN")[0]["blocks"])
    assert "manager: <@U0ADMIN>" in shown
    assert "Could not resolve on call (PagerDuty answered HTTP 503)" in shown
    assert len([r for r in pagerduty.requests if "schedule_ids[]" in r]) == 3  # retried
    assert bot.slack.calls("users.profile.get")[-1].params["user"] == "U0OWNER"
    note = "Could not resolve on call (PagerDuty answered HTTP 503)."
    wait(lambda: note in thread_text(bot), what="thread note")


def test_manager_from_the_team_member_in_config(bot: Bot, pagerduty: FakePagerDuty) -> None:
    pagerduty.schedules["PSCHED1"] = []
    submitted(bot, "buy", {})
    run = bot.store.runs()[0]
    wait(lambda: bot.slack.messages("D0BOSS"), what="the manager's DM")
    shown = texts(bot.slack.messages("D0BOSS")[0]["blocks"])
    assert "manager: <@U0BOSS>" in shown and "nobody is on call for schedule PSCHED1" in shown
    click(bot, "approve_run", run.id, "U0BOSS", channel="D0BOSS")
    bot.receiver.wait(1)


def test_a_slow_pagerduty_does_not_hold_the_form(bot: Bot, pagerduty: FakePagerDuty) -> None:
    pagerduty.fail(200, delay=5.0)
    started = time.monotonic()
    answer = submitted(bot, "buy", {})
    assert time.monotonic() - started < 2.8  # Slack's 3 s, with the form's other checks
    assert "Sent for approval" in texts(answer["view"]["blocks"])
    wait(lambda: bot.slack.messages("D0BOSS"), what="the manager's DM")
    shown = texts(bot.slack.messages("D0BOSS")[0]["blocks"])
    assert "Could not resolve on call (PagerDuty did not answer within 1.2 s)" in shown
    # `user.on_call` and the on-call source ask once: one wait, then a clear refusal.
    started = time.monotonic()
    answer = submitted(bot, "flip-flag", {})
    assert time.monotonic() - started < 2.8
    assert "PagerDuty did not answer within 1.2 s" in texts(answer["view"]["blocks"])


def test_on_call_for_the_service_auto_approves(bot: Bot, pagerduty: FakePagerDuty) -> None:
    pagerduty.schedules["PSVC001"] = [ON_CALL]
    submitted(bot, "scale", {"service": "ledger"}, user="U0SAM")  # no schedule: asks SRE
    submitted(bot, "scale", {"service": "checkout-api"}, user="U0SAM")
    wait(lambda: len(bot.store.runs()) == 2, what="two runs")
    by_service = {r.service_id: r for r in bot.store.runs()}
    assert by_service["ledger"].status == "PENDING_APPROVAL"
    assert bot.receiver.wait(1)[0].path == "/scale"
    wait(
        lambda: bot.store.get_run(by_service["checkout-api"].id).status == "SUCCESS",
        what="the on-call requester's run",
    )
    assert bot.store.events(by_service["checkout-api"].id, kind="auto_approved")
    assert ["PSVC001"] in [r.get("schedule_ids[]") for r in pagerduty.requests]


def test_no_approver_at_all_is_refused_at_submit(bot: Bot, pagerduty: FakePagerDuty) -> None:
    pagerduty.fail(500)
    answer = submitted(bot, "page-only", {})
    shown = texts(answer["view"]["blocks"])
    assert "no one could be found to approve it" in shown
    assert "on call: PagerDuty answered HTTP 500" in shown
    assert bot.store.runs() == []
    wait(lambda: bot.store.events(kind="refused"), what="the refusal's audit")
    assert "no one could be found" in bot.store.events(kind="refused")[-1].detail["reason"]


def test_a_condition_that_fails_refuses_with_the_reason(bot: Bot) -> None:
    shown = texts(submitted(bot, "broken-rule", {})["view"]["blocks"])
    assert "approval rule could not be evaluated" in shown and "can't divide by 0" in shown
    assert bot.store.runs() == [] and bot.receiver.received == []


# --- the config --------------------------------------------------------------------------


def test_policy_config_errors_name_their_path() -> None:
    def change(doc: dict) -> None:
        first_action(doc)["approval"] = {
            "when": "{{ manualInputs.nope == 'prod' }}",
            "approvers": {"service_owners": True},
            "auto_approve": [{"when": "{{ user.on_cal }}"}],
        }

    errors = with_change(change)
    assert any(
        e.endswith("actions[0].approval.when: unknown variable manualInputs.nope") for e in errors
    )
    assert any(
        e.endswith("actions[0].approval.auto_approve[0].when: unknown variable user.on_cal")
        for e in errors
    )
    assert any("approval.approvers.service_owners: only scope: service" in e for e in errors)


def test_team_members_with_a_manager_are_checked_by_path() -> None:
    def members(*entries: object) -> list[str]:
        return with_change(lambda doc: doc["teams"][0].update(members=list(entries)))

    assert members({"id": "bad"})[0].endswith(
        "teams[0].members[0].id: invalid value 'bad': expected a Slack id: capital letters "
        "and digits, like C0123ABCD"
    )
    assert members("U0OK", {"id": "U0A", "boss": "U0B"}) == [
        "teams[0].members[1].boss: unknown key"
    ]


def test_policy_config_loads_and_old_shapes_still_do() -> None:
    catalog = validate(yaml.safe_load(CONFIG.replace("{receiver}", "https://r.example.com")))
    assert catalog.catalog.team("payments").members == ["U0OWNER", "U0DEV"]
    assert catalog.catalog.team("payments").managers == {"U0DEV": "U0BOSS"}
    flip = catalog.catalog.action("flip-flag").approval
    assert flip.approvers.on_call.schedule == "PSCHED1" and flip.auto_approve[0].when
    doc = samples.issue_document()
    first_action(doc)["approval"] = {"approvers": {"users": ["U0LEAD"]}, "count": 1}
    plain = validate(doc).catalog.actions[first_action(doc)["id"]].approval
    assert plain.when is None and plain.auto_approve == [] and not plain.approvers.dynamic
    first_action(doc)["approval"] = {"approvers": {}}
    assert any("name at least one approver" in e for e in errors_of(doc))


# --- why? --------------------------------------------------------------------------------


def admin_says(bot: Bot, text: str) -> str:
    before = len(bot.slack.calls("response_url"))
    response = bot.requests.command("/actions-admin", text=text, user_id="U0ADMIN")
    assert response.status_code == 200
    said = bot.slack.wait_for("response_url", count=before + 1)[-1].params
    return said["blocks"][0]["text"]["text"]  # as shown: `text` is the plain fallback


def test_why_names_each_rule_in_order(bot: Bot, pagerduty: FakePagerDuty) -> None:
    said = admin_says(bot, "why <@U0DEV|dev> deploy env=prod")
    assert said.splitlines() == [
        "<@U0DEV> may run Deploy (deploy).",
        "✓ access: everyone may run it",
        "✓ channel: any channel",
        "✓ draft: published",
        "✓ approval: needs 1 approval(s) from <@U0SRE1>",
    ]
    pagerduty.fail(500)  # (a failure is not cached; an answer is, for a minute)
    said = admin_says(bot, "why U0DEV page-only")
    assert "✗ approval: no one could be found to approve it (on call: PagerDuty answered" in said
    pagerduty.heal()
    said = admin_says(bot, "why @U0DEV deploy env=dev")
    assert "✓ approval: approval not required: condition false" in said
    assert "auto-approved by the rule `{{ user.on_call }}`" in admin_says(
        bot, "why U0SAM flip-flag"
    )
    said = admin_says(bot, "why U0DEV locked")
    assert said.splitlines()[0] == "<@U0DEV> may not run Locked (locked)."
    assert "✗ access: you are not on this action's access list" in said
    assert "✓ channel: only in <#C0OPS> (ask there)" in said
    assert "✗ draft: this action is a draft; only admins can run it" in said
    said = admin_says(bot, "why U0OWNER restart ledger")
    assert "service owners <@U0SRE1>" in said
    assert "Usage: `/actions-admin why" in admin_says(bot, "why U0DEV")
    assert "No action `nope`" in admin_says(bot, "why U0DEV nope")


def check_as(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> int:
    from bot.__main__ import main

    path = tmp_path / "policy.yml"
    path.write_text(CONFIG.replace("{receiver}", "https://receiver.example.com"))
    monkeypatch.setenv("ACTIONS_CONFIG", str(path))
    return main(["check", *args])


def test_check_as_prints_the_decision_with_exit_codes(
    tmp_path: Path,
    pagerduty: FakePagerDuty,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("SLACK_BOT_TOKEN", "MANAGER_PROFILE_FIELD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    monkeypatch.setenv("PAGERDUTY_API_URL", pagerduty.url)
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    code = check_as(
        monkeypatch, tmp_path, "--as", "U0DEV", "--action", "deploy", "--input", "env=prod"
    )
    assert code == 0
    assert "✓ approval: needs 1 approval(s) from <@U0SRE1>" in capsys.readouterr().out
    assert check_as(monkeypatch, tmp_path, "--as", "U0DEV", "--action", "locked") == 3
    assert "✗ draft" in capsys.readouterr().out
    # Without Slack, PagerDuty's people can't be mapped to Slack accounts: refused, and why.
    assert check_as(monkeypatch, tmp_path, "--as", "U0DEV", "--action", "page-only") == 3
    assert "have no Slack account" in capsys.readouterr().out
    with FakeSlack() as slack:
        slack.users["U0SAM"] = User("U0SAM", "sam", "Sam", ON_CALL["email"])
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-check")
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        assert check_as(monkeypatch, tmp_path, "--as", "U0DEV", "--action", "page-only") == 0
        assert "on call <@U0SAM>" in capsys.readouterr().out
        code = check_as(monkeypatch, tmp_path, "--as", "U0SAM", "--action", "flip-flag")
        assert code == 0 and "auto-approved" in capsys.readouterr().out
    assert check_as(monkeypatch, tmp_path, "--as", "U0DEV") == 2
    assert check_as(monkeypatch, tmp_path, "--as", "U0DEV", "--action", "nope") == 2
