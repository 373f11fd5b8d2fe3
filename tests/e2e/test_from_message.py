"""Starting an action from a Slack message: the shortcut, the prefill, the thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, validate
from bot.triggers import message
from tests.conftest import Bot, start_bot
from tests.support import texts

CONFIG = """
teams:
  - {id: sre, name: SRE, members: [U0OWNER], channel: C0SRE}
services:
  - {id: checkout-api, name: Checkout API, owner: sre}
  - {id: search, name: Search, owner: sre}
actions:
  - id: incident
    name: Open incident
    owner: sre
    scope: service
    webhook:
      url: "{receiver}/incidents"
      payload: '{"title": {{ inputs.title | json }}, "service": {{ service.id | json }}, "details": {{ inputs.details | json }}}'
    inputs:
      - {identifier: title, displayName: Title, type: text_input, required: true}
      - {identifier: details, displayName: Details, type: text_area}
    from_message:
      title: "{{ message.text | truncate: 30 }}"
      service: "{{ message.text | scan: 'svc:([a-z0-9-]+)' | first }}"
      details: "{{ message.attachments | map: 'title' | join: ', ' }} / {{ message.files | join: ',' }} / {{ message.permalink }} / {{ message.user }}"
  - id: note
    name: Take a note
    owner: sre
    webhook: {url: "{receiver}/notes", payload: '{"text": {{ inputs.text | json }}}'}
    inputs:
      - {identifier: text, displayName: Text, type: text_input}
      - {identifier: tag, displayName: Tag, type: text_input}
    from_message:
      text: "{{ message.text | scan: '(' | first }}"
      tag: "{{ message.ts }}"
  - id: elsewhere
    name: Elsewhere only
    owner: sre
    channels: [C0OTHER]
    webhook: {url: "{receiver}/elsewhere"}
"""

ALERT = {
    "ts": "1700000000.000100",
    "bot_id": "B0ALERTS",
    "text": "CRITICAL svc:checkout-api error rate above 5% for 10 minutes",
    "attachments": [
        {"title": "Error rate", "text": "5.3%", "fields": [{"title": "p", "value": "1"}]}
    ],
    "files": [{"name": "graph.png", "id": "F1"}],
}


@pytest.fixture
def shortcut_bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def pick(bot: Bot, action_id: str) -> dict:
    """Choose the shortcut on the alert, then an action: the form it turns into."""
    response = bot.requests.message_shortcut("run_from_message", ALERT)
    assert response.status_code == 200
    picker = bot.slack.wait_for("views.open")[-1].params["view"]
    picker = bot.slack.last_view()
    before = len(bot.slack.calls("views.update"))
    response = bot.requests.block_action(
        "run_from_message_pick", value=action_id, channel_id=None, view=picker
    )
    assert response.status_code == 200
    bot.slack.wait_for("views.update", count=before + 1)
    return bot.slack.last_view()


def initial(view: dict, block_id: str) -> object:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    return element.get("initial_value") or element.get("initial_option", {}).get("value")


def test_shortcut_lists_the_channels_actions(shortcut_bot: Bot) -> None:
    shortcut_bot.requests.message_shortcut("run_from_message", ALERT)
    picker = shortcut_bot.slack.wait_for("views.open")[-1].params["view"]
    shown = texts(picker["blocks"])
    assert "Open incident" in shown and "Take a note" in shown
    assert "Elsewhere only" not in shown  # not allowed in this channel


def test_prefill_and_the_reply_in_the_messages_thread(shortcut_bot: Bot) -> None:
    form = pick(shortcut_bot, "incident")
    assert initial(form, "input:title") == "CRITICAL svc:checkout-api e..."
    assert initial(form, "service") == "checkout-api"
    details = str(initial(form, "input:details"))
    assert details.startswith("Error rate / graph.png / http") and details.endswith("B0ALERTS")
    values = shortcut_bot.requests.values_for(form, {}, use_initial=True)
    response = shortcut_bot.requests.view_submission(form, values)
    assert response.status_code == 200, response.text
    received = shortcut_bot.receiver.wait(1)[0]
    assert json.loads(received.body)["service"] == "checkout-api"
    # The status message and the result are replies in the alert's thread.
    replies = shortcut_bot.slack.wait_for(
        "chat.postMessage", lambda c: "succeeded" in str(c.params), timeout=10
    )
    posts = shortcut_bot.slack.calls("chat.postMessage")
    assert posts and all(c.params.get("thread_ts") == ALERT["ts"] for c in posts)
    assert replies[-1].params["channel"] == "C0CHAN"
    [run] = shortcut_bot.store.runs()
    assert run.thread_ts == ALERT["ts"]


def test_a_broken_prefill_leaves_the_field_empty_and_tells_the_owner(shortcut_bot: Bot) -> None:
    form = pick(shortcut_bot, "note")
    assert initial(form, "input:text") is None  # the broken field
    assert initial(form, "input:tag") == ALERT["ts"]  # the others are filled all the same
    [event] = shortcut_bot.store.events(kind="prefill_failed")
    assert event.action_id == "note" and event.detail["input"] == "text"
    assert "invalid regular expression" in event.detail["error"]
    assert event.detail["owner"] == "sre"


def test_malformed_shortcut_payloads_get_a_clear_answer(shortcut_bot: Bot) -> None:
    response = shortcut_bot.requests.message_shortcut("run_from_message", ALERT, message="x")
    assert response.status_code == 400
    time.sleep(0.2)
    assert shortcut_bot.slack.calls("views.open") == []


def test_message_context_is_read_defensively() -> None:
    found = message.context({"text": 5, "files": "x", "attachments": [1, {"title": 2}]})
    assert found["text"] == "" and found["files"] == []
    assert found["attachments"][0]["title"] == ""


def test_from_message_is_checked_at_load() -> None:
    document = {
        "teams": [{"id": "sre", "name": "SRE"}],
        "actions": [
            {
                "id": "note",
                "name": "Note",
                "owner": "sre",
                "webhook": {"url": "https://example.com"},
                "inputs": [{"identifier": "text", "displayName": "Text", "type": "text_input"}],
                "from_message": {"text": "{{ user.id }}", "nope": "{{ message.text | nah }}"},
            }
        ],
    }
    with pytest.raises(ConfigError) as caught:
        validate(document)
    errors = caught.value.errors
    assert any(
        e.startswith("actions[0].from_message.text: unknown variable 'user'") for e in errors
    )
    assert "actions[0].from_message.nope: not an input of this action" in errors
    assert "actions[0].from_message.nope: unknown filter 'nah'" in errors
