"""End to end over real HTTP: /actions → card → modal → signed webhook → thread → audit."""

from __future__ import annotations

import json
import time

from tests.conftest import TRACKER_TOKEN, WEBHOOK_SECRET, Bot, Modals
from tests.fakes import verify_opslevel_style, verify_standard
from tests.support import texts


def test_actions_command_lists_cards(bot: Bot) -> None:
    started = time.perf_counter()
    response = bot.requests.command("/actions", user_id="U0DEV")
    assert response.status_code == 200
    assert time.perf_counter() - started < 1.0
    reply = bot.slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    shown = texts(reply["blocks"])
    assert "Create ticket" in shown and "Opens a ticket in the tracker" in shown
    assert "Payments" in shown
    buttons = [
        b["accessory"] for b in reply["blocks"] if b.get("accessory", {}).get("type") == "button"
    ]
    assert {b["value"] for b in buttons} == {"create-ticket", "broken-json"}
    # The admin-only action is shown, disabled, naming whom to ask.
    assert "Restart service" in shown
    assert "only admins can run this action" in shown and "<#C0PAY>" in shown


def test_full_run(bot: Bot) -> None:
    view = bot.open_form("create-ticket")
    labels = texts(view["blocks"])
    assert "Title" in labels and "Priority" in labels
    bot.receiver.reply("/api/tickets", status=201, body={"key": "OPS-7", "url": "https://t/7"})
    tricky = 'Disk full {{ 7*7 }} "} <!channel>'
    response = bot.submit(view, {"title": tricky, "details": "line1\nline2", "prio": "high"})
    assert response.status_code == 200
    assert json.loads(response.text)["response_action"] == "update"

    received = bot.receiver.wait(1)[0]
    assert received.method == "POST" and received.path == "/api/tickets"
    verify_opslevel_style(
        WEBHOOK_SECRET,
        received.headers,
        received.body,
        signed_headers=["Content-Type", "Authorization"],
    )
    verify_standard(WEBHOOK_SECRET, received.headers, received.body)
    payload = json.loads(received.body)
    assert payload == {
        "title": tricky,
        "priority": "high",
        "user": "U0DEV",
        "details": "line1\nline2",
    }
    assert received.headers["Authorization"] == f"Bearer {TRACKER_TOKEN}"
    run_id = received.headers["X-Actions-Action-Uuid"]

    # Status message in the channel, result in its thread, status marked done.
    bot.slack.wait_for("chat.update")
    status = bot.slack.messages("C0CHAN")[0]
    assert ":white_check_mark:" in status["text"] or ":white_check_mark:" in texts(status["blocks"])
    assert "<@U0DEV>" in texts(status["blocks"]) and "Create ticket" in texts(status["blocks"])
    assert "&lt;!channel&gt;" in texts(status["blocks"])  # user input is inert
    thread = bot.slack.thread("C0CHAN", status["ts"])
    assert len(thread) == 1
    result = texts(thread[0]["blocks"])
    assert "*Ticket created*" in result
    assert "Ticket *OPS-7* created: <https://t/7|open it>" in result

    # The modal shows the outcome too.
    final = bot.slack.wait_for("views.update")[-1].params["view"]
    assert "succeeded" in texts(final["blocks"])

    # Audit: the run and its events, with the secret redacted everywhere.
    run = bot.store.get_run(run_id)
    assert run.status == "SUCCESS" and run.action_id == "create-ticket"
    assert run.user_id == "U0DEV" and run.channel_id == "C0CHAN"
    assert run.inputs["title"] == tricky and run.finished_at is not None
    kinds = [e.kind for e in bot.store.events(run_id)]
    assert kinds == ["requested", "webhook_request", "webhook_response", "finished"]
    events = {e.kind: e.detail for e in bot.store.events(run_id)}
    assert events["webhook_request"]["headers"]["Authorization"] == "[REDACTED]"  # by name
    assert events["webhook_request"]["url"].endswith("/api/tickets")
    assert json.loads(events["webhook_request"]["body"])["title"] == tricky
    assert events["webhook_response"]["status"] == 201
    assert "OPS-7" in events["webhook_response"]["body"]
    assert "OPS-7" in events["finished"]["result"]
    everything = json.dumps([e.detail for e in bot.store.events(run_id)])
    assert TRACKER_TOKEN not in everything


def test_receiver_error_names_owner(bot: Bot) -> None:
    bot.receiver.reply("/api/tickets", status=500, body="boom")
    view = bot.open_form("create-ticket")
    bot.submit(view, {"title": "x"})
    bot.slack.wait_for("chat.update")
    status = bot.slack.messages("C0CHAN")[0]
    assert ":x:" in texts(status["blocks"])
    reply = texts(bot.slack.thread("C0CHAN", status["ts"])[0]["blocks"])
    assert "Failed with 500" in reply
    assert "Payments" in reply and "<#C0PAY>" in reply


def test_timeout_and_connection_refused(bot: Bot) -> None:
    bot.receiver.reply("/api/tickets", delay=3)
    bot.submit(bot.open_form("create-ticket"), {"title": "slow"})
    bot.slack.wait_for("chat.update", timeout=10)
    status = bot.slack.messages("C0CHAN")[0]
    reply = texts(bot.slack.thread("C0CHAN", status["ts"])[0]["blocks"])
    assert "did not answer in time" in reply and "Payments" in reply
    bot.slack.wait_for("views.update")  # the first form shows its result: before the reset

    bot.receiver.stop()
    bot.slack.reset()
    bot.submit(bot.open_form("create-ticket"), {"title": "down"})
    bot.slack.wait_for(
        "chat.postMessage", lambda c: "could not be reached" in json.dumps(c.params), timeout=10
    )
    status = bot.slack.messages("C0CHAN")[0]
    thread = bot.slack.thread("C0CHAN", status["ts"])
    # The one retry note, edited after the last attempt: it no longer promises a retry.
    assert thread[0]["text"] == "Attempt 2 of 2 failed (connection); giving up."
    assert "could not be reached" in texts(thread[1]["blocks"])


def test_invalid_json_payload_is_not_sent(bot: Bot) -> None:
    view = bot.open_form("broken-json")
    bot.submit(view, {"title": 'say "hi"'})
    bot.slack.wait_for("chat.update")
    status = bot.slack.messages("C0CHAN")[0]
    reply = texts(bot.slack.thread("C0CHAN", status["ts"])[0]["blocks"])
    assert "did not produce valid JSON" in reply and "Payments" in reply
    assert bot.receiver.received == []
    run = bot.store.runs()[0]
    assert run.status == "FAILURE"
    detail = {e.kind: e.detail for e in bot.store.events(run.id)}["invalid_payload"]
    assert detail["payload"] == '{"title": "say "hi""}'


def test_validation_errors_are_inline(bot: Bot) -> None:
    view = bot.open_form("create-ticket")
    response = bot.submit(view, {"title": "x" * 81, "prio": "high"})
    body = json.loads(response.text)
    assert body["response_action"] == "errors"
    assert "At most 80 characters" in body["errors"]["input:title"]
    response = bot.submit(view, {"prio": "high"})
    assert json.loads(response.text)["errors"] == {"input:title": "Title is required."}
    assert bot.receiver.received == [] and bot.store.runs() == []


def test_crafted_dropdown_value_is_refused(bot: Bot) -> None:
    view = bot.open_form("create-ticket")
    values = bot.requests.values_for(view, {"title": "t"})
    values["input:prio"]["prio"]["selected_option"] = {"value": "urgent"}
    body = json.loads(bot.requests.view_submission(view, values).text)
    assert body["errors"]["input:prio"] == "Choose one of the listed options."


def test_service_action_gets_service_context(bot: Bot) -> None:
    view = bot.open_form("restart", user_id="U0ADMIN")
    response = bot.submit(view, {"service": "checkout-api"}, user_id="U0ADMIN")
    assert response.status_code == 200
    received = bot.receiver.wait(1)[0]
    assert received.path == "/restart/checkout-api"
    assert json.loads(received.body) == {
        "service": "Checkout API",
        "pd": "P123",
        "owner": "Payments",
    }
    bot.slack.wait_for("chat.update")
    assert "Checkout API" in texts(bot.slack.messages("C0CHAN")[0]["blocks"])


def test_non_admin_is_refused_at_click_and_submit(bot: Bot) -> None:
    bot.requests.block_action("run_action", value="restart", user_id="U0DEV")
    view = bot.slack.wait_for("views.open")[0].params["view"]
    shown = texts(view["blocks"])
    assert "only admins can run this action" in shown and "Payments" in shown
    # A hand-crafted submission with the admin's form: refused on the server too.
    admin_view = bot.open_form("restart", user_id="U0ADMIN")
    response = bot.submit(admin_view, {"service": "checkout-api"}, user_id="U0DEV")
    body = json.loads(response.text)
    assert body["response_action"] == "update"
    assert "only admins" in texts(body["view"]["blocks"])
    time.sleep(0.3)
    assert bot.receiver.received == []
    refusals = bot.store.events(kind="refused")
    assert {e.detail["step"] for e in refusals} == {"open_form", "submit"}
    assert all(e.actor == "U0DEV" and e.action_id == "restart" for e in refusals)


def test_tampered_metadata_is_refused(bot: Bot) -> None:
    view = bot.open_form("create-ticket")
    view["private_metadata"] = view["private_metadata"].replace("C0CHAN", "C0OTHER")
    body = json.loads(bot.submit(view, {"title": "t"}).text)
    assert "out of date" in texts(body["view"]["blocks"])
    assert bot.store.runs() == []


def test_slack_retry_does_not_send_twice(bot: Bot) -> None:
    view = bot.open_form("create-ticket")
    values = bot.requests.values_for(view, {"title": "once"})
    first = bot.requests.view_submission(view, values)
    retry = bot.requests.with_overrides(
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    second = retry.view_submission(view, values)
    assert first.status_code == 200 and second.status_code == 200
    bot.slack.wait_for("chat.update")
    time.sleep(0.3)
    assert len(bot.receiver.received) == 1
    assert len(bot.store.runs()) == 1


def test_bad_signature_and_stale_timestamp(bot: Bot) -> None:
    forged = bot.requests.with_overrides(signature="v0=" + "0" * 64)
    assert forged.command("/actions").status_code == 401
    stale = bot.requests.with_overrides(timestamp=int(time.time()) - 301)
    assert stale.command("/actions").status_code == 401
    time.sleep(0.2)
    assert bot.slack.calls("response_url") == []


def test_admin_command(bot: Bot) -> None:
    bot.requests.command("/actions-admin", text="list", user_id="U0DEV")
    refusal = bot.slack.wait_for("response_url")[0].params
    assert "only for the bot's admins" in refusal["text"]
    bot.requests.command("/actions-admin", user_id="U0ADMIN")
    listing = texts(bot.slack.wait_for("response_url", count=2)[1].params["blocks"])
    for name in ("Create ticket", "Restart service", "Broken JSON"):
        assert name in listing
    assert "access: admins" in listing and "published" in listing


def test_home_tab(bot: Bot) -> None:
    bot.requests.event(
        {"type": "app_home_opened", "user": "U0DEV", "tab": "home", "channel": "D0DEV"}
    )
    call = bot.slack.wait_for("views.publish")[0]
    assert call.params["user_id"] == "U0DEV"
    shown = texts(call.params["view"]["blocks"])
    assert "Create ticket" in shown and "only admins can run this action" in shown


def test_run_from_home_posts_to_dm(bot: Bot) -> None:
    modals = Modals.before(bot.slack)
    bot.requests.block_action("run_action", value="create-ticket", channel_id=None)
    view = modals.opened()
    bot.submit(view, {"title": "from home"})
    bot.slack.wait_for("chat.update")
    assert bot.slack.messages("D0DEV"), "status message goes to the user's DM"


def test_not_in_channel_falls_back_to_dm(bot: Bot) -> None:
    bot.slack.set_response("chat.postMessage", {"ok": False, "error": "not_in_channel"}, times=1)
    bot.submit(bot.open_form("create-ticket"), {"title": "t"})
    bot.slack.wait_for("chat.update")
    dm = bot.slack.messages("D0DEV")
    assert "Create ticket" in texts(dm[0]["blocks"])
    thread = bot.slack.thread("D0DEV", dm[0]["ts"])
    assert "I couldn't post in <#C0CHAN>" in thread[0]["text"]
    assert bot.receiver.received


def test_malformed_payloads_do_not_crash(bot: Bot) -> None:
    for body in ("payload=not-json", "payload=%7B%7D", "payload=%5B1%5D", "", "command=/actions"):
        response = bot.requests.raw(body)
        assert response.status_code in (200, 400, 404), (body, response.status_code)
    view = bot.open_form("create-ticket")
    broken = dict(view, state=None)
    response = bot.requests.view_submission(broken, {})
    assert response.status_code == 200
    assert json.loads(response.text)["response_action"] == "errors"
    # The bot is still healthy afterwards.
    assert bot.requests.command("/actions").status_code == 200
