"""Time-limited grants as first-class: "My access and locks" on Home, the DM before expiry,
and Extend from either, through the real HTTP surface."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Bot, Modals, start_bot
from tests.support import access_blocks, buttons, click, extend_by, home, texts, wait

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
actions:
  - id: grant-access
    name: Grant access
    owner: payments
    expires:
      after: "{{ manualInputs.duration }}"
      max: 3h
      webhook: {url: "{receiver}/revoke"}
    webhook: {url: "{receiver}/grant"}
    inputs:
      - {identifier: duration, displayName: For, type: duration, values: [30m, 1h, 2h],
         defaultValue: 30m}
  - id: short-grant
    name: Short grant
    owner: payments
    expires: {after: 4s, max: 1h, warn_before: 3s, webhook: {url: "{receiver}/unshort"}}
    webhook: {url: "{receiver}/short"}
  - id: later-grant
    name: Later grant
    owner: payments
    expires: {after: 8s, max: 1h, warn_before: 4s, webhook: {url: "{receiver}/unlater"}}
    webhook: {url: "{receiver}/later"}
"""


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def test_home_lists_active_grants_with_time_left_revoke_and_extend(bot: Bot) -> None:
    assert "My access and locks" not in texts(home(bot)["blocks"])
    bot.submit(bot.open_form("grant-access"), {"input:duration": "1h"})
    bot.receiver.wait(1)
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).expires_at is not None, what="expiry set")
    section = access_blocks(home(bot))
    shown = texts(section)
    assert "*Grant access*" in shown and "min left" in shown
    due = int(bot.store.get_run(run.id).expires_at.timestamp())
    assert f"<!date^{due}^{{date_short_pretty}} {{time}}|" in shown
    assert buttons({"blocks": section}) == ["Revoke now", "Extend"]
    # Others see nothing of it.
    assert "My access and locks" not in texts(home(bot, "U0OWNER")["blocks"])
    # Extend from Home: the form's own choices, and Home shows the new expiry.
    view = bot.slack.home_view("U0DEV")
    modals = Modals.before(bot.slack)
    bot.requests.block_action("extend_run", value=run.id, channel_id=None, view=view)
    modal = modals.opened()
    offered = [o["text"]["text"] for o in modal["blocks"][1]["element"]["options"]]
    assert offered == ["30m", "1h", "2h"]  # 3h max: 2h left
    before = bot.store.get_run(run.id).expires_at
    assert extend_by(bot, modal, "1800").status_code == 200
    wait(lambda: bot.store.get_run(run.id).expires_at > before, what="extended")
    due = int(bot.store.get_run(run.id).expires_at.timestamp())
    wait(
        lambda: f"<!date^{due}^" in texts(access_blocks(bot.slack.home_view("U0DEV"))),
        what="Home showing the new expiry",
    )
    # Revoke now from Home: reverted, and gone from the section.
    publishes = len(bot.slack.calls("views.publish"))
    view = bot.slack.home_view("U0DEV")
    bot.requests.block_action("revoke_now", value=run.id, channel_id=None, view=view)
    assert bot.receiver.wait(2)[1].path == "/revoke"
    wait(
        lambda: "My access and locks" not in texts(bot.slack.home_view("U0DEV")["blocks"]),
        what="the grant gone from Home once reverted",
    )
    assert len(bot.slack.calls("views.publish")) > publishes


def test_a_dm_offers_extend_shortly_before_expiry_once(bot: Bot) -> None:
    response = bot.requests.block_action("run_now", value="short-grant", channel_id="C0CHAN")
    assert response.status_code == 200
    bot.receiver.wait(1)
    run = bot.store.runs()[0]
    wait(
        lambda: any("expires soon" in m["text"] for m in bot.slack.messages("U0DEV")),
        timeout=10,
        what="the warning DM",
    )
    (warning,) = [m for m in bot.slack.messages("U0DEV") if "expires soon" in m["text"]]
    assert "*Short grant* expires <!date^" in texts(warning["blocks"])
    assert buttons(warning) == ["Revoke now", "Extend"]
    assert all(
        e["value"] == run.id
        for b in warning["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    # The revert comes after it; the warning is not sent again.
    assert bot.receiver.wait(2, timeout=10)[1].path == "/unshort"
    wait(lambda: bot.store.children(run.id, "revert"), what="the revert run")
    sent = [
        c
        for c in bot.slack.calls("chat.postMessage")
        if c.params.get("channel") == "U0DEV" and "expires soon" in c.params.get("text", "")
    ]
    assert len(sent) == 1
    # The DM is edited to what became of the grant: its buttons no longer offered.
    wait(
        lambda: "Reverted" in texts(bot.slack.message("U0DEV", warning["ts"])["blocks"]),
        what="the warning DM marked reverted",
    )
    assert buttons(bot.slack.message("U0DEV", warning["ts"])) == []


def test_no_warning_once_revoked(bot: Bot) -> None:
    bot.requests.block_action("run_now", value="later-grant", channel_id="C0CHAN")
    bot.receiver.wait(1)
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).expires_at is not None, what="expiry set")
    click(bot, "revoke_now", run.id, "U0DEV", channel="C0CHAN")
    assert bot.receiver.wait(2)[1].path == "/unlater"
    # The warning job ran when due (4 s before the original expiry) and sent nothing.
    wait(lambda: not bot.store.pending_jobs(run.id, "expiry_warning"), timeout=15, what="due")
    assert "Later grant" not in json.dumps(bot.slack.messages("U0DEV"))
