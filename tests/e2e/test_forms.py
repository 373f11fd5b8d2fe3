"""Forms, service pages, search and the Home tab, end to end over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.testing import User
from tests.conftest import Bot, Modals, start_bot
from tests.support import texts

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
  - {id: platform, name: Platform, members: [U0ADMIN], channel: C0PLAT}
services:
  - {id: checkout-api, name: Checkout API, owner: payments, tier: 1, lifecycle: production,
     language: python, channel: C0CHECKOUT, tags: {pd_id: P123},
     links: [{title: Runbook, url: "https://wiki.example.com/checkout"}]}
  - {id: ledger, name: Payments Ledger, owner: payments, tier: 2, lifecycle: production}
  - {id: edge, name: Edge Proxy, owner: platform, tier: 3, lifecycle: experimental, channel: C0EDGE}
actions:
  - id: everything
    name: Every input
    category: Testing
    owner: platform
    webhook:
      url: "{receiver}/everything"
      payload: '{{ manualInputs | json }}'
    inputs:
      - {identifier: text, displayName: Text, type: text_input, required: true}
      - {identifier: area, displayName: Area, type: text_area}
      - {identifier: pick, displayName: Pick, type: dropdown, values: [a, b]}
      - {identifier: many, displayName: Many, type: multi_select, values: [x, y, z]}
      - {identifier: count, displayName: Count, type: number, min: 1, max: 10, integer: true}
      - {identifier: ratio, displayName: Ratio, type: number}
      - {identifier: ok, displayName: Sure?, type: checkbox}
      - {identifier: boxes, displayName: Boxes, type: checkboxes, values: [one, two]}
      - {identifier: radio, displayName: Radio, type: radio, values: [left, right]}
      - {identifier: day, displayName: Day, type: date}
      - {identifier: at, displayName: At, type: time}
      - {identifier: when, displayName: When, type: datetime}
      - {identifier: who, displayName: Who, type: user}
      - {identifier: whom, displayName: Whom, type: users}
      - {identifier: where, displayName: Where, type: channel}
      - {identifier: mail, displayName: Mail, type: email}
      - {identifier: link, displayName: Link, type: url}
      - {identifier: token, displayName: Token, type: secret}
      - {identifier: svc, displayName: Service, type: dropdown, binding: {resource: services}}
      - {identifier: remote, displayName: Remote, type: dropdown, values_from: {url: "{receiver}/options"}}
  - id: restart
    name: Restart
    category: Operations
    owner: payments
    scope: service
    filter: {tier: [1, 2]}
    webhook: {url: "{receiver}/restart", payload: '{"service": {{ service.id | json }}, "channel": {{ manualInputs.notify | json }}}'}
    inputs:
      - {identifier: notify, displayName: Notify, type: channel, defaultValue: "{{ service.channel }}"}
  - id: env-deploy
    name: Deploy to environment
    category: Operations
    owner: platform
    webhook: {url: "{receiver}/deploy", payload: '{"env": {{ manualInputs.env | json }}, "region": {{ manualInputs.region | json }}}'}
    inputs:
      - {identifier: env, displayName: Environment, type: dropdown, values: [staging, prod], required: true}
      - identifier: region
        displayName: Region
        type: dropdown
        dependsOn: [env]
        values: "{% if manualInputs.env == 'prod' %}eu-prod,us-prod{% else %}staging-1{% endif %}"
      - identifier: reason
        displayName: Why prod?
        type: text_input
        dependsOn: [env]
        visible: "{% if manualInputs.env == 'prod' %}true{% endif %}"
        required: true
  - id: flush-cache
    name: Flush cache
    description: One click, no form
    owner: platform
    confirm: This drops every cached page.
    webhook: {url: "{receiver}/flush", method: POST}
"""


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def input_blocks(view: dict) -> dict[str, dict]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_every_input_type_reaches_the_webhook_exactly(bot: Bot) -> None:
    bot.receiver.reply("/options", body=["r1", {"value": "r2", "display": "Remote two"}])
    view = bot.open_form("everything")
    kinds = {k: b["element"]["type"] for k, b in input_blocks(view).items()}
    assert kinds == {
        "input:text": "plain_text_input",
        "input:area": "plain_text_input",
        "input:pick": "static_select",
        "input:many": "multi_static_select",
        "input:count": "number_input",
        "input:ratio": "number_input",
        "input:ok": "checkboxes",
        "input:boxes": "checkboxes",
        "input:radio": "radio_buttons",
        "input:day": "datepicker",
        "input:at": "timepicker",
        "input:when": "datetimepicker",
        "input:who": "users_select",
        "input:whom": "multi_users_select",
        "input:where": "conversations_select",
        "input:mail": "email_text_input",
        "input:link": "url_text_input",
        "input:token": "plain_text_input",
        "input:svc": "external_select",
        "input:remote": "external_select",
    }
    # Type-ahead: the catalog binding and the remote source answer block_suggestion.
    assert [o["value"] for o in suggest(bot, view, "svc", "ledg")] == ["ledger"]
    assert [o["value"] for o in suggest(bot, view, "remote", "")] == ["r1", "r2"]
    answers: dict[str, Any] = {
        "text": "hello",
        "area": "two\nlines",
        "pick": "b",
        "many": ["x", "z"],
        "count": "7",
        "ratio": "0.25",
        "ok": ["true"],
        "boxes": ["two"],
        "radio": "left",
        "day": "2026-12-01",
        "at": "09:30",
        "when": 1796140800,
        "who": "U0OWNER",
        "whom": ["U0DEV", "U0ADMIN"],
        "where": "C0PAY",
        "mail": "a@example.com",
        "link": "https://example.com/x",
        "token": "hunter2-very-secret",
        "svc": "ledger",
        "remote": "r2",
    }
    values = bot.requests.values_for(
        view, {f"input:{k}": v for k, v in answers.items() if k not in ("svc", "remote")}
    )
    values["input:svc"] = {
        "svc": {"type": "external_select", "selected_option": {"value": "ledger"}}
    }
    values["input:remote"] = {
        "remote": {"type": "external_select", "selected_option": {"value": "r2"}}
    }
    response = bot.requests.view_submission(view, values)
    assert json.loads(response.text).get("response_action") == "update", response.text
    request = bot.receiver.wait(2)[-1]
    assert request.path == "/everything"
    assert request.json() == {
        "text": "hello",
        "area": "two\nlines",
        "pick": "b",
        "many": ["x", "z"],
        "count": 7,
        "ratio": 0.25,
        "ok": True,
        "boxes": ["two"],
        "radio": "left",
        "day": "2026-12-01",
        "at": "09:30",
        "when": "2026-12-01T16:00:00Z",
        "who": "U0OWNER",
        "whom": ["U0DEV", "U0ADMIN"],
        "where": "C0PAY",
        "mail": "a@example.com",
        "link": "https://example.com/x",
        "token": "hunter2-very-secret",
        "svc": "ledger",
        "remote": "r2",
    }
    # The secret reached the receiver only: not the database, not Slack.
    bot.slack.wait_for("chat.update")
    run = bot.store.runs()[0]
    stored = json.dumps([run.inputs] + [e.detail for e in bot.store.events(run.id)])
    assert "hunter2-very-secret" not in stored
    assert "hunter2-very-secret" not in json.dumps([c.params for c in bot.slack.calls()])
    assert "hunter2-very-secret" not in json.dumps([j.data for j in bot.store.pending_jobs()])
    assert run.inputs["token"] == "[REDACTED]"


def suggest(bot: Bot, view: dict, action_id: str, query: str) -> list[dict]:
    payload = {
        "type": "block_suggestion",
        "user": {"id": "U0DEV", "name": "dev"},
        "team": {"id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "t",
        "action_id": action_id,
        "block_id": f"input:{action_id}",
        "value": query,
        "view": view,
    }
    response = bot.requests.raw("payload=" + quote(json.dumps(payload)))
    assert response.status_code == 200, response.text
    return json.loads(response.text)["options"]


def test_validation_errors_per_type(bot: Bot) -> None:
    view = bot.open_form("everything")
    answers = {
        "input:text": "x",
        "input:count": "11",
        "input:mail": "nope",
        "input:link": "ftp://x",
    }
    errors = json.loads(
        bot.requests.view_submission(view, bot.requests.values_for(view, answers)).text
    )["errors"]
    assert errors == {
        "input:count": "At most 10.",
        "input:mail": "Enter an email address, like name@example.com.",
        "input:link": "Enter a web address starting with https://.",
    }


def test_failing_remote_options_say_so(bot: Bot) -> None:
    bot.receiver.reply("/options", status=500, body="boom")
    view = bot.open_form("everything")
    [only] = suggest(bot, view, "remote", "")
    assert "Couldn't load options" in only["text"]["text"] and "HTTP 500" in only["text"]["text"]


def test_deactivated_user_is_refused(bot: Bot) -> None:
    bot.slack.users["U0GONE"] = User("U0GONE", "gone", "Gone", "g@example.com", deleted=True)
    view = bot.open_form("everything")
    values = bot.requests.values_for(view, {"input:text": "x", "input:who": "U0GONE"})
    errors = json.loads(bot.requests.view_submission(view, values).text)["errors"]
    assert errors == {"input:who": "That account is deactivated; choose someone else."}


def test_dependent_inputs_redraw_and_keep_typed_values(bot: Bot) -> None:
    view = bot.open_form("env-deploy")
    blocks = input_blocks(view)
    assert blocks["input:env"]["dispatch_action"] is True
    assert "input:reason" not in blocks  # hidden until prod
    assert [o["value"] for o in blocks["input:region"]["element"]["options"]] == ["staging-1"]
    state = {"values": bot.requests.values_for(view, {"input:env": "prod"})}
    bot.requests.block_action(
        "env",
        block_id="input:env",
        channel_id=None,
        container={"type": "view", "view_id": view["id"]},
        view={**view, "state": state},
        selected_option={"value": "prod"},
    )
    redrawn = bot.slack.wait_for("views.update")[-1].params["view"]
    blocks = input_blocks(redrawn)
    assert [o["value"] for o in blocks["input:region"]["element"]["options"]] == [
        "eu-prod",
        "us-prod",
    ]
    assert blocks["input:env"]["element"]["initial_option"]["value"] == "prod"
    assert blocks["input:reason"]["optional"] is False
    # Submitting prod without a reason is refused on the server; with one, it runs.
    final = {**view, "blocks": redrawn["blocks"]}
    values = bot.requests.values_for(final, {"input:env": "prod", "input:region": "eu-prod"})
    errors = json.loads(bot.requests.view_submission(final, values).text)["errors"]
    assert errors == {"input:reason": "Why prod? is required."}
    values = bot.requests.values_for(
        final, {"input:env": "prod", "input:region": "us-prod", "input:reason": "hotfix"}
    )
    bot.requests.view_submission(final, values)
    assert bot.receiver.wait(1)[0].json() == {"env": "prod", "region": "us-prod"}
    # A crafted region that the rendered options do not offer is refused.
    view2 = bot.open_form("env-deploy")
    values = bot.requests.values_for(view2, {"input:env": "staging"})
    values["input:region"] = {
        "region": {"type": "static_select", "selected_option": {"value": "eu-prod"}}
    }
    errors = json.loads(bot.requests.view_submission(view2, values).text)["errors"]
    assert errors == {"input:region": "Choose one of the listed options."}


def test_service_page_by_id_fuzzy_name_and_channel(bot: Bot) -> None:
    for text, channel in (
        ("checkout-api", "C0CHAN"),
        ("checkout", "C0CHAN"),
        ("Checkut API", "C0CHAN"),
        ("", "C0CHECKOUT"),
    ):
        bot.slack.reset()
        bot.requests.command("/actions", text=text, channel_id=channel)
        shown = texts(bot.slack.wait_for("response_url")[0].params["blocks"])
        assert "Checkout API" in shown and "Payments" in shown, (text, shown)
        assert "Tier" in shown and "production" in shown and "python" in shown
        assert "Runbook" in shown and "Restart" in shown
        assert "Deploy to environment" not in shown  # global actions are not service actions


def test_service_filter_and_fixed_service_form(bot: Bot) -> None:
    bot.requests.command("/actions", text="edge")  # tier 3: the filter excludes it
    shown = texts(bot.slack.wait_for("response_url")[0].params["blocks"])
    assert "No actions apply to Edge Proxy yet" in shown
    bot.slack.reset()
    modals = Modals.before(bot.slack)
    bot.requests.block_action("run_action", value="restart@checkout-api", user_id="U0OWNER")
    view = modals.opened()
    assert "Service: *Checkout API*" in texts(view["blocks"])
    channel = input_blocks(view)["input:notify"]["element"]
    assert channel["initial_conversation"] == "C0CHECKOUT"  # Liquid default over service
    bot.submit(view, {"input:notify": "C0CHECKOUT"}, user_id="U0OWNER")
    assert bot.receiver.wait(1)[0].json() == {"service": "checkout-api", "channel": "C0CHECKOUT"}


def test_team_channel_with_several_services_offers_a_choice(bot: Bot) -> None:
    bot.requests.command("/actions", channel_id="C0PAY")
    message = bot.slack.wait_for("response_url")[0].params["blocks"]
    shown = texts(message)
    assert "Payments's services" in shown and "Checkout API" in shown
    assert "Payments Ledger" in shown and "All actions" in shown


def test_search_and_no_results(bot: Bot) -> None:
    bot.requests.command("/actions", text="cache")
    shown = texts(bot.slack.wait_for("response_url")[0].params["blocks"])
    assert "Flush cache" in shown and "Every input" not in shown
    bot.slack.reset()
    bot.requests.command("/actions", text="frobnicate widgets")
    shown = texts(bot.slack.wait_for("response_url")[0].params["blocks"])
    assert "No actions match" in shown


def test_one_click_with_confirm(bot: Bot) -> None:
    bot.requests.command("/actions", text="flush")
    card = next(
        b for b in bot.slack.wait_for("response_url")[0].params["blocks"] if b.get("accessory")
    )
    button = card["accessory"]
    assert button["action_id"] == "run_now"
    assert button["confirm"]["text"]["text"] == "This drops every cached page."
    bot.requests.block_action("run_now", value="flush-cache")
    assert bot.receiver.wait(1)[0].path == "/flush"
    assert not bot.slack.calls("views.open")


def test_stale_button(bot: Bot) -> None:
    bot.requests.block_action("run_action", value="deleted-action")
    view = bot.slack.wait_for("views.open")[0].params["view"]
    assert "no longer exists" in texts(view["blocks"])


def test_home_tab_with_300_actions_pages(tmp_path: Path) -> None:
    actions = "\n".join(
        f"  - {{id: a{n:03}, name: Action {n:03}, category: Cat {n % 4}, owner: t, "
        f"webhook: {{url: 'https://x.example.com/{n}'}}}}"
        for n in range(300)
    )
    config = f"teams:\n  - {{id: t, name: T}}\nactions:\n{actions}\n"
    for bot in start_bot(tmp_path, config):
        bot.requests.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"})
        seen: list[str] = []
        view = bot.slack.wait_for("views.publish")[-1].params["view"]
        for _ in range(40):
            assert len(view["blocks"]) <= 100
            seen += [
                b["block_id"].removeprefix("card:")
                for b in view["blocks"]
                if b.get("block_id", "").startswith("card:")
            ]
            pager = next((b for b in view["blocks"] if b.get("block_id") == "pager"), None)
            nxt = [e for e in (pager or {}).get("elements", []) if e["action_id"].endswith("next")]
            if not nxt:
                break
            count = len(bot.slack.calls("views.publish"))
            bot.requests.block_action(
                nxt[0]["action_id"],
                value=nxt[0]["value"],
                channel_id=None,
                container={"type": "view"},
            )
            view = bot.slack.wait_for("views.publish", count=count + 1)[-1].params["view"]
        assert sorted(seen) == [f"a{n:03}" for n in range(300)]
        assert "Cat 0" in texts(view["blocks"]) or "Cat 3" in texts(view["blocks"])


def test_home_search_and_recent_runs(bot: Bot) -> None:
    bot.submit(bot.open_form("env-deploy"), {"input:env": "staging", "input:region": "staging-1"})
    bot.slack.wait_for("chat.update")
    deadline = time.monotonic() + 5
    while not bot.store.runs()[0].final:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    bot.requests.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"})
    home = bot.slack.wait_for("views.publish")[-1].params["view"]
    shown = texts(home["blocks"])
    assert "Your recent runs" in shown and "Deploy to environment" in shown
    assert "https://example.slack.com/archives/" in json.dumps(home)  # links to the thread
    bot.requests.block_action(
        "home_search", value="flush", channel_id=None, container={"type": "view"}
    )
    home = bot.slack.wait_for(
        "views.publish", lambda c: '"initial_value": "flush"' in json.dumps(c.params)
    )[-1].params["view"]
    cards = [b["block_id"] for b in home["blocks"] if b.get("block_id", "").startswith("card:")]
    assert cards == ["card:flush-cache"]
