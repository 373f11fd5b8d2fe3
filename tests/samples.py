"""Shared sample configs, small builders and Slack checks for the unit tests (no network)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.catalog import Catalog
from bot.config import validate

# The example config from the issue, verbatim.
ISSUE_YAML = """\
admins: {users: [U0ADMIN], usergroups: [S0ADMINS]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
services:
  - {id: checkout-api, name: Checkout API, owner: payments, tier: 1, lifecycle: production,
     language: python, tags: {pd_id: P123}}
actions:
  - id: create-ticket
    name: Create ticket
    description: Opens a ticket in the tracker
    owner: payments
    scope: global
    access: everyone
    published: true
    webhook:
      url: https://tracker.example.com/api/tickets
      method: POST
      headers: {Content-Type: application/json, Authorization: "Bearer {{ 'TRACKER_TOKEN' | secret }}"}
      payload: |
        {"title": {{ manualInputs.title | json }}, "priority": {{ manualInputs.prio | json }}, "user": {{ user.id | json }}}
      timeout: 10
    inputs:
      - {identifier: title, displayName: Title, type: text_input, required: true, maxLength: 80}
      - {identifier: details, displayName: Details, type: text_area, placeholder: What happened?}
      - {identifier: prio, displayName: Priority, type: dropdown, values: [low, high], defaultValue: low}
    response_template: |
      {% if response.status >= 200 and response.status < 300 %}Ticket {{ response.body.key }} created{% else %}Failed with {{ response.status }}{% endif %}
"""


def parse_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def issue_document() -> dict[str, Any]:
    """A fresh, mutable copy of the issue's config as parsed YAML."""
    return copy.deepcopy(parse_yaml(ISSUE_YAML))


def team(team_id: str = "payments", **overrides: Any) -> dict[str, Any]:
    return {"id": team_id, "name": team_id.title(), "channel": "C0PAY", **overrides}


def service(service_id: str = "checkout-api", **overrides: Any) -> dict[str, Any]:
    return {
        "id": service_id,
        "name": service_id.replace("-", " ").title(),
        "owner": "payments",
        "tags": {"pd_id": "P123"},
        **overrides,
    }


def action(action_id: str = "do-it", **overrides: Any) -> dict[str, Any]:
    """A minimal valid action owned by `payments`."""
    return {
        "id": action_id,
        "name": action_id.replace("-", " ").capitalize(),
        "owner": "payments",
        "webhook": {"url": "https://hooks.example.com/run"},
        **overrides,
    }


def document(
    actions: list[dict[str, Any]] | None = None,
    *,
    teams: list[dict[str, Any]] | None = None,
    services: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "admins": {"users": ["U0ADMIN"]},
        "teams": [team()] if teams is None else teams,
        "services": [service()] if services is None else services,
        "actions": [action()] if actions is None else actions,
        **extra,
    }


def catalog(doc: dict[str, Any] | None = None) -> Catalog:
    """Validate a config document (the default one when None) into a Catalog."""
    return validate(document() if doc is None else doc, source="test.yml").catalog


def issue_catalog() -> Catalog:
    return validate(issue_document(), source="actions.yml").catalog


# --- what Slack accepts ---------------------------------------------------------------
# slack_sdk's models check types and most sizes; the rest of Slack's limits are checked
# here. Every builder's output goes through both before a test reads what a user sees.

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a Block Kit payload, depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def texts(blocks: Any) -> str:
    """All text a user can read in blocks (text objects and option labels), one per line."""
    return "\n".join(n["text"] for n in walk(blocks) if isinstance(n.get("text"), str))


def shown(message: Any) -> str:
    """What a message shows: its blocks' text, and its notification text."""
    return message.get("text", "") + "\n" + texts(message.get("blocks") or [])


def dropped_fields(built: Any, dumped: Any, path: str = "") -> list[str]:
    """Fields slack_sdk does not know (it drops them; Slack refuses them)."""
    if isinstance(built, dict) and isinstance(dumped, dict):
        found = [f"{path}.{k}" for k in built if k not in dumped]
        for key in built.keys() & dumped.keys():
            found += dropped_fields(built[key], dumped[key], f"{path}.{key}")
        return found
    if isinstance(built, list) and isinstance(dumped, list):
        found = [] if len(built) == len(dumped) else [f"{path}: {len(built)} != {len(dumped)}"]
        for index, (one, other) in enumerate(zip(built, dumped, strict=False)):
            found += dropped_fields(one, other, f"{path}[{index}]")
        return found
    return []


def own_checks(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    """Limits Slack enforces that slack_sdk's models do not check."""
    assert 1 <= len(blocks) <= max_blocks, f"{len(blocks)} blocks, Slack allows {max_blocks}"
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), f"duplicate block_id in {ids}"
    for block in blocks:
        if block["type"] == "actions":
            action_ids = [e["action_id"] for e in block["elements"]]
            assert len(action_ids) == len(set(action_ids)), f"duplicate action_id {action_ids}"
            assert 1 <= len(block["elements"]) <= 25, "Slack takes 1 to 25 elements per row"
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10, "Slack takes 1 to 10 context elements"
    for node in walk(blocks):
        if node.get("type") in ("plain_text", "mrkdwn"):
            assert node["text"], "Slack refuses empty text objects"
        if node.get("type") == "plain_text_input":
            assert node.get("max_length", 3000) <= 3000, "max_length over 3000"
            assert node.get("min_length", 0) <= 3000, "min_length over 3000"
            initial = node.get("initial_value", "")
            assert len(initial) <= node.get("max_length", 3000), "initial value too long"
        if node.get("type") in ("static_select", "multi_static_select"):
            groups = node.get("option_groups") or [{"options": node["options"]}]
            assert 1 <= len(groups) <= 100, "Slack takes 1 to 100 option groups"
            options = [o for group in groups for o in group["options"]]
            for group in groups:
                assert 1 <= len(group["options"]) <= 100, "Slack needs 1 to 100 options"
            for option in options:
                assert len(option["text"]["text"]) <= 75, f"option text too long: {option}"
                assert len(option["value"]) <= 150, f"option value too long: {option}"
            values = {o["value"] for o in options}
            chosen = [node["initial_option"]] if "initial_option" in node else []
            for one in chosen + node.get("initial_options", []):
                assert one["value"] in values, f"initial option {one} is not among the options"
        if node.get("type") in ("checkboxes", "radio_buttons"):
            assert 1 <= len(node["options"]) <= 10, "Slack needs 1 to 10 options"


def message_ok(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks of a message as Slack would take them; fails on what Slack would refuse."""
    parsed = Block.parse_all(blocks)
    assert None not in parsed, "slack_sdk does not know one of the blocks"
    dumped = [b.to_dict() for b in parsed]  # raises SlackObjectFormationError when invalid
    own_checks(blocks, MESSAGE_BLOCKS)
    dropped = dropped_fields(blocks, dumped)
    assert not dropped, f"fields Slack does not take: {dropped}"
    return dumped


def view_ok(view: dict[str, Any]) -> dict[str, Any]:
    """A modal or Home tab as Slack would take it; fails on what Slack would refuse."""
    dumped = View(**view).to_dict()  # raises SlackObjectFormationError when invalid
    own_checks(view["blocks"], VIEW_BLOCKS)
    dropped = dropped_fields(view, dumped)
    assert not dropped, f"fields Slack does not take: {dropped}"
    if view["type"] == "modal":
        for key in ("title", "submit", "close"):
            if key in view:
                assert len(view[key]["text"]) <= 24
        assert len(view.get("private_metadata", "")) <= 3000
    return dumped
