"""The playground's page driven in a real browser: Debian's Chromium through
Playwright, no browser download.

Skipped only when /usr/bin/chromium is missing outside CI; under CI (`CI` set) a
missing browser fails them. `PLAYGROUND_SCREENSHOTS=1` also writes the screenshots
kept in docs/.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.playground.config import BOT_TOKEN
from tests.support import Running, modal

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "actions.yml"
CHROMIUM = Path("/usr/bin/chromium")
DOCS = ROOT / "docs"
STATIC = ROOT / "bot" / "playground" / "static"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium to run these)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page_for(browser: Any, playground: Running) -> Iterator[Callable[[str], Any]]:
    """Open the page as a user; fail the test on any JavaScript error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(user: str = "U0DEV") -> Any:
        context = browser.new_context(
            viewport={"width": 1600, "height": 1000}, timezone_id="UTC", locale="en-GB"
        )
        context.add_init_script(f"localStorage.setItem('playground.user', '{user}')")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{playground.url}/")
        page.wait_for_selector(f'body[data-user="{user}"]')
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def type_command(page: Any, text: str) -> Any:
    """Type a slash command in the channel; return the ephemeral answer."""
    before = page.locator("#messages .message.ephemeral").count()
    page.fill("#composer", text)
    page.keyboard.press("Enter")
    answer = page.locator("#messages .message.ephemeral").nth(before)
    answer.wait_for()
    return answer


def card(page: Any, message: Any, action_id: str) -> Any:
    """A card in the catalog message, paging with Next until it shows."""
    for _ in range(5):
        found = message.locator(f'[data-block-id="card:{action_id}"]')
        if found.count():
            return found
        message.get_by_role("button", name="Next").click()
        page.wait_for_timeout(300)
    raise AssertionError(f"no card for {action_id}")


def shoot(page: Any, name: str) -> None:
    if os.environ.get("PLAYGROUND_SCREENSHOTS"):
        from playwright.sync_api import expect

        # A passing notice (they go after 9 s) is not part of the picture.
        expect(page.locator(".toast")).to_have_count(0, timeout=12_000)
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))


def test_example_action_runs_end_to_end(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    catalog = type_command(page, "/actions")
    expect(catalog).to_contain_text("Only visible to you")
    card(page, catalog, "trigger-pagerduty-incident").get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Triggers a PagerDuty incident")
    dialog.get_by_label("Service").select_option("checkout-api")
    dialog.get_by_label("What is happening?").fill("Checkout returns 502 for card payments")
    dialog.get_by_label("Severity").select_option("critical")
    dialog.get_by_label("Details").fill("Since 14:05.\nGraphs: https://grafana.example.com/d/x")
    shoot(page, "playground-modal.png")
    dialog.get_by_role("button", name="Run").click()
    # The modal turns into the result (views.update), the channel gets the run's message.
    expect(dialog).to_contain_text("succeeded", timeout=15_000)
    dialog.get_by_role("button", name="Close", exact=True).click()
    status = page.locator("#messages .message", has_text="ran Page the on-call engineer").last
    expect(status).to_contain_text(":white_check_mark:")
    expect(status).to_contain_text("Checkout returns 502 for card payments")
    status.locator(".replies").click()
    thread = page.locator("#thread-pane")
    expect(thread).to_contain_text("On-call paged for Checkout API")
    expect(thread.locator("b", has_text="On-call paged for Checkout API")).to_be_visible()
    # The side panel: the exact request with both signatures, and the response.
    request = page.locator('#run-detail [data-kind="webhook_request"]')
    expect(request).to_contain_text("X-Actions-Signature")
    expect(request).to_contain_text("webhook-signature")
    expect(request).to_contain_text("Original URL: https://events.pagerduty.com/v2/enqueue")
    expect(request).to_contain_text('"routing_key": "[REDACTED]"')
    response = page.locator('#run-detail [data-kind="webhook_response"]')
    expect(response).to_contain_text("HTTP 200")
    expect(response).to_contain_text('"X-Actions-Signature": "valid"')
    expect(response).to_contain_text('"webhook-signature": "valid"')
    shoot(page, "playground-channel.png")
    run = next(
        r for r in playground.state()["runs"] if r["action_id"] == "trigger-pagerduty-incident"
    )
    assert run["status"] == "SUCCESS" and run["inputs"]["severity"] == "critical"


def test_validation_error_shows_inline(page_for: Callable[[str], Any]) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    catalog = type_command(page, "/actions")
    card(page, catalog, "rollback-to-commit").get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service").select_option("checkout-api")
    dialog.get_by_label("Commit SHA").fill("not-a-sha")
    dialog.get_by_label("Reason").fill("Bad deploy")
    dialog.get_by_role("button", name="Run").click()
    # The bot answered response_action: errors; Slack shows it under the input.
    error = dialog.locator('[data-block-id="input:commit_sha"] .input-error')
    expect(error).to_contain_text("Use 7 to 40 hex digits (0-9, a-f).")
    expect(dialog.locator(".input-error")).to_have_count(1)
    # A required field left empty is refused by the client before anything is sent.
    dialog.get_by_label("Reason").fill("")
    dialog.get_by_role("button", name="Run").click()
    expect(dialog.locator('[data-block-id="input:reason"] .input-error')).to_contain_text(
        "required"
    )
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_non_admin_sees_a_disabled_card(page_for: Callable[[str], Any]) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    resize = card(page, type_command(page, "/actions"), "resize-infrastructure")
    expect(resize.get_by_role("button", name="Run")).to_have_count(0)
    notes = resize.locator("xpath=following-sibling::*[1]")
    expect(notes).to_contain_text("only admins can run this action")
    expect(notes).to_contain_text("#platform")
    # The same card for an admin, after switching user in the top bar.
    page.select_option("#user-switcher", "U0ADMIN")
    expect(page.locator("body")).to_have_attribute("data-user", "U0ADMIN")
    resize = card(page, type_command(page, "/actions"), "resize-infrastructure")
    expect(resize.get_by_role("button", name="Run")).to_be_visible()


def test_every_input_type_of_the_forms(page_for: Callable[[str], Any], playground: Running) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    catalog = type_command(page, "/actions every input")
    card(page, catalog, "every-input").get_by_role("button", name="Run").click()
    d = page.get_by_role("dialog")
    d.get_by_label("Text", exact=True).fill("hello")
    d.get_by_label("Area").fill("two\nlines")
    d.get_by_label("Pick").select_option("b")
    d.get_by_label("Many").select_option("x")
    d.get_by_label("Many").select_option("z")
    d.get_by_label("Count").fill("7")
    d.get_by_label("Ratio").fill("0.25")
    d.get_by_role("checkbox", name="I am sure").check()
    d.get_by_role("checkbox", name="two").check()
    d.get_by_role("radio", name="left").check()
    d.get_by_label("Day").fill("2026-12-01")
    d.get_by_label("At", exact=True).fill("09:30")
    d.get_by_label("When").fill("2026-12-01T16:00")
    d.get_by_label("Who", exact=True).select_option("U0OWNER")
    d.get_by_label("Whom").select_option("U0DEV")
    d.get_by_label("Whom").select_option("U0ADMIN")
    d.get_by_label("Where").select_option("C0SRE")
    d.get_by_label("Mail").fill("a@example.com")
    d.get_by_label("Link").fill("https://example.com/x")
    d.get_by_label("Token").fill("hunter2-very-secret")
    d.get_by_label("Which service").click()  # type-ahead: a signed block_suggestion
    d.get_by_role("option", name="Payments Ledger", exact=True).click()
    d.get_by_label("Squads").fill("pay")
    d.get_by_role("option", name="Payments", exact=True).click()
    d.get_by_role("button", name="Run").click()
    expect(d).to_contain_text("succeeded", timeout=15_000)
    run = next(r for r in playground.state()["runs"] if r["action_id"] == "every-input")
    events = {e["kind"]: e["detail"] for e in playground.run_detail(run["id"])["events"]}
    sent = json.loads(events["webhook_request"]["body"])
    assert sent == {
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
        "where": "C0SRE",
        "mail": "a@example.com",
        "link": "https://example.com/x",
        "token": "[REDACTED]",  # a secret input never reaches the audit log
        "svc": "payments-ledger",
        "squads": ["payments"],
    }
    request = page.locator('#run-detail [data-kind="webhook_request"]')
    expect(request).to_contain_text("Original URL: https://hooks.example.com/every/U0DEV")


SYNTHETIC_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Every element"}},
    {
        "type": "section",
        "block_id": "intro",
        "text": {
            "type": "mrkdwn",
            "text": "*bold* _italic_ ~strike~ `code` <https://example.com|a link> <@U0ADMIN> "
            "<#C0SRE> <!here> &lt;b&gt;not html&lt;/b&gt; :tada:\n```block of code```",
        },
        "fields": [
            {"type": "mrkdwn", "text": "*Field*\none"},
            {"type": "plain_text", "text": "two"},
        ],
        "accessory": {
            "type": "overflow",
            "action_id": "more",
            "options": [{"text": {"type": "plain_text", "text": "Archive"}, "value": "archive"}],
        },
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "context _line_"}]},
    {"type": "divider"},
]


def _input(block_id: str, label: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": block_id, **element},
        **extra,
    }


def _options(*values: str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": v.title()}, "value": v} for v in values]


SYNTHETIC_INPUTS = [
    _input(
        "title",
        "Title",
        {"type": "plain_text_input", "min_length": 3, "max_length": 20, "initial_value": "hi"},
    ),
    _input("notes", "Notes", {"type": "plain_text_input", "multiline": True}, optional=True),
    _input(
        "grouped",
        "Grouped",
        {
            "type": "static_select",
            "option_groups": [
                {
                    "label": {"type": "plain_text", "text": "Warm"},
                    "options": _options("red", "amber"),
                },
                {"label": {"type": "plain_text", "text": "Cold"}, "options": _options("blue")},
            ],
        },
    ),
    _input("svc", "External", {"type": "external_select", "min_query_length": 1}),
    _input("multi", "Multi static", {"type": "multi_static_select", "options": _options("x", "y")}),
    _input("squads", "Multi external", {"type": "multi_external_select", "min_query_length": 0}),
    _input(
        "number",
        "Number",
        {"type": "number_input", "is_decimal_allowed": True, "min_value": "0", "max_value": "10"},
    ),
    _input(
        "checks",
        "Checks",
        {
            "type": "checkboxes",
            "options": [
                {
                    "text": {"type": "plain_text", "text": "Alpha"},
                    "value": "a",
                    "description": {"type": "plain_text", "text": "the first"},
                },
                {"text": {"type": "plain_text", "text": "Beta"}, "value": "b"},
            ],
        },
    ),
    _input("radio", "Radio", {"type": "radio_buttons", "options": _options("on", "off")}),
    _input("date", "Date", {"type": "datepicker"}),
    _input("time", "Time", {"type": "timepicker"}),
    _input("datetime", "Date and time", {"type": "datetimepicker"}),
    _input("user", "User", {"type": "users_select"}),
    _input("users", "Users", {"type": "multi_users_select"}),
    _input("conv", "Conversation", {"type": "conversations_select"}),
    _input("chan", "Channel", {"type": "channels_select"}),
    _input("convs", "Conversations", {"type": "multi_conversations_select"}),
    _input("chans", "Channels", {"type": "multi_channels_select"}),
    _input("email", "Email", {"type": "email_text_input"}),
    _input("url", "URL", {"type": "url_text_input"}),
    _input(
        "dispatch", "Dispatching", {"type": "plain_text_input"}, dispatch_action=True, optional=True
    ),
    {
        "type": "actions",
        "block_id": "buttons",
        "elements": [
            {
                "type": "button",
                "action_id": "go",
                "value": "go",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Go"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Really go?"},
                    "text": {"type": "mrkdwn", "text": "It *cannot* be undone."},
                    "confirm": {"type": "plain_text", "text": "Go"},
                    "deny": {"type": "plain_text", "text": "Stay"},
                },
            },
            {
                "type": "button",
                "action_id": "stop",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Stop"},
            },
        ],
    },
]


def test_synthetic_modal_with_every_element(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    """Every element type renders, and submits exactly the state.values Slack sends."""
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    ws, sealer = playground.pg.workspace, playground.pg.runtime.sealer
    # Sealed like a run form of every-input, so the bot's own type-ahead answers svc/squads.
    metadata = sealer.seal(
        {"action": "every-input", "channel": None, "service": None, "parent": None, "fixed": False}
    )
    view = {
        "type": "modal",
        "callback_id": "playground_synthetic",
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Synthetic"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": SYNTHETIC_BLOCKS + SYNTHETIC_INPUTS,
    }
    api = WebClient(token=BOT_TOKEN, base_url=f"{playground.url}/api/")
    opened = api.views_open(trigger_id=ws.trigger("U0DEV"), view=view)["view"]
    d = page.get_by_role("dialog", name="Synthetic")
    intro = d.locator('[data-block-id="intro"]')
    expect(intro.locator("b", has_text="bold")).to_be_visible()
    expect(intro.locator("i", has_text="italic")).to_be_visible()
    expect(intro.locator("s", has_text="strike")).to_be_visible()
    expect(intro.locator("code", has_text="code")).to_be_visible()
    expect(intro.locator("a", has_text="a link")).to_have_attribute("href", "https://example.com")
    expect(intro.locator(".mention", has_text="@Ada Admin")).to_be_visible()
    expect(intro.locator(".mention", has_text="#sre")).to_be_visible()
    expect(intro.locator(".mention", has_text="@here")).to_be_visible()
    expect(intro).to_contain_text("<b>not html</b>")
    expect(intro.locator(".emoji", has_text=":tada:")).to_be_visible()
    expect(intro.locator("pre", has_text="block of code")).to_be_visible()
    expect(intro.locator(".fields")).to_contain_text("one")

    d.get_by_label("Title").fill("a")
    d.get_by_role("button", name="Send").click()  # min_length 3: refused before sending
    expect(d.locator('[data-block-id="title"] .input-error')).to_contain_text("at least 3")
    d.get_by_label("Title").fill("Hello")
    d.get_by_label("Notes").fill("line one\nline two")
    d.get_by_label("Grouped").select_option("amber")
    d.get_by_label("External", exact=True).fill("led")
    d.get_by_role("option", name="Payments Ledger", exact=True).click()
    d.get_by_label("Multi static").select_option("y")
    d.get_by_label("Multi external").click()
    d.get_by_role("option", name="Data", exact=True).click()
    d.get_by_label("Number").fill("2.5")
    d.get_by_role("checkbox", name="Alpha").check()
    d.get_by_role("radio", name="Off").check()
    d.get_by_label("Date", exact=True).fill("2026-12-24")
    d.get_by_label("Time", exact=True).fill("18:45")
    d.get_by_label("Date and time").fill("2026-12-01T16:00")
    d.get_by_label("User", exact=True).select_option("U0OWNER")
    d.get_by_label("Users").select_option("U0ADMIN")
    d.get_by_label("Conversation", exact=True).select_option("D0DEV")
    d.get_by_label("Channel", exact=True).select_option("C0DATA")
    d.get_by_label("Conversations").select_option("C0CHAN")
    d.get_by_label("Channels").select_option("C0SRE")
    d.get_by_label("Email").fill("dee@example.com")
    d.get_by_label("URL").fill("https://example.com/u")

    # A dispatch_action input and a confirmed button send block_actions from the modal.
    d.get_by_label("Dispatching").fill("ping")
    d.get_by_label("Dispatching").press("Enter")
    d.get_by_role("button", name="Go").click()
    confirm = page.get_by_role("alertdialog", name="Really go?")
    expect(confirm).to_contain_text("cannot")
    confirm.get_by_role("button", name="Go").click()
    sent = _wait_sent(
        playground,
        lambda p: p.get("type") == "block_actions" and p["actions"][0]["action_id"] == "go",
    )
    assert sent["container"] == {"type": "view", "view_id": opened["id"]}
    dispatched = _wait_sent(
        playground,
        lambda p: p.get("type") == "block_actions" and p["actions"][0]["action_id"] == "dispatch",
    )
    assert dispatched["actions"][0]["value"] == "ping"

    # A pushed view stacks on top; Back returns with everything still filled in.
    api.views_push(trigger_id=ws.trigger("U0DEV"), view=modal("Pushed"))
    pushed = page.get_by_role("dialog", name="Pushed")
    pushed.get_by_role("button", name="Back").click()
    expect(d.get_by_label("Title")).to_have_value("Hello")

    d.get_by_role("button", name="Send").click()
    # No listener in the bot takes this callback_id: Slack shows its generic error.
    expect(d.locator(".modal-notice")).to_contain_text("trouble connecting")
    payload = _wait_sent(playground, lambda p: p.get("type") == "view_submission")
    assert payload["view"]["id"] == opened["id"]
    assert payload["user"]["id"] == "U0DEV"
    values = payload["view"]["state"]["values"]

    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": text}, "value": value}

    assert values["title"] == {"title": {"type": "plain_text_input", "value": "Hello"}}
    assert values["notes"]["notes"]["value"] == "line one\nline two"
    assert values["grouped"]["grouped"] == {
        "type": "static_select",
        "selected_option": option("Amber", "amber"),
    }
    assert values["svc"]["svc"]["type"] == "external_select"
    assert values["svc"]["svc"]["selected_option"]["value"] == "payments-ledger"
    assert values["multi"]["multi"] == {
        "type": "multi_static_select",
        "selected_options": [option("Y", "y")],
    }
    assert [o["value"] for o in values["squads"]["squads"]["selected_options"]] == ["data"]
    assert values["number"]["number"] == {"type": "number_input", "value": "2.5"}
    assert values["checks"]["checks"]["selected_options"][0]["value"] == "a"
    assert values["radio"]["radio"] == {
        "type": "radio_buttons",
        "selected_option": option("Off", "off"),
    }
    assert values["date"]["date"] == {"type": "datepicker", "selected_date": "2026-12-24"}
    assert values["time"]["time"] == {"type": "timepicker", "selected_time": "18:45"}
    assert values["datetime"]["datetime"] == {
        "type": "datetimepicker",
        "selected_date_time": 1796140800,
    }
    assert values["user"]["user"] == {"type": "users_select", "selected_user": "U0OWNER"}
    assert values["users"]["users"] == {"type": "multi_users_select", "selected_users": ["U0ADMIN"]}
    assert values["conv"]["conv"] == {
        "type": "conversations_select",
        "selected_conversation": "D0DEV",
    }
    assert values["chan"]["chan"] == {"type": "channels_select", "selected_channel": "C0DATA"}
    assert values["convs"]["convs"] == {
        "type": "multi_conversations_select",
        "selected_conversations": ["C0CHAN"],
    }
    assert values["chans"]["chans"] == {
        "type": "multi_channels_select",
        "selected_channels": ["C0SRE"],
    }
    assert values["email"]["email"] == {"type": "email_text_input", "value": "dee@example.com"}
    assert values["url"]["url"] == {"type": "url_text_input", "value": "https://example.com/u"}
    assert values["dispatch"]["dispatch"] == {"type": "plain_text_input", "value": "ping"}
    d.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def _wait_sent(running: Running, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The newest payload the playground sent the bot that matches."""

    def found(_: dict[str, Any]) -> dict[str, Any] | None:
        for entry in reversed(running.slack_log()):
            payload = (entry.get("request") or {}).get("payload")
            if entry["kind"] == "to_bot" and isinstance(payload, dict) and match(payload):
                return payload
        return None

    return running.until(found)


def test_home_tab_and_messages_tab(page_for: Callable[[str], Any], playground: Running) -> None:
    from playwright.sync_api import expect

    page = page_for("U0ADMIN")
    page.click("#app-link")
    home = page.locator("#home")
    expect(home).to_contain_text("Self-service actions")  # app_home_opened → views.publish
    home.get_by_label("Find an action").fill("unlock")  # dispatches on each pause in typing
    unlock = home.locator('[data-block-id="card:unlock-deploys"]')
    expect(home.locator('[data-block-id="card:lock-deploys"]')).to_have_count(0)
    expect(home.get_by_label("Find an action")).to_be_focused()
    unlock.get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service").select_option("docs-portal")
    dialog.get_by_role("button", name="Run").click()
    expect(dialog).to_contain_text("succeeded", timeout=15_000)
    shoot_home = bool(os.environ.get("PLAYGROUND_SCREENSHOTS"))
    dialog.get_by_role("button", name="Close", exact=True).click()
    if shoot_home:
        home.get_by_label("Find an action").fill("")
        expect(home.locator('[data-block-id="card:lock-deploys"]')).to_have_count(1)
        shoot(page, "playground-home.png")
    # Started from the Home tab: the result is in the app's Messages tab (the DM).
    page.click("#tab-messages")
    dm = page.locator("#dm-messages")
    expect(dm).to_contain_text("Unlock deploys")
    expect(dm.locator(".replies")).to_have_count(1)


def test_screenshot_names_are_documented() -> None:
    doc = (ROOT / "docs" / "playground.md").read_text()
    names = ("channel", "modal", "home", "run-details")
    for name in (f"playground-{n}.png" for n in names):
        assert name in doc
        assert (DOCS / name).exists(), f"docs/{name} is missing: PLAYGROUND_SCREENSHOTS=1"


def test_tour_request_approve_and_admin_list_buttons(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    """The tour in a browser: Dee asks for admin access, Ada approves it in her DM with the
    app, then uses the admin list's buttons."""
    from playwright.sync_api import expect

    dee = page_for("U0DEV")
    found = type_command(dee, "/actions admin access")
    asked = card(dee, found, "request-escalated-access")
    asked.get_by_role("button", name="Request", exact=True).click()  # it needs approval
    dialog = dee.get_by_role("dialog")
    dialog.get_by_label("Access").select_option("prod-aws-admin")
    dialog.get_by_label("Why do you need it?").fill("INC-2291: rotate the payout worker keys")
    dialog.get_by_role("button", name=re.compile("^(Run|Request)$")).click()
    expect(dialog).to_contain_text("Sent for approval")
    dialog.get_by_role("button", name="Close", exact=True).click()

    ada = page_for("U0ADMIN")
    ada.click("#app-link")
    ada.click("#tab-messages")
    dm = ada.locator("#dm-messages")
    request = dm.locator(".message", has_text="INC-2291: rotate the payout worker keys").last
    expect(request).to_contain_text("Request admin access")
    request.get_by_role("button", name="Approve", exact=True).click()
    expect(request).to_contain_text("Approved", timeout=15_000)
    shoot(ada, "playground-approval.png")
    playground.until(
        lambda s: [
            r
            for r in s["runs"]
            if r["action_id"] == "request-escalated-access"
            and r["inputs"].get("role") == "prod-aws-admin"
            and r["status"] == "SUCCESS"
        ],
        timeout=20,
    )

    # The admin list: a section per action, with buttons that work.
    ada.locator("#channel-list a", has_text="general").click()
    listing = type_command(ada, "/actions-admin list")
    row = listing.locator('[data-block-id="buttons:request-escalated-access"]')
    expect(row.get_by_role("button")).to_have_text(["Test", "Runs"])
    shoot(ada, "playground-admin-list.png")
    row.get_by_role("button", name="Runs").click()
    runs = ada.locator("#messages .message.ephemeral", has_text="action:request-escalated-access")
    expect(runs.last).to_contain_text("Request admin access")
    unlock = listing.locator('[data-block-id="buttons:unlock-deploys"]')
    unlock.get_by_role("button", name="Test").click()
    test_form = ada.get_by_role("dialog")
    expect(test_form).to_contain_text("Nothing is sent until you press")
    test_form.get_by_role("button", name="Cancel", exact=True).click()


def test_tour_extend_the_grant_see_its_details_and_revoke_it(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    """The rest of the tour: Dee takes time-limited read access, extends it with the Extend
    select, opens the run's Details, then revokes it now."""
    from playwright.sync_api import expect

    dee = page_for("U0DEV")
    found = type_command(dee, "/actions read-only access")
    card(dee, found, "request-read-access").get_by_role("button", name="Run").click()
    dialog = dee.get_by_role("dialog")
    dialog.get_by_label("Access").select_option("prod-logs-readonly")
    dialog.get_by_label("For", exact=True).select_option("30m")
    dialog.get_by_label("Why do you need it?").fill("INC-2300: read the payout worker logs")
    dialog.get_by_role("button", name="Run").click()
    expect(dialog).to_contain_text("succeeded", timeout=15_000)
    dialog.get_by_role("button", name="Close", exact=True).click()
    status = dee.locator("#messages .message", has_text="INC-2300").last
    expiry = status.locator(".block", has_text="Expires")
    expect(status.get_by_role("button", name="Extend")).to_be_visible(timeout=15_000)
    first = expiry.inner_text()

    # Extend: the form's own durations as a select; the message shows the new expiry.
    status.get_by_role("button", name="Extend").click()
    extend = dee.get_by_role("dialog", name="Extend")
    expect(extend).to_contain_text("Extend it by how long?")
    extend.get_by_label("Extend by").select_option(label="1 hour")
    extend.get_by_role("button", name="Extend", exact=True).click()
    expect(extend).to_contain_text("Extended. The run's message shows the new expiry.")
    extend.get_by_role("button", name="Close", exact=True).click()
    expect(dee.get_by_role("dialog")).to_have_count(0)
    expect(expiry).not_to_have_text(first, timeout=15_000)
    expect(status.get_by_role("button", name="Revoke now")).to_be_visible()

    # Details: the run's inputs by label and its history, the extension included.
    status.get_by_role("button", name="Details").click()
    details = dee.get_by_role("dialog", name="Run details")
    expect(details).to_contain_text("Request read-only access")
    expect(details).to_contain_text("Production logs (read-only)")
    expect(details).to_contain_text("Extended by 60 min by @Dee Veloper")
    shoot(dee, "playground-run-details.png")
    details.get_by_role("button", name="Close", exact=True).click()
    expect(dee.get_by_role("dialog")).to_have_count(0)

    # Revoke now: Slack's confirmation first, then the grant is undone.
    status.get_by_role("button", name="Revoke now").click()
    confirm = dee.get_by_role("alertdialog", name="Undo it now?")
    confirm.get_by_role("button", name="Revoke").click()
    expect(status).to_contain_text("Reverted", timeout=20_000)
    expect(status.get_by_role("button", name="Revoke now")).to_have_count(0)
    expect(status.get_by_role("button", name="Extend")).to_have_count(0)
