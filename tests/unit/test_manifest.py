"""The Slack app manifest at the repo root is valid and declares what the bot relies on."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
# Slack's official manifest JSON Schema, shared between checkouts (not vendored in this repo).
SCHEMA_PATH = REPO_ROOT.parent / "shared" / "slack" / "manifest.schema.json"

EVENTS_URL = "https://actions.example.com/slack/events"
REQUIRED_BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "files:write",
    "im:write",
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    with MANIFEST_PATH.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "manifest.yml must be a YAML mapping"
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"Slack manifest JSON Schema not found at {SCHEMA_PATH}")
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    Draft7Validator.check_schema(schema)
    # An empty registry keeps validation offline: a remote `$ref` fails loudly instead of being
    # fetched. The schema's own `#/definitions/...` refs resolve without it.
    return Draft7Validator(schema, registry=Registry())


def _errors(validator: Draft7Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in validator.iter_errors(instance)
    ]


def _commands(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {cmd["command"]: cmd for cmd in manifest["features"]["slash_commands"]}


def test_manifest_matches_slack_schema(
    manifest: dict[str, Any], validator: Draft7Validator
) -> None:
    assert _errors(validator, manifest) == []


def test_background_color_is_hex(manifest: dict[str, Any], schema: dict[str, Any]) -> None:
    # The schema states this constraint with a non-standard "regex" keyword that validators ignore.
    color_schema = schema["definitions"]["app-manifests.v1.display_information.schema"][
        "properties"
    ]["background_color"]
    pattern = color_schema.get("regex", r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")
    assert re.search(pattern, manifest["display_information"]["background_color"])


def test_slash_commands(manifest: dict[str, Any]) -> None:
    commands = _commands(manifest)
    assert set(commands) == {"/actions", "/actions-admin"}
    for cmd in commands.values():
        assert cmd["url"] == EVENTS_URL
        assert cmd["should_escape"] is False
        assert cmd["usage_hint"]


def test_app_home_and_bot_user(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["bot_user"]["always_online"] is True


def test_events_and_interactivity(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert "app_home_opened" in events["bot_events"]
    assert events["request_url"] == EVENTS_URL

    interactivity = settings["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == EVENTS_URL
    assert interactivity["message_menu_options_url"] == EVENTS_URL

    assert settings["socket_mode_enabled"] is False


@pytest.mark.parametrize("scope", REQUIRED_BOT_SCOPES)
def test_bot_scope_present(manifest: dict[str, Any], scope: str) -> None:
    assert scope in manifest["oauth_config"]["scopes"]["bot"]


def test_command_without_leading_slash_is_rejected(
    manifest: dict[str, Any], validator: Draft7Validator
) -> None:
    broken = copy.deepcopy(manifest)
    broken["features"]["slash_commands"][0]["command"] = "actions"

    errors = list(validator.iter_errors(broken))

    assert errors, "a slash command without a leading '/' must fail validation"
    assert any(
        list(err.absolute_path) == ["features", "slash_commands", 0, "command"] for err in errors
    ), _errors(validator, broken)


def test_unknown_top_level_key_is_rejected(
    manifest: dict[str, Any], validator: Draft7Validator
) -> None:
    broken = copy.deepcopy(manifest)
    broken["feature"] = broken["features"]  # a typo Slack would reject on upload

    assert _errors(validator, broken) != []
