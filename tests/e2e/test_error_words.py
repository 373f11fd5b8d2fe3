"""Errors in the user's language: plain words for patterns and config mistakes, never a
regex or a pydantic message, and always the field they are about.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, validate
from bot.pattern_words import describe
from tests import samples
from tests.conftest import Bot, start_bot
from tests.support import edit_values, open_modal

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
actions:
  - id: refund
    name: Refund an order
    owner: payments
    webhook: {url: "{receiver}/refund"}
    inputs:
      - {identifier: order, displayName: Order number, type: text_input, pattern: '^\\d{1,7}$'}
      - {identifier: ticket, displayName: Ticket, type: text_input, pattern: '^OPS-\\d+$',
         patternHint: "Use a ticket key like OPS-12", example: OPS-12}
      - {identifier: sku, displayName: SKU, type: text_input, pattern: '^[A-Z]{3}\\d{4}$',
         example: ABC1234}
      - {identifier: ref, displayName: Reference, type: text_input, pattern: '^x'}
"""


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^\d{1,7}$", "Use up to 7 digits"),
        (r"^[0-9]{6}$", "Use exactly 6 digits"),
        (r"^\d+$", "Use only digits"),
        (r"^[a-z0-9-]+$", "Use only lowercase letters, digits and hyphens"),
        (r"^[A-Z]{2,5}$", "Use 2 to 5 capital letters"),
        (r"^[a-zA-Z0-9_]+$", "Use only letters, digits and underscores"),
        (r"^[0-9a-f]{7,40}$", "Use 7 to 40 hex digits (0-9, a-f)"),
        (r"^\w{3,}$", "Use at least 3 letters, digits and underscores"),
        (r"^OPS-\d+$", None),  # not a simple shape: the author's hint or a plain fallback
        (r"^[^@]+$", None),
        (r"\d{3}", None),  # unanchored: it means something else
    ],
)
def test_common_patterns_in_words(pattern: str, words: str | None) -> None:
    assert describe(pattern) == words


def test_form_errors_say_what_to_type_never_the_regex(bot: Bot) -> None:
    view = bot.open_form("refund")
    answer = bot.submit(
        view,
        {"input:order": "12345678", "input:ticket": "ops12", "input:sku": "abc", "input:ref": "y"},
    )
    errors = json.loads(answer.text)["errors"]
    assert errors == {
        "input:order": "Use up to 7 digits.",
        "input:ticket": "Use a ticket key like OPS-12. For example: OPS-12.",
        "input:sku": "This doesn't match the expected format. For example: ABC1234.",
        "input:ref": "This doesn't match the expected format.",
    }
    assert bot.receiver.received == []
    ok = {"input:order": "1234567", "input:ticket": "OPS-12", "input:sku": "ABC1234"}
    bot.submit(view, {**ok, "input:ref": "xy"})
    assert bot.receiver.wait(1)[0].path == "/refund"


def errors_of(change: dict) -> list[str]:
    document = samples.document([samples.action("risky", **change)])
    with pytest.raises(ConfigError) as raised:
        validate(document)
    return raised.value.errors


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"retry": {"attempts": "many"}}, "actions[0].retry.attempts: expected a whole number"),
        ({"published": "perhaps"}, "actions[0].published: expected true or false"),
        ({"name": "x" * 80}, "actions[0].name: too long: at most 75 characters"),
        ({"name": ""}, "actions[0].name: must not be empty"),
        ({"retry": {"attempts": 50}}, "actions[0].retry.attempts: must be at most 20"),
        ({"inputs": "title"}, "actions[0].inputs: expected a list"),
        (
            {"channels": ["c0pay"]},
            "actions[0].channels[0]: invalid value 'c0pay': expected a "
            "Slack id: capital letters and digits, like C0123ABCD",
        ),
        (
            {"id": "Refund Now"},
            "actions[0].id: invalid value 'Refund Now': use lowercase "
            "letters, digits, - and _, starting with a letter or digit",
        ),
    ],
)
def test_config_errors_in_plain_words_with_their_path(change: dict, expected: str) -> None:
    errors = errors_of(change)
    assert expected in errors
    assert not any("Input should" in e or "String should" in e or "^" in e for e in errors)


def test_admin_form_errors_name_the_key_inside_a_yaml_field(bot: Bot) -> None:
    view = open_modal(bot, "new")
    values = edit_values(
        id="page-oncall",
        name="Page on-call",
        owner="payments",
        scope="global",
        access="everyone",
        method="POST",
        url=f"{bot.receiver.url}/page",
        payload="{}",
        inputs="- {identifier: why, displayName: Why, type: text_input, maxLength: lots}",
        advanced="retry: {attempts: many}",
    )
    response = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)
    assert response["response_action"] == "errors"
    assert response["errors"] == {
        "inputs": "inputs[0].maxLength: expected a whole number",
        "advanced": "retry.attempts: expected a whole number",
    }
