"""The catalog in Slack's idioms, end to end: favourites and recent actions first, cards that
give way to the run, Request for actions needing approval, confirmation dialogs, short titles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, validate
from bot.slack.views.fallback import fallback, text_message
from tests import samples
from tests.conftest import Bot, Modals, not_plain, start_bot
from tests.samples import texts, view_ok

LONG = "Restart every single production pod of the checkout service in all regions"

CONFIG = f"""
admins: {{users: [U0ADMIN]}}
teams:
  - {{id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}}
  - {{id: sre, name: SRE, members: [U0SRE1]}}
actions:
  - id: create-ticket
    name: Create ticket
    category: Tickets
    owner: payments
    webhook: {{url: "{{receiver}}/ticket"}}
    inputs:
      - {{identifier: title, displayName: Title, type: text_input}}
      - {{identifier: prio, displayName: Priority, type: dropdown, values: [low, high],
         defaultValue: low}}
      - {{identifier: team, displayName: Team, type: dropdown, values: [a, b]}}
  - id: ping
    name: Ping
    category: Tools
    owner: payments
    confirm: true
    webhook: {{url: "{{receiver}}/ping"}}
  - id: rollback
    name: Roll back
    category: Tools
    owner: payments
    confirm: {{title: Roll back now?, text: The last deploy is undone., confirm: Roll back,
              deny: Keep it}}
    webhook: {{url: "{{receiver}}/rollback"}}
  - id: deploy
    name: Deploy to production
    category: Deploys
    owner: payments
    approval: {{approvers: {{teams: [sre]}}, channel: C0APPROVE}}
    webhook: {{url: "{{receiver}}/deploy"}}
    inputs:
      - {{identifier: why, displayName: Why, type: text_input, required: true}}
  - id: restart-all
    name: {LONG}
    category: Tools
    owner: payments
    webhook: {{url: "{{receiver}}/restart"}}
    inputs:
      - {{identifier: why, displayName: Why, type: text_input}}
"""


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def catalog(bot: Bot, user_id: str = "U0DEV") -> list[dict[str, Any]]:
    before = len(bot.slack.calls("response_url"))
    bot.requests.command("/actions", user_id=user_id)
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params["blocks"]


def card(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    """A card's blocks: its section, context and star row."""
    start = next(i for i, b in enumerate(blocks) if b.get("block_id") == f"card:{action_id}")
    return blocks[start : start + 3]


def headings_and_cards(blocks: list[dict[str, Any]]) -> list[str]:
    """Headings and card ids in the order a reader meets them."""
    order = []
    for block in blocks:
        if str(block.get("block_id", "")).startswith("card:"):
            order.append(block["block_id"][5:])
        elif block["type"] == "section" and "block_id" not in block:
            order.append(block["text"]["text"])
    return order


def click(bot: Bot, action_id: str, value: str, **extra: Any) -> dict[str, Any]:
    """Click a button on the ephemeral catalog; what the bot answered on its response_url."""
    before = len(bot.slack.calls("response_url"))
    response = bot.requests.block_action(action_id, value=value, **extra)
    assert response.status_code == 200, response.text
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params


def star_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    return card(blocks, action_id)[2]["elements"][0]["value"]


# --- favourites and recent actions ----------------------------------------------------


def test_a_starred_action_comes_first_and_a_second_click_unstars_it(bot: Bot) -> None:
    blocks = catalog(bot)
    assert headings_and_cards(blocks)[:2] == ["*Deploys*", "deploy"]
    star = card(blocks, "rollback")[2]["elements"][0]
    assert star["text"]["text"] == "☆ Add to favourites"

    answer = click(bot, "star_action", star["value"])

    assert answer["replace_original"] is True  # the catalog redraws in place
    order = headings_and_cards(answer["blocks"])
    assert order[:3] == ["*Your favourites and recent*", "rollback", "*Deploys*"]
    assert texts(card(answer["blocks"], "rollback")).count("★ Favourite") == 1
    assert bot.store.favourites("U0DEV") == ["rollback"]
    assert bot.store.favourites("U0OWNER") == []  # per user
    assert headings_and_cards(catalog(bot, "U0OWNER"))[1] == "deploy"

    again = click(bot, "star_action", star_value(answer["blocks"], "rollback"))
    assert "Your favourites and recent" not in texts(again["blocks"])
    assert bot.store.favourites("U0DEV") == []


def test_a_forged_star_stars_nothing(bot: Bot) -> None:
    answer = click(bot, "star_action", "no-such-action|{}")
    assert bot.store.favourites("U0DEV") == []
    assert "Your favourites and recent" not in texts(answer["blocks"])


def test_the_home_tab_shows_favourites_first_and_stars_in_place(bot: Bot) -> None:
    bot.requests.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"})
    home = bot.slack.wait_for("views.publish")[-1].params["view"]
    before = len(bot.slack.calls("views.publish"))
    bot.requests.block_action(
        "star_action", value=star_value(home["blocks"], "ping"), channel_id=None, view=home
    )
    home = bot.slack.wait_for("views.publish", count=before + 1)[-1].params["view"]
    view_ok(home)
    order = headings_and_cards(home["blocks"])
    assert order.index("*Your favourites and recent*") == order.index("ping") - 1
    assert order.index("ping") < order.index("deploy")


def test_a_recent_action_comes_first(bot: Bot) -> None:
    click(bot, "run_now", "ping")
    bot.receiver.wait(1)
    order = headings_and_cards(catalog(bot))
    assert order[:2] == ["*Your favourites and recent*", "ping"]


# --- picking a card ---------------------------------------------------------------------


def test_picking_a_card_replaces_the_catalog_with_one_line(bot: Bot) -> None:
    catalog(bot)
    modals = Modals.before(bot.slack)
    answer = click(bot, "run_action", "create-ticket")
    assert modals.opened()["callback_id"] == "run_action_modal"
    assert answer["replace_original"] is True
    assert texts(answer["blocks"]).startswith("*Create ticket*: The form is open.")
    assert not not_plain(answer["text"]) and "Create ticket" in answer["text"]

    back = answer["blocks"][-1]["elements"][0]
    again = click(bot, back["action_id"], back["value"])
    assert again["replace_original"] is True and "Roll back" in texts(again["blocks"])


def test_a_one_click_run_replaces_the_catalog(bot: Bot) -> None:
    answer = click(bot, "run_now", "ping")
    assert answer["replace_original"] is True
    assert "*Ping*: Running… the result will appear in the thread." in texts(answer["blocks"])
    assert bot.receiver.wait(1)[0].path == "/ping"


def test_one_primary_button_per_catalog_message(bot: Bot) -> None:
    blocks = catalog(bot)
    styles = [
        element.get("style")
        for block in blocks
        for element in [block.get("accessory") or {}, *block.get("elements", [])]
        if element.get("type") == "button"
    ]
    assert styles and styles.count("primary") <= 1


# --- approval, confirmation, titles and defaults -------------------------------------


def test_an_action_needing_approval_is_requested(bot: Bot) -> None:
    section, context, _ = card(catalog(bot), "deploy")
    assert section["accessory"]["text"]["text"] == "Request"
    assert "Needs approval by *SRE*" in texts([context])

    view = bot.open_form("deploy")
    assert view["title"]["text"] == "Request action"
    assert view["submit"]["text"] == "Request"
    assert "Needs approval by *SRE*" in texts(view["blocks"])
    assert "Nothing is sent until it is approved." in texts(view["blocks"])


def test_confirm_true_asks_with_the_default_dialog(bot: Bot) -> None:
    button = card(catalog(bot), "ping")[0]["accessory"]
    assert button["action_id"] == "run_now"
    assert button["confirm"]["title"]["text"] == "Run Ping?"
    assert button["confirm"]["text"]["text"] == "Ping runs at once, with no form."
    assert button["confirm"]["confirm"]["text"] == "Run"
    assert button["confirm"]["deny"]["text"] == "Cancel"


def test_confirm_object_sets_every_text_of_the_dialog(bot: Bot) -> None:
    button = card(catalog(bot), "rollback")[0]["accessory"]
    assert {k: v["text"] for k, v in button["confirm"].items()} == {
        "title": "Roll back now?",
        "text": "The last deploy is undone.",
        "confirm": "Roll back",
        "deny": "Keep it",
    }


def test_a_bad_confirm_is_a_config_error_naming_its_path() -> None:
    for bad in ({"titel": "x"}, {"confirm": "x" * 31}, 3):
        document = samples.document([samples.action("risky", confirm=bad)])
        with pytest.raises(ConfigError) as raised:
            validate(document)
        assert "actions[0].confirm" in str(raised.value)


def test_a_long_name_is_in_the_body_and_the_title_is_short(bot: Bot) -> None:
    view = bot.open_form("restart-all")
    assert view["title"]["text"] == "Run action"
    assert LONG in texts(view["blocks"])
    response = bot.submit(view, {"input:why": "stuck"})
    done = response.json()["view"]
    assert done["title"]["text"] == "Run action" and LONG in texts(done["blocks"])


def test_a_select_with_a_default_is_not_optional(bot: Bot) -> None:
    view = bot.open_form("create-ticket")
    by_id = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert by_id["input:prio"]["optional"] is False  # starts at "low": always has a value
    assert by_id["input:team"]["optional"] is True
    assert by_id["input:title"]["optional"] is True


# --- the fallback text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "plain"),
    [
        ("*Deploy* ran on _checkout_", "Deploy ran on checkout"),
        ("## Ticket created\nTicket **ABC-1** created", "Ticket created\nTicket ABC-1 created"),
        ("See <https://x.example/a?b=1|the runbook>", "See the runbook"),
        ("[open it](https://x.example)", "open it"),
        ("<@U0DEV> asked in <#C0CHAN|general>", "<@U0DEV> asked in <#C0CHAN>"),
        ("at <!date^1700000000^{time}|12:00 UTC>", "at 12:00 UTC"),
        ("Unknown subcommand `frob`", "Unknown subcommand frob"),
        ("a_snake_case id and 2 * 3 * 4", "a_snake_case id and 2 * 3 * 4"),
        ("```\nlog line\n```", "log line"),
    ],
)
def test_fallback_is_plain_words(shown: str, plain: str) -> None:
    assert fallback(shown) == plain
    assert not not_plain(fallback(shown))


def test_a_text_message_shows_mrkdwn_and_notifies_in_plain_words() -> None:
    message = text_message("Deleted `ping`: *gone*")
    assert message["text"] == "Deleted ping: gone"
    assert message["blocks"][0]["text"] == {"type": "mrkdwn", "text": "Deleted `ping`: *gone*"}
