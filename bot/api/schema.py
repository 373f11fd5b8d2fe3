"""An action's inputs as JSON Schema (what `inputs` of a run must look like), and the
API's values mapped onto what the form validation expects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.catalog import MULTI_TYPES, Action, Input

_PEOPLE = r"^[UW][A-Z0-9]+$"
_FORMATS = {"email": "email", "url": "uri", "date": "date"}


def input_schema(item: Input) -> dict[str, Any]:
    """One input: type, enum of static options, pattern, lengths, min and max."""
    schema: dict[str, Any] = {"title": item.displayName}
    if item.description:
        schema["description"] = item.description
    options = [o.value for o in item.static_values]
    kind = item.type
    if kind == "checkbox":
        schema["type"] = "boolean"
    elif kind == "number":
        schema["type"] = "integer" if item.integer else "number"
        if item.min is not None:
            schema["minimum"] = item.min
        if item.max is not None:
            schema["maximum"] = item.max
    elif kind == "datetime":
        schema.update(type="integer", description=item.description or "Unix time, in seconds")
    elif kind in MULTI_TYPES:
        element: dict[str, Any] = {"type": "string"}
        if options:
            element["enum"] = options
        if kind == "users":
            element["pattern"] = _PEOPLE
        schema.update(type="array", items=element, uniqueItems=True)
    else:
        schema["type"] = "string"
        if options:
            schema["enum"] = options
        if item.maxLength is not None:
            schema["maxLength"] = item.maxLength
        if item.minLength is not None:
            schema["minLength"] = item.minLength
        if item.pattern:
            schema["pattern"] = item.pattern
        if kind in _FORMATS:
            schema["format"] = _FORMATS[kind]
        if kind == "time":
            schema["pattern"] = r"^[0-2][0-9]:[0-5][0-9]$"
        elif kind == "user":
            schema["pattern"] = _PEOPLE
        elif kind == "channel":
            schema["pattern"] = r"^[CGD][A-Z0-9]+$"
    if item.values_from is not None:
        schema["x-options"] = f"inputs/{item.identifier}/options"
    default = item.defaultValue
    if default is not None and not (isinstance(default, str) and "{" in default):
        schema["default"] = default  # a Liquid default depends on the user: not shown
    return schema


def inputs_schema(action: Action) -> dict[str, Any]:
    """The whole `inputs` object of a run (JSON Schema 2020-12)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {i.identifier: input_schema(i) for i in action.inputs},
        "required": [i.identifier for i in action.inputs if i.required],
        "additionalProperties": False,
    }


def form_values(action: Action, values: Mapping[str, Any]) -> dict[str, Any]:
    """API values in the shape the form's validation reads (a ticked box is ["true"])."""
    found: dict[str, Any] = {}
    for item in action.inputs:
        if item.identifier not in values:
            continue
        value = values[item.identifier]
        if item.type == "checkbox" and isinstance(value, bool):
            value = ["true"] if value else []
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value) if item.type != "datetime" else value
        found[item.identifier] = value
    return found


def unknown_inputs(action: Action, values: Mapping[str, Any]) -> dict[str, str]:
    known = {i.identifier for i in action.inputs}
    return {k[:64]: "This action has no such input." for k in values if k not in known}
