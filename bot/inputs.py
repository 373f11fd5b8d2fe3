"""Server-side validation of submitted input values; never trust the form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.catalog import Action, Input


def validate(action: Action, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (clean values by identifier, error message by identifier).

    Unknown identifiers in ``raw`` are ignored: only the action's own inputs reach templates.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in action.inputs:
        value = raw.get(item.identifier)
        if isinstance(value, str):
            value = value.strip() if item.type != "text_area" else value.rstrip()
        if value in (None, ""):
            if item.required:
                errors[item.identifier] = f"{item.displayName} is required."
            clean[item.identifier] = None
            continue
        problem = _check(item, value)
        if problem:
            errors[item.identifier] = problem
        clean[item.identifier] = value
    return clean, errors


def _check(item: Input, value: Any) -> str | None:
    if not isinstance(value, str):
        return "Unexpected value."
    if item.type == "dropdown":
        return None if item.option(value) else "Choose one of the listed options."
    if item.maxLength is not None and len(value) > item.maxLength:
        return f"At most {item.maxLength} characters (this is {len(value)})."
    if item.minLength is not None and len(value) < item.minLength:
        return f"At least {item.minLength} characters."
    if item.pattern and not re.search(item.pattern, value):  # anchors are the author's
        return f"Must match the pattern {item.pattern}."
    return None
