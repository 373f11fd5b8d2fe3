"""`/actions-admin` as a person uses it: test forms, run ids, list buttons, YAML, exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store import Run
from bot.store.models import utcnow
from tests.conftest import CONFIG, Bot, Modals, start_bot
from tests.support import admin_says, edit_values, open_modal, shown, texts

EXTRA = """
  - id: env-deploy
    name: Deploy to environment
    owner: payments
    webhook:
      url: "{receiver}/deploy"
      payload: '{"env": {{ manualInputs.env | json }}, "why": {{ manualInputs.reason | json }}}'
    inputs:
      - {identifier: env, displayName: Environment, type: dropdown, values: [staging, prod], required: true}
      - identifier: reason
        displayName: Why prod?
        type: text_input
        dependsOn: [env]
        visible: "{% if manualInputs.env == 'prod' %}true{% endif %}"
        required: true
  - id: owner-approves
    name: Owner approves
    owner: payments
    approval: {approvers: {users: [U0OWNER]}}
    webhook: {url: "{receiver}/approved"}
    inputs:
      - {identifier: why, displayName: Why, type: text_input}
  - id: whoami
    name: Who am I
    owner: payments
    webhook:
      url: "{receiver}/whoami"
      payload: '{"email": {{ user.email | json }}, "name": {{ user.name | json }}, "n": {{ manualInputs.n | json }}}'
    inputs:
      - {identifier: n, displayName: N, type: number}
  - id: grant-role
    name: Grant a role
    owner: payments
    webhook: {url: "{receiver}/grant"}
    expires: {after: 1h, webhook: {url: "{receiver}/revoke"}}
    inputs:
      - {identifier: who, displayName: For whom, type: user}
      - {identifier: where, displayName: Announce in, type: channel}
      - {identifier: note, displayName: Note, type: text_input}
"""


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG + EXTRA)


def redraw(bot: Bot, view: dict, answers: dict) -> dict:
    """Pick a parent input's value in an open modal; return the redrawn modal."""
    before = len(bot.slack.calls("views.update"))
    state = {"values": bot.requests.values_for(view, answers)}
    bot.requests.block_action(
        "env",
        block_id="input:env",
        user_id="U0ADMIN",
        channel_id=None,
        container={"type": "view", "view_id": view["id"]},
        view={**view, "state": state},
        selected_option={"value": answers["input:env"]},
    )
    redrawn = bot.slack.wait_for("views.update", count=before + 1)[-1].params["view"]
    return {**view, **redrawn}


def test_test_form_stays_a_test_through_redraws_and_errors(bot: Bot) -> None:
    view = open_modal(bot, "test env-deploy")
    assert view["callback_id"] == "admin_test" and view["title"]["text"].startswith("Test")
    redrawn = redraw(bot, view, {"input:env": "prod"})
    assert redrawn["callback_id"] == "admin_test"
    assert redrawn["title"]["text"].startswith("Test")
    assert redrawn["submit"]["text"] == "Preview"
    assert "Send it for real" in texts(redrawn["blocks"])
    assert "input:reason" in {b.get("block_id") for b in redrawn["blocks"]}
    # A validation error keeps the form as it is; the fixed submission is a dry run.
    values = bot.requests.values_for(redrawn, {"input:env": "prod"})
    answer = json.loads(bot.requests.view_submission(redrawn, values, user_id="U0ADMIN").text)
    assert answer == {
        "response_action": "errors",
        "errors": {"input:reason": "Why prod? is required."},
    }
    values = bot.requests.values_for(redrawn, {"input:env": "prod", "input:reason": "hotfix"})
    answer = json.loads(bot.requests.view_submission(redrawn, values, user_id="U0ADMIN").text)
    assert answer["response_action"] == "update"
    assert "Dry run of Deploy to environment" in texts(answer["view"]["blocks"])
    assert '"why": "hotfix"' in texts(answer["view"]["blocks"])
    # A second redraw (back to staging) is still a test.
    again = redraw(bot, redrawn, {"input:env": "staging"})
    assert again["callback_id"] == "admin_test" and again["title"]["text"].startswith("Test")
    assert not bot.receiver.received and not bot.store.runs()


def test_test_form_submitted_as_a_run_form_sends_nothing(bot: Bot) -> None:
    view = open_modal(bot, "test env-deploy")
    # Even if the form came back under the run form's callback id, it is not a real run.
    crafted = {**view, "callback_id": "run_action_modal"}
    values = bot.requests.values_for(crafted, {"input:env": "staging"})
    answer = json.loads(bot.requests.view_submission(crafted, values, user_id="U0ADMIN").text)
    assert "nothing was sent" in texts(answer["view"]["blocks"])
    assert not bot.receiver.received and not bot.store.runs()


def test_the_sole_approver_is_refused_at_submit_with_the_reason(bot: Bot) -> None:
    view = bot.open_form("owner-approves", user_id="U0OWNER")
    answer = json.loads(bot.submit(view, {"input:why": "mine"}, user_id="U0OWNER").text)
    said = texts(answer["view"]["blocks"])
    assert "*Owner approves* did not run" in said
    assert "you are its only approver" in said and "add another approver" in said
    assert not bot.store.runs() and not bot.receiver.received
    refused = bot.store.events(kind="refused")
    assert [e.actor for e in refused] == ["U0OWNER"]
    # Anyone else asks as usual, and the approver is asked.
    view = bot.open_form("owner-approves", user_id="U0DEV")
    answer = json.loads(bot.submit(view, {"input:why": "theirs"}, user_id="U0DEV").text)
    assert "Sent for approval" in texts(answer["view"]["blocks"])
    asked = bot.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "U0OWNER")
    assert asked and bot.store.runs()[0].status == "PENDING_APPROVAL"


def test_run_accepts_any_unique_prefix_and_asks_when_ambiguous(bot: Bot) -> None:
    now = utcnow()
    with bot.store.session() as session:
        for n, run_id in enumerate(
            (
                "ab12cd34-0000-4000-8000-000000000001",
                "ab12ef56-0000-4000-8000-000000000002",
                "ff000000-0000-4000-8000-000000000003",
            )
        ):
            session.add(
                Run(
                    id=run_id,
                    action_id="create-ticket",
                    user_id="U0DEV",
                    status="SUCCESS",
                    inputs={"title": f"t{n}"},
                    created_at=now - timedelta(minutes=n),
                )
            )
        session.commit()
    # The 8 characters every message shows, even pasted in backticks, open the run.
    unique = shown(admin_says(bot, "run `ff000000`"))
    assert "Run of Create ticket" in unique and "ff000000-0000-4000-8000-000000000003" in unique
    assert "Run of Create ticket" in shown(admin_says(bot, "run AB12C"))
    # An ambiguous prefix lists the candidates; Show opens the chosen one.
    choices = admin_says(bot, "run ab12")
    assert "More than one run starts with `ab12`" in shown(choices)
    buttons = [b["accessory"] for b in choices["blocks"] if b.get("accessory")]
    assert [b["value"] for b in buttons] == [
        "ab12cd34-0000-4000-8000-000000000001",
        "ab12ef56-0000-4000-8000-000000000002",
    ]
    before = len(bot.slack.calls("response_url"))
    bot.requests.block_action(buttons[1]["action_id"], value=buttons[1]["value"], user_id="U0ADMIN")
    picked = bot.slack.wait_for("response_url", count=before + 1)[-1].params
    assert picked["replace_original"] and "ab12ef56-0000-4000-8000-000000000002" in shown(picked)
    # Nothing matches, or it cannot be an id at all: said plainly.
    assert "No run starts with `abcdef`" in shown(admin_says(bot, "run abcdef"))
    assert "Which run?" in shown(admin_says(bot, "run x%"))
    # Only admins may pick.
    before = len(bot.slack.calls("response_url"))
    bot.requests.block_action(buttons[0]["action_id"], value=buttons[0]["value"], user_id="U0DEV")
    refused = bot.slack.wait_for("response_url", count=before + 1)[-1].params
    assert "only for the bot's admins" in shown(refused)


def click(bot: Bot, button: dict, user: str = "U0ADMIN", **extra: Any) -> None:
    response = bot.requests.block_action(
        button["action_id"], value=button["value"], user_id=user, **extra
    )
    assert response.status_code == 200


def buttons_of(message: dict, action_id: str) -> dict[str, dict]:
    row = next(b for b in message["blocks"] if b.get("block_id") == f"buttons:{action_id}")
    return {e["text"]["text"]: e for e in row["elements"]}


def test_list_buttons_and_publish_after_saving(bot: Bot) -> None:
    view = open_modal(bot, "new")
    values = edit_values(
        id="page-oncall",
        name="Page on-call",
        owner="payments",
        scope="global",
        access="everyone",
        method="POST",
        url=f"{bot.receiver.url}/page",
    )
    assert bot.requests.view_submission(view, values, user_id="U0ADMIN").status_code == 200
    saved = bot.slack.wait_for("chat.postMessage", lambda c: "Saved" in c.params["text"])[-1]
    assert saved.params["text"] == "Saved page-oncall (a draft)."
    publish = saved.params["blocks"][-1]["elements"][0]
    assert publish["text"]["text"] == "Publish"
    before = len(bot.slack.calls("response_url"))
    click(bot, publish)
    said = bot.slack.wait_for("response_url", count=before + 1)[-1].params
    assert said["replace_original"] and said["text"] == "`page-oncall` is now published."
    assert bot.runtime.catalog().action("page-oncall").published
    # The list: a section per action, with the buttons that apply to it.
    listing = admin_says(bot, "list")
    sections = [b for b in listing["blocks"] if b.get("block_id", "").startswith("action:")]
    assert len(sections) == len(bot.runtime.catalog().actions)
    assert list(buttons_of(listing, "page-oncall")) == ["Edit", "Test", "Unpublish", "Runs"]
    assert list(buttons_of(listing, "create-ticket")) == ["Test", "Runs"]  # from the file
    # Unpublish redraws the list in place; the button now offers Publish.
    before = len(bot.slack.calls("response_url"))
    click(bot, buttons_of(listing, "page-oncall")["Unpublish"])
    redrawn = bot.slack.wait_for("response_url", count=before + 1)[-1].params
    assert redrawn["replace_original"] and "`page-oncall` is now a draft." in shown(redrawn)
    assert list(buttons_of(redrawn, "page-oncall")) == ["Edit", "Test", "Publish", "Runs"]
    assert not bot.runtime.catalog().action("page-oncall").published
    # Runs: the history of that action.
    bot.submit(bot.open_form("create-ticket"), {"title": "t"})
    bot.slack.wait_for("chat.update")
    before = len(bot.slack.calls("response_url"))
    click(bot, buttons_of(listing, "create-ticket")["Runs"])
    runs = shown(bot.slack.wait_for("response_url", count=before + 1)[-1].params)
    assert "action:create-ticket" in runs and "*Create ticket* by <@U0DEV>" in runs
    # Edit and Test open their forms.
    modals = Modals.before(bot.slack)
    click(bot, buttons_of(listing, "page-oncall")["Edit"])
    edit = modals.opened()
    assert edit["callback_id"] == "admin_edit" and "Editing `page-oncall`" in texts(edit["blocks"])
    modals = Modals.before(bot.slack)
    click(bot, buttons_of(listing, "create-ticket")["Test"])
    test = modals.opened()
    assert test["callback_id"] == "admin_test" and test["title"]["text"] == "Test Create ticket"
    # Only admins.
    before = len(bot.slack.calls("response_url"))
    click(bot, buttons_of(listing, "page-oncall")["Edit"], user="U0DEV")
    assert "only for the bot's admins" in shown(
        bot.slack.wait_for("response_url", count=before + 1)[-1].params
    )


def test_audit_csv_names_every_rows_action_and_keeps_unicode(bot: Bot) -> None:
    bot.submit(bot.open_form("create-ticket"), {"title": "Café — ünïcode ✓"})
    bot.slack.wait_for("chat.update")
    assert "in your direct messages" in shown(admin_says(bot, "export since:1d format:csv"))
    audit = next(f for f in bot.slack.files.values() if f["filename"] == "audit.csv")["content"]
    rows = list(csv.DictReader(io.StringIO(audit)))
    run_rows = [r for r in rows if r["run_id"]]
    assert {"requested", "webhook_request", "finished"} <= {r["kind"] for r in run_rows}
    assert all(r["action_id"] == "create-ticket" for r in run_rows)
    requested = next(r for r in run_rows if r["kind"] == "requested")
    assert "Café — ünïcode ✓" in requested["detail"] and "\\u" not in requested["detail"]


def test_runs_read_like_slack_unicode_mentions_and_reverts(bot: Bot) -> None:
    now = utcnow()
    inputs = {"who": "U0ADA", "where": "C0OPS", "note": "café — ✓"}
    with bot.store.session() as session:
        session.add(
            Run(
                id="aa000000-0000-4000-8000-000000000001",
                action_id="grant-role",
                user_id="U0DEV",
                status="SUCCESS",
                inputs=inputs,
                created_at=now - timedelta(minutes=5),
            )
        )
        session.flush()
        session.add(
            Run(
                id="bb000000-0000-4000-8000-000000000002",
                action_id="grant-role",
                user_id="U0DEV",
                status="SUCCESS",
                kind="revert",
                parent_id="aa000000-0000-4000-8000-000000000001",
                inputs=inputs,
                created_at=now,
            )
        )
        session.commit()
    runs = shown(admin_says(bot, "runs action:grant-role"))
    assert "For whom: <@U0ADA> · Announce in: <#C0OPS> · Note: café — ✓" in runs
    assert "\\u" not in runs and '"who"' not in runs
    assert "↩ *Revert of Grant a role* (run `aa000000`) by <@U0DEV>" in runs
    assert runs.count("*Grant a role* by <@U0DEV>") == 1  # the original run, not a revert
    # Home's recent runs label the revert too.
    bot.requests.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"})
    home = texts(bot.slack.wait_for("views.publish")[-1].params["view"]["blocks"])
    assert "↩ Revert of Grant a role · success" in home


def test_invalid_json_payload_is_refused_at_save_with_line_and_column(bot: Bot) -> None:
    view = open_modal(bot, "new")
    values = edit_values(
        id="page-oncall",
        name="Page on-call",
        owner="payments",
        scope="global",
        access="everyone",
        method="POST",
        url=f"{bot.receiver.url}/page",
        payload='{\n  "who": {{ user.id | json }},\n  "why": "{{ manualInputs.why }}"\n  "n": 1\n}',
        inputs="- {identifier: why, displayName: Why, type: text_input}",
    )
    answer = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "payload": "Not valid JSON at line 4, column 3: Expecting ',' delimiter"
    }
    assert bot.runtime.catalog().action("page-oncall") is None
    # Conditional templates depend on the values: they are left to the run's own check.
    values["payload"] = {
        "payload": {
            "type": "plain_text_input",
            "value": '{"who": {{ user.id | json }}{% if manualInputs.why %}, "why": 1{% endif %}}',
        }
    }
    assert bot.requests.view_submission(view, values, user_id="U0ADMIN").text in ("", "null")
    bot.slack.wait_for("chat.postMessage", lambda c: "Saved page-oncall" in c.params["text"])


def test_edit_keeps_the_authors_yaml_as_written(bot: Bot) -> None:
    inputs = (
        "# asked first\n"
        "- identifier: why\n"
        "  type: text_input   # free text\n"
        "  displayName: 'Why?'\n"
    )
    advanced = 'retry: {attempts: 2}  # the receiver is flaky\nconfirm: "Page them?"\n'
    view = open_modal(bot, "new")
    values = edit_values(
        id="page-oncall",
        name="Page on-call",
        owner="payments",
        scope="global",
        access="everyone",
        method="POST",
        url=f"{bot.receiver.url}/page",
        inputs=inputs,
        advanced=advanced,
    )
    assert bot.requests.view_submission(view, values, user_id="U0ADMIN").status_code == 200
    bot.slack.wait_for("chat.postMessage", lambda c: "Saved page-oncall" in c.params["text"])
    admin_says(bot, "publish page-oncall")  # a later change elsewhere keeps them too

    def field(view: dict, block_id: str) -> str:
        block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
        return block["element"].get("initial_value", "")

    edit = open_modal(bot, "edit page-oncall")
    assert field(edit, "inputs") == inputs
    assert field(edit, "advanced") == advanced
    # Code fields show the shape they take, and the saved action is shown in monospace.
    blocks = {b.get("block_id"): b for b in edit["blocks"]}
    assert blocks["payload"]["element"]["placeholder"]["text"].startswith('{"title": {{')
    assert "line and column" in blocks["payload"]["hint"]["text"]
    assert blocks["headers"]["hint"]["text"].startswith("YAML")
    assert "*Saved as (YAML)*\n```id: page-oncall" in texts(edit["blocks"])
    # A document changed since (here: straight in the database) shows what it holds now.
    stored = bot.store.slack_actions()[0].document
    bot.store.save_slack_action(
        "page-oncall", {**stored, "retry": {"attempts": 3}}, "U0ADMIN", {"change": "edit"}
    )
    edit = open_modal(bot, "edit page-oncall")
    assert field(edit, "inputs") == inputs
    assert "# the receiver is flaky" not in field(edit, "advanced")
    assert "attempts: 3" in field(edit, "advanced")


def test_test_send_shows_what_users_will_see_beside_the_raw_response(bot: Bot) -> None:
    bot.receiver.reply("/api/tickets", status=201, body={"key": "OPS-7", "url": "https://t/7"})
    view = open_modal(bot, "test create-ticket")
    values = bot.requests.values_for(view, {"input:title": "Test me"})
    dry = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)["view"]
    dry["id"] = view["id"]
    bot.requests.block_action(
        "admin_send_test", value="send", user_id="U0ADMIN", channel_id=None, view=dry
    )
    result = bot.slack.wait_for("views.update")[-1].params["view"]
    shown_text = texts(result["blocks"])
    assert "HTTP 201" in shown_text
    seen = shown_text.index("What users will see")
    raw = shown_text.index("The raw response")
    # The response template, rendered and converted exactly as the thread reply shows it.
    reply = shown_text[seen:raw]
    assert "*Ticket created*" in reply and "Ticket *OPS-7* created: <https://t/7|open it>" in reply
    assert '"key": "OPS-7"' in shown_text[raw:]  # and the body as the receiver sent it
    assert "Run again" not in json.dumps(result)


def test_dry_run_fills_the_sender_as_the_send_does(bot: Bot) -> None:
    view = open_modal(bot, "test whoami")
    values = bot.requests.values_for(view, {"input:n": "3"})
    dry = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)["view"]
    shown_text = texts(dry["blocks"])
    preview = '{"email": "ada@example.com", "name": "Ada Admin", "n": 3.0}'
    assert preview in shown_text
    assert "Filled at send time: the run id" in shown_text
    dry["id"] = view["id"]
    bot.requests.block_action(
        "admin_send_test", value="send", user_id="U0ADMIN", channel_id=None, view=dry
    )
    assert bot.receiver.wait(1)[0].body.decode() == preview  # exactly what the preview said


TEAM_CONFIG = """
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
services:
  - {id: checkout-api, name: Checkout API, owner: payments, product: Checkout, channel: C0CHECKOUT}
  - {id: ledger, name: Payments Ledger, owner: payments, system: money, channel: C0PAY}
  - {id: refunds, name: Refunds, owner: payments}
actions:
  - {id: restart, name: Restart, owner: payments, scope: service, webhook: {url: "{receiver}/r"}}
"""


@pytest.fixture
def team_bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, TEAM_CONFIG)


def browse(bot: Bot, text: str = "", channel: str = "C0CHAN") -> dict:
    before = len(bot.slack.calls("response_url"))
    bot.requests.command("/actions", text=text, channel_id=channel)
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params


def test_team_channel_lists_every_service_and_product_reads_product(team_bot: Bot) -> None:
    every = ["Checkout API", "Payments Ledger", "Refunds", "All actions"]
    for text, channel in (
        ("#payments", "C0CHAN"),
        ("<#C0PAY|payments>", "C0CHAN"),
        ("", "C0PAY"),  # the team's channel, which is also the ledger's
    ):
        chooser = browse(team_bot, text, channel)
        buttons = [e["text"]["text"] for b in chooser["blocks"] for e in b.get("elements", [])]
        assert buttons == every, (text, channel)
    page = shown(browse(team_bot, "checkout-api"))
    assert "*Product*\nCheckout" in page and "*System*" not in page
    assert "*System*\nmoney" in shown(browse(team_bot, "ledger"))
