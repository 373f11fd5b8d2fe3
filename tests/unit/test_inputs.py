"""Server-side validation of what a user submitted in the run modal."""

from __future__ import annotations

from typing import Any

import pytest

from bot.catalog import Action, Option
from bot.inputs import MAX_PEOPLE, validate
from tests import samples


def make_action(*inputs: dict[str, Any]) -> Action:
    return Action.model_validate(samples.action(inputs=list(inputs)))


TITLE = {
    "identifier": "title",
    "displayName": "Title",
    "type": "text_input",
    "required": True,
    "minLength": 3,
    "maxLength": 10,
}
PRIO = {
    "identifier": "prio",
    "displayName": "Priority",
    "type": "dropdown",
    "values": ["low", {"value": "high", "display": "High!"}],
}
NOTES = {"identifier": "notes", "displayName": "Notes", "type": "text_area"}


def test_issue_action_accepts_a_good_submission() -> None:
    action = samples.issue_catalog().action("create-ticket")
    assert action is not None

    clean, errors = validate(action, {"title": "Printer on fire", "prio": "high"})

    assert errors == {}
    assert clean == {"title": "Printer on fire", "details": None, "prio": "high"}


def test_required() -> None:
    action = make_action(TITLE)
    for raw in ({}, {"title": None}, {"title": ""}, {"title": "   "}):
        clean, errors = validate(action, raw)
        assert errors == {"title": "Title is required."}, raw
        assert clean == {"title": None}


def test_max_length() -> None:
    _, errors = validate(make_action(TITLE), {"title": "x" * 11})
    assert errors == {"title": "At most 10 characters (this is 11)."}
    _, errors = validate(make_action(TITLE), {"title": "x" * 10})
    assert errors == {}


def test_min_length() -> None:
    _, errors = validate(make_action(TITLE), {"title": "ab"})
    assert errors == {"title": "At least 3 characters."}
    _, errors = validate(make_action(TITLE), {"title": "abc"})
    assert errors == {}


def test_text_input_is_trimmed_and_lengths_count_the_trimmed_value() -> None:
    clean, errors = validate(make_action(TITLE), {"title": "  abcdefghij  "})
    assert errors == {}
    assert clean["title"] == "abcdefghij"


def test_text_area_keeps_leading_whitespace() -> None:
    clean, errors = validate(make_action(NOTES), {"notes": "  - item\n  - item\n\n"})
    assert errors == {}
    assert clean["notes"] == "  - item\n  - item"


@pytest.mark.parametrize(
    ("pattern", "value", "ok"),
    [
        ("[0-9]", "abc1def", True),  # search: anywhere in the value
        ("[0-9]", "abcdef", False),
        ("^[0-9]+$", "12345", True),  # anchors are the author's and are honoured
        ("^[0-9]+$", "123a45", False),
        ("^[0-9]+$", "a12345", False),
        ("^INC-", "INC-42", True),
        ("^INC-", "see INC-42", False),
        ("-42$", "INC-42", True),
        ("-42$", "INC-421", False),
    ],
)
def test_pattern(pattern: str, value: str, ok: bool) -> None:
    action = make_action(
        {"identifier": "ref", "displayName": "Ref", "type": "text_input", "pattern": pattern}
    )
    clean, errors = validate(action, {"ref": value})
    if ok:
        assert errors == {}
        assert clean == {"ref": value}
    else:
        assert errors == {"ref": f"Must match the pattern {pattern}."}
        assert clean == {"ref": None}  # an invalid value never reaches a template


def test_dropdown_accepts_listed_values() -> None:
    clean, errors = validate(make_action(PRIO), {"prio": "high"})
    assert errors == {}
    assert clean == {"prio": "high"}


@pytest.mark.parametrize("crafted", ["urgent", "High!", "HIGH", ["low"], {"value": "low"}, 1])
def test_dropdown_refuses_a_crafted_value(crafted: Any) -> None:
    clean, errors = validate(make_action(PRIO), {"prio": crafted})
    assert set(errors) == {"prio"}
    assert errors["prio"] in ("Choose one of the listed options.", "Unexpected value.")
    assert clean == {"prio": None}


@pytest.mark.parametrize("crafted", [["hello"], {"text": "hello"}, True])
def test_non_text_value_is_refused(crafted: Any) -> None:
    clean, errors = validate(make_action(TITLE), {"title": crafted})
    assert errors == {"title": "Unexpected value."}
    assert clean == {"title": None}


def test_a_number_sent_for_text_reaches_templates_as_text() -> None:
    clean, errors = validate(make_action(TITLE), {"title": 12345})
    assert errors == {}
    assert clean == {"title": "12345"}


def test_unknown_identifiers_are_ignored() -> None:
    clean, errors = validate(
        make_action(TITLE, PRIO), {"title": "hello", "admin": "true", "__proto__": "x"}
    )
    assert errors == {}
    assert clean == {"title": "hello", "prio": None}


def test_optional_empty_is_none() -> None:
    clean, errors = validate(make_action(PRIO, NOTES), {"prio": "", "notes": "  \n"})
    assert errors == {}
    assert clean == {"prio": None, "notes": None}


def test_every_error_is_reported_at_once() -> None:
    pattern = {"identifier": "ref", "displayName": "Ref", "type": "text_input", "pattern": "^x"}
    clean, errors = validate(make_action(TITLE, PRIO, pattern), {"prio": "nope", "ref": "y"})
    assert clean == {"title": None, "prio": None, "ref": None}
    assert errors == {
        "title": "Title is required.",
        "prio": "Choose one of the listed options.",
        "ref": "Must match the pattern ^x.",
    }


REMOTE = {
    "identifier": "db",
    "displayName": "Database",
    "type": "dropdown",
    "values_from": {"url": "https://options.example.com/dbs"},
}


def test_remote_choice_without_fetched_options_fails_closed() -> None:
    action = make_action(REMOTE)

    assert validate(action, {"db": "invented"})[1] == {
        "db": "The options could not be loaded; try again."
    }
    assert validate(action, {"db": "invented"}, remote={"db": []})[1] == {
        "db": "Choose one of the listed options."
    }
    assert validate(action, {"db": "main"}, remote={"db": [Option(value="main")]}) == (
        {"db": "main"},
        {},
    )


def test_people_are_capped() -> None:
    action = make_action({"identifier": "whom", "displayName": "Whom", "type": "users"})
    crowd = [f"U0P{n:03}" for n in range(MAX_PEOPLE + 1)]

    assert validate(action, {"whom": crowd})[1] == {"whom": f"Choose at most {MAX_PEOPLE} people."}
    assert validate(action, {"whom": crowd[:MAX_PEOPLE]})[1] == {}
