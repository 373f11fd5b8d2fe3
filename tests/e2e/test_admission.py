"""Forged interactivity and rate limits: every way to start a run is admitted on the server.

Each test posts signed Slack payloads to /slack/events, as a tampered client would.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.catalog import Action, Input
from bot.config import ConfigError, validate
from bot.options import OptionSource
from bot.settings import Settings
from bot.store import Job, Run, RunStatus
from bot.store.models import utcnow
from bot.webhooks.transport import build_client
from tests import samples
from tests.conftest import WEBHOOK_SECRET, Bot, Modals, start_bot
from tests.fakes import Receiver
from tests.support import texts

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
services:
  - {id: checkout-api, name: Checkout API, owner: payments, tier: 1}
  - {id: edge, name: Edge Proxy, owner: payments, tier: 3}
actions:
  - id: ticket
    name: Create ticket
    owner: payments
    webhook: {url: "{receiver}/ticket", payload: '{{ manualInputs | json }}'}
    inputs:
      - {identifier: title, displayName: Title, type: text_input, required: true}
  - id: restart
    name: Restart
    owner: payments
    scope: service
    filter: {tier: [1]}
    webhook: {url: "{receiver}/restart", payload: '{"service": {{ service.id | json }}}'}
  - id: grant
    name: Grant access
    owner: payments
    webhook: {url: "{receiver}/grant"}
    expires:
      after: "{{ manualInputs.duration }}"
      max: 2h
      webhook: {url: "{receiver}/revoke"}
    inputs:
      - {identifier: duration, displayName: For how long, type: duration, required: true}
  - id: remote
    name: Remote pick
    owner: payments
    webhook: {url: "{receiver}/remote", payload: '{{ manualInputs | json }}'}
    inputs:
      - identifier: pick
        displayName: Pick
        type: dropdown
        required: true
        values_from: {url: "{receiver}/options/{{ user.id }}"}
  - id: notify
    name: Notify people
    owner: payments
    webhook: {url: "{receiver}/notify", payload: '{{ manualInputs | json }}'}
    inputs:
      - {identifier: whom, displayName: Whom, type: users}
      - {identifier: where, displayName: Where, type: channel}
  - id: flush
    name: Flush cache
    owner: payments
    rate_limit: 2/m
    webhook: {url: "{receiver}/flush"}
  - id: ping
    name: Ping
    owner: payments
    webhook: {url: "{receiver}/ping"}
"""


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def click(bot: Bot, action_id: str, value: str, user_id: str = "U0DEV") -> str:
    """Click a button in a channel message; return the ephemeral answer."""
    before = len(bot.slack.calls("response_url"))
    response = bot.requests.block_action(action_id, value=value, user_id=user_id)
    assert response.status_code == 200, response.text
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params["text"]


def submit(bot: Bot, view: dict, values: dict, user_id: str = "U0DEV") -> dict:
    response = bot.requests.view_submission(view, values, user_id=user_id)
    assert response.status_code == 200, response.text
    return json.loads(response.text) if response.text else {}


def sent(bot: Bot, path: str) -> Any:
    """The first request the receiver got on ``path`` (waiting a little for it)."""
    deadline = time.monotonic() + 5
    while not bot.receiver.requests(path):
        assert time.monotonic() < deadline, f"nothing was sent to {path}"
        time.sleep(0.05)
    return bot.receiver.requests(path)[0]


def nothing_sent(bot: Bot) -> None:
    time.sleep(0.3)
    assert bot.receiver.received == []
    assert bot.store.runs() == []


# --- one-click --------------------------------------------------------------------------


def test_forged_one_click_on_an_action_with_a_form_is_refused(bot: Bot) -> None:
    said = click(bot, "run_now", "ticket")
    assert "Create ticket" in said and "needs its form" in said
    # A time-limited action's duration is an input: without it no revert could be scheduled.
    said = click(bot, "run_now", "grant")
    assert "Grant access" in said and "needs its form" in said
    nothing_sent(bot)
    refused = [e.detail for e in bot.store.events(kind="refused")]
    assert {
        "step": "run_now",
        "reason": "Create ticket needs its form: click Run to fill it in",
    } in (refused)


def test_forged_one_click_outside_the_service_filter_is_refused(bot: Bot) -> None:
    said = click(bot, "run_now", "restart@edge")
    assert "does not apply to Edge Proxy" in said
    said = click(bot, "run_now", "restart")
    assert "does not apply without a service" in said
    nothing_sent(bot)
    click(bot, "run_now", "restart@checkout-api")
    assert bot.receiver.wait(1)[0].json() == {"service": "checkout-api"}


def test_time_limited_form_schedules_its_revert(bot: Bot) -> None:
    view = bot.open_form("grant")
    errors = submit(bot, view, bot.requests.values_for(view, {"input:duration": "3h"}))
    assert errors["errors"] == {"input:duration": "Duration: at most 120 min."}
    submit(bot, view, bot.requests.values_for(view, {"input:duration": "1h"}))
    assert bot.receiver.wait(1)[0].path == "/grant"
    deadline = time.monotonic() + 5
    while not bot.store.pending_jobs(bot.store.runs()[0].id, "revert"):
        assert time.monotonic() < deadline, "no revert was scheduled"
        time.sleep(0.05)


# --- values_from ------------------------------------------------------------------------


def remote_choice(bot: Bot, view: dict, value: str) -> dict:
    values = bot.requests.values_for(view, {})
    values["input:pick"] = {
        "pick": {"type": "external_select", "selected_option": {"value": value}}
    }
    return values


def suggest(bot: Bot, view: dict, user_id: str) -> list[str]:
    payload = {
        "type": "block_suggestion",
        "user": {"id": user_id, "name": user_id.lower()},
        "team": {"id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "t",
        "action_id": "pick",
        "block_id": "input:pick",
        "value": "",
        "view": view,
    }
    response = bot.requests.raw("payload=" + quote(json.dumps(payload)))
    return [o["value"] for o in json.loads(response.text)["options"]]


def test_remote_options_are_checked_for_this_user_at_submit(bot: Bot) -> None:
    bot.receiver.reply("/options/U0OWNER", body=["owners-db"])
    bot.receiver.reply("/options/U0DEV", body=["dev-db"])
    owner_view = bot.open_form("remote", user_id="U0OWNER")
    assert suggest(bot, owner_view, "U0OWNER") == ["owners-db"]
    # An option offered to someone else is not this user's to pick.
    view = bot.open_form("remote")
    errors = submit(bot, view, remote_choice(bot, view, "owners-db"))["errors"]
    assert errors == {"input:pick": "Choose one of the listed options."}
    # Nothing fetched for this user yet (an empty cache): an invented value is refused too.
    errors = submit(bot, view, remote_choice(bot, view, "invented"))["errors"]
    assert errors == {"input:pick": "Choose one of the listed options."}
    assert not bot.receiver.requests("/remote")
    # The source fetched at submit time for this user and form: its own option runs.
    submit(bot, view, remote_choice(bot, view, "dev-db"))
    assert sent(bot, "/remote").json() == {"pick": "dev-db"}
    asked = {r.path for r in bot.receiver.requests() if r.path.startswith("/options/")}
    assert asked == {"/options/U0OWNER", "/options/U0DEV"}


def test_remote_options_fail_closed(bot: Bot) -> None:
    bot.receiver.reply("/options/U0DEV", status=503, body="down")
    view = bot.open_form("remote")
    errors = submit(bot, view, remote_choice(bot, view, "dev-db"))["errors"]
    assert errors == {"input:pick": "The options could not be loaded; try again."}
    time.sleep(0.2)
    assert not bot.receiver.requests("/remote")


def test_options_for_one_user_are_not_reused_for_another() -> None:
    """A source that tells users apart by a header gets asked again for each of them."""
    with Receiver() as receiver:
        receiver.reply("/dbs", body=["owners-db"], times=1)
        receiver.reply("/dbs", body=["dev-db"])
        item = Input.model_validate(
            {
                "identifier": "db",
                "displayName": "Database",
                "type": "dropdown",
                "values_from": {
                    "url": receiver.url_for("/dbs"),
                    "headers": {"X-User": "{{ user.id }}"},
                },
            }
        )
        action = Action.model_validate(samples.action(inputs=[item.model_dump()]))
        settings = Settings(WEBHOOK_SIGNING_SECRET=WEBHOOK_SECRET)

        async def offered() -> list[list[str]]:
            async with build_client(allow_private=True) as client:
                source = OptionSource(settings, client)
                found = []
                for user in ("U0OWNER", "U0DEV", "U0OWNER"):
                    options = await source.allowed(
                        samples.issue_catalog(),
                        action,
                        action.inputs[0],
                        values={},
                        user={"id": user},
                        service=None,
                    )
                    found.append([o.value for o in options])
                return found

        assert asyncio.run(offered()) == [["owners-db"], ["dev-db"], ["owners-db"]]
        assert [r.headers["X-User"] for r in receiver.requests("/dbs")] == ["U0OWNER", "U0DEV"]


# --- pickers ----------------------------------------------------------------------------


def test_people_picker_is_capped_and_channels_are_checked_with_slack(bot: Bot) -> None:
    view = bot.open_form("notify")
    element = next(b for b in view["blocks"] if b.get("block_id") == "input:whom")["element"]
    assert element["max_selected_items"] == 20
    crowd = [f"U0P{n:03}" for n in range(21)]
    errors = submit(bot, view, bot.requests.values_for(view, {"input:whom": crowd}))["errors"]
    assert errors == {"input:whom": "Choose at most 20 people."}
    bot.slack.missing_channels.add("C0FORGED")
    errors = submit(bot, view, bot.requests.values_for(view, {"input:where": "C0FORGED"}))
    assert errors["errors"] == {"input:where": "Choose a channel from the list."}
    assert any(c.params.get("channel") == "C0FORGED" for c in bot.slack.calls("conversations.info"))
    time.sleep(0.2)
    assert not bot.receiver.received
    submit(
        bot,
        view,
        bot.requests.values_for(view, {"input:whom": crowd[:20], "input:where": "C0CHAN"}),
    )
    assert bot.receiver.wait(1)[0].json() == {"whom": crowd[:20], "where": "C0CHAN"}


# --- Run again and cancel ---------------------------------------------------------------


def rerun_form(bot: Bot, run_id: str, user_id: str) -> dict:
    before = len(bot.slack.calls("views.open"))
    bot.requests.block_action("rerun", value=run_id, user_id=user_id)
    return bot.slack.wait_for("views.open", count=before + 1)[-1].params["view"]


def test_run_again_prefills_only_for_the_requester_or_an_admin(bot: Bot) -> None:
    view = bot.open_form("ticket")
    submit(bot, view, bot.requests.values_for(view, {"input:title": "dev's private plan"}))
    bot.receiver.wait(1)
    run_id = bot.store.runs()[0].id
    for user_id, prefilled in (("U0OWNER", False), ("U0DEV", True), ("U0ADMIN", True)):
        again = rerun_form(bot, run_id, user_id)
        title = next(b for b in again["blocks"] if b.get("block_id") == "input:title")
        shown = title["element"].get("initial_value")
        assert (shown == "dev's private plan") is prefilled, (user_id, shown)
        assert ("dev's private plan" in json.dumps(again)) is prefilled


def pending_revert(bot: Bot) -> Run:
    parent = Run(
        action_id="grant",
        user_id="U0DEV",
        user_name="dev",
        channel_id="C0CHAN",
        inputs={"duration": "1h"},
        status=RunStatus.SUCCESS,
        finished_at=utcnow(),
    )
    bot.store.create_run(parent, {})
    revert = Run(
        action_id="grant",
        user_id="U0DEV",
        user_name="dev",
        channel_id="C0CHAN",
        inputs={"duration": "1h"},
        parent_id=parent.id,
        kind="revert",
    )
    later = utcnow() + timedelta(hours=1)  # retrying: not being sent right now
    bot.store.create_run(revert, {}, [Job(kind="deliver", due_at=later)])
    return revert


def test_the_requester_cannot_cancel_a_revert_and_a_cancelled_one_is_escalated(
    bot: Bot,
) -> None:
    revert = pending_revert(bot)
    said = click(bot, "cancel_run", revert.id, user_id="U0DEV")
    assert said.startswith("You can't cancel this run: a revert undoes")
    assert bot.store.get_run(revert.id).status == "PENDING"
    click_time = len(bot.slack.calls("response_url"))
    bot.requests.block_action("cancel_run", value=revert.id, user_id="U0ADMIN")
    escalation = bot.slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == "C0PAY", timeout=10
    )[-1].params["text"]
    assert "was cancelled by <@U0ADMIN>" in escalation and "undo it by hand" in escalation
    assert bot.store.get_run(revert.id).status == "CANCELLED"
    assert len(bot.slack.calls("response_url")) == click_time  # no complaint to the admin


# --- admin test send --------------------------------------------------------------------


def test_admin_test_send_of_a_time_limited_action_is_refused(bot: Bot) -> None:
    modals = Modals.before(bot.slack)
    bot.requests.command("/actions-admin", text="test grant", user_id="U0ADMIN")
    view = modals.opened()
    values = bot.requests.values_for(view, {"input:duration": "1h"})
    dry = submit(bot, view, values, user_id="U0ADMIN")["view"]
    dry["id"] = view["id"]
    bot.requests.block_action(
        "admin_send_test", value="send", user_id="U0ADMIN", channel_id=None, view=dry
    )
    result = bot.slack.wait_for("views.update")[-1].params["view"]
    assert "Not sent: a time-limited action can't be sent as a test" in texts(result["blocks"])
    nothing_sent(bot)


# --- rate limits ------------------------------------------------------------------------


def test_rate_limit_per_action_says_when_and_spares_other_users(bot: Bot) -> None:
    for _ in range(2):
        assert "Running" in click(bot, "run_now", "flush")
    said = click(bot, "run_now", "flush")
    found = re.search(r"try again in (\d+) s", said)
    assert found and 1 <= int(found[1]) <= 60, said
    assert "Flush cache" in said and "2 times in the last minute" in said
    assert "Running" in click(bot, "run_now", "flush", user_id="U0OWNER")
    bot.receiver.wait(3)
    time.sleep(0.3)
    assert len(bot.receiver.requests("/flush")) == 3
    assert "Running" in click(bot, "run_now", "ping")  # other actions have their own count
    refused = [e for e in bot.store.events(kind="refused") if e.actor == "U0DEV"]
    assert [e.detail["step"] for e in refused] == ["run_now"]


def test_rate_limit_applies_to_forms_and_the_default_is_a_setting(tmp_path: Path) -> None:
    for bot in start_bot(tmp_path, CONFIG, RUN_RATE_LIMIT="1/h"):
        view = bot.open_form("ticket")
        submit(bot, view, bot.requests.values_for(view, {"input:title": "one"}))
        bot.receiver.wait(1)
        view = bot.open_form("ticket")
        answer = submit(bot, view, bot.requests.values_for(view, {"input:title": "two"}))
        said = texts(answer["view"]["blocks"])
        assert "1 times in the last hour" in said and "try again in" in said
        time.sleep(0.3)
        assert len(bot.receiver.requests("/ticket")) == 1


def test_a_bad_rate_limit_is_a_config_error_naming_its_path() -> None:
    document: dict[str, Any] = samples.issue_document()
    document["actions"][0]["rate_limit"] = "5/minute"
    with pytest.raises(ConfigError) as caught:
        validate(document, source="actions.yml")
    assert any("rate_limit" in e and "not a rate such as 5/m" in e for e in caught.value.errors)
