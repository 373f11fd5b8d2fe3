"""Reading what a user submitted in a modal (Slack's `view.state.values` shape)."""

from __future__ import annotations

from typing import Any

from bot.catalog import Action
from bot.slack.blocks import INPUT_PREFIX, SERVICE_BLOCK


def _value(element: Any) -> Any:
    if not isinstance(element, dict):
        return None
    if "selected_option" in element:
        option = element.get("selected_option")
        return option.get("value") if isinstance(option, dict) else None
    return element.get("value")


def read_inputs(action: Action, state: Any) -> dict[str, Any]:
    """Raw values by input identifier; anything malformed reads as missing."""
    values = state.get("values") if isinstance(state, dict) else None
    values = values if isinstance(values, dict) else {}
    raw: dict[str, Any] = {}
    for item in action.inputs:
        block = values.get(INPUT_PREFIX + item.identifier)
        if isinstance(block, dict):
            raw[item.identifier] = _value(block.get(item.identifier))
    return raw


def read_service(state: Any) -> str | None:
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(SERVICE_BLOCK) if isinstance(values, dict) else None
    value = _value(block.get(SERVICE_BLOCK)) if isinstance(block, dict) else None
    return value if isinstance(value, str) else None


def error_block(identifier: str) -> str:
    return INPUT_PREFIX + identifier
