"""Shared sample configs and small builders for the unit tests (no servers, no network)."""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml import YAML

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
