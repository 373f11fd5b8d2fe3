"""The run detail view, opened from the status message, Home, a service page and the admin
run list; recent runs on service pages. Through the real HTTP surface."""

from __future__ import annotations

import json

from tests.conftest import TRACKER_TOKEN, Bot, Modals
from tests.support import texts, wait


def details_buttons(blocks: list[dict]) -> list[dict]:
    found = []
    for block in blocks:
        found += [e for e in block.get("elements") or [] if e.get("action_id") == "run_details"]
        if (block.get("accessory") or {}).get("action_id") == "run_details":
            found.append(block["accessory"])
    return found


def open_details(bot: Bot, run_id: str, user: str, **where: object) -> dict:
    modals = Modals.before(bot.slack)
    response = bot.requests.block_action("run_details", value=run_id, user_id=user, **where)
    assert response.status_code == 200
    return modals.opened()


def ticket_after_a_retry(bot: Bot) -> str:
    """A run that failed once with 503, then succeeded: its id."""
    bot.receiver.reply("/api/tickets", status=503, body="busy", times=1)
    bot.receiver.reply("/api/tickets", body={"key": "T-1", "url": "https://t.example/T-1"})
    view = bot.open_form("create-ticket")
    bot.submit(view, {"input:title": "Printer on fire", "input:prio": "high"})
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).status == "SUCCESS", what="the run to succeed")
    wait(
        lambda: "succeeded" in texts(bot.slack.messages("C0CHAN")[0]["blocks"]),
        what="the status message marked",
    )
    return run.id


def test_details_show_the_story_to_the_requester_and_admins_only(bot: Bot) -> None:
    run_id = ticket_after_a_retry(bot)
    status = bot.slack.messages("C0CHAN")[0]
    assert [b["value"] for b in details_buttons(status["blocks"])] == [run_id]
    modal = open_details(bot, run_id, "U0DEV", channel_id="C0CHAN")
    shown = texts(modal["blocks"])
    assert modal["title"]["text"] == "Run details"
    assert "*Title*\nPrinter on fire" in shown and "*Priority*\nhigh" in shown
    assert "Requested by <@U0DEV>" in shown
    assert "Attempt 1: HTTP 503" in shown and "Attempt 2: HTTP 200" in shown
    assert "Retry scheduled" in shown and "Finished: success" in shown
    assert "*Result*" in shown and "T-1" in shown
    assert "<!date^" in shown  # times in each reader's own zone
    assert TRACKER_TOKEN not in json.dumps(modal)
    # Admins may look; someone else is told why not, and sees nothing.
    assert "Attempt 2" in texts(open_details(bot, run_id, "U0ADMIN", channel_id="C0CHAN")["blocks"])
    opened = len(bot.slack.calls("views.open"))
    bot.requests.block_action("run_details", value=run_id, user_id="U0OWNER", channel_id="C0CHAN")
    refusal = bot.slack.wait_for("response_url")[-1].params["text"]
    assert "can't see this run's details" in refusal and "an admin" in refusal
    assert len(bot.slack.calls("views.open")) == opened


def test_recent_runs_on_home_and_the_admin_list_open_details(bot: Bot) -> None:
    run_id = ticket_after_a_retry(bot)
    bot.requests.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"})
    wait(lambda: bot.slack.home_view("U0DEV"), what="the Home tab")
    home = bot.slack.home_view("U0DEV")
    assert [b["value"] for b in details_buttons(home["blocks"])] == [run_id]
    modal = open_details(bot, run_id, "U0DEV", channel_id=None, view=home)
    assert "Attempt 2: HTTP 200" in texts(modal["blocks"])
    before = len(bot.slack.calls("response_url"))  # the admin list's own answer, not an earlier one
    bot.requests.command("/actions-admin", text="runs", user_id="U0ADMIN")
    listed = bot.slack.wait_for("response_url", count=before + 1)[before].params["blocks"]
    assert run_id in [b["value"] for b in details_buttons(listed)]


def test_service_pages_show_recent_runs_on_that_service(bot: Bot) -> None:
    bot.requests.block_action("run_now", value="restart@checkout-api", user_id="U0ADMIN")
    bot.receiver.wait(1)
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).status == "SUCCESS", what="the restart")
    bot.slack.reset()
    bot.requests.command("/actions", text="checkout-api", user_id="U0DEV")
    blocks = bot.slack.wait_for("response_url")[0].params["blocks"]
    shown = texts(blocks)
    assert "Recent runs on this service" in shown
    assert "Restart service" in shown and "by <@U0ADMIN>" in shown
    assert [b["value"] for b in details_buttons(blocks)] == [run.id]
