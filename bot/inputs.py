"""An action's inputs: resolving them for a form, and validating what comes back.

Resolution renders the Liquid parts of a form (options, defaults, visibility) against
the user, the service and the values typed so far. Validation runs on the server for
every submission: never trust the form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from bot import templates
from bot.catalog import (
    MULTI_TYPES,
    TEXT_TYPES,
    Action,
    Catalog,
    Input,
    Option,
    Service,
    parse_duration,
)
from bot.pattern_words import describe

STATIC_LIMIT = 100  # Slack's static_select maximum; more becomes a type-ahead search
MAX_PEOPLE = 20  # a people picker's selection: the element's max_selected_items, and checked
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@dataclass
class Field:
    """One input as it should appear now."""

    input: Input
    visible: bool
    initial: Any  # a value of the input's type, or None
    options: list[Option] | None  # None: options come from a search or from Slack
    source: str  # static | search | users | none

    @property
    def identifier(self) -> str:
        return self.input.identifier


def form_context(
    catalog: Catalog, values: Mapping[str, Any], user: Mapping[str, Any], service: Service | None
) -> dict[str, Any]:
    """What Liquid in `values`, `defaultValue` and `visible` may use."""
    return {
        "manualInputs": dict(values),
        "inputs": dict(values),
        "user": dict(user),
        "service": templates.service_context(service, catalog) if service else None,
    }


def _render(source: str, context: Mapping[str, Any]) -> str:
    return templates.render_sync(source, context, {}) if "{" in source else source


def _options_from_text(text: str) -> list[Option]:
    """A rendered `values` template: a JSON list, or one option per line (or comma)."""
    text = text.strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        separator = "\n" if "\n" in text else ","
        items = [part.strip() for part in text.split(separator) if part.strip()]
    if not isinstance(items, list):
        items = [items]
    found = []
    for item in items:
        if isinstance(item, dict) and "value" in item:
            found.append(Option(value=str(item["value"]), display=item.get("display")))
        elif item not in (None, ""):
            found.append(Option(value=str(item)))
    return found


def options_of(item: Input, context: Mapping[str, Any], catalog: Catalog) -> list[Option] | None:
    """Static or rendered options; catalog bindings as options; None for remote and users."""
    if item.binding is not None:
        if item.binding.resource == "services":
            return [Option(value=s.id, display=s.name[:75]) for s in catalog.services.values()]
        if item.binding.resource == "teams":
            return [Option(value=t.id, display=t.name[:75]) for t in catalog.teams.values()]
        return None
    if item.values_from is not None:
        return None
    if isinstance(item.values, str):
        return _options_from_text(_render(item.values, context))
    return list(item.values)


def _initial(item: Input, context: Mapping[str, Any]) -> Any:
    default = item.defaultValue
    if isinstance(default, str) and "{" in default:
        default = _render(default, context).strip()
        if item.type in MULTI_TYPES:
            return [o.value for o in _options_from_text(default)]
    return default


def _visible(item: Input, context: Mapping[str, Any]) -> bool:
    if isinstance(item.visible, bool):
        return item.visible
    text = _render(item.visible, context).strip().lower()
    return text not in ("", "false", "no", "0", "nil", "none")


def resolve(
    catalog: Catalog,
    action: Action,
    *,
    values: Mapping[str, Any] | None = None,
    user: Mapping[str, Any] | None = None,
    service: Service | None = None,
) -> list[Field]:
    """Every input of the action as it should be shown, given what was typed so far.

    Raises templates.TemplateError when an input's Liquid fails.
    """
    context = form_context(catalog, values or {}, user or {}, service)
    fields = []
    for item in action.inputs:
        visible = _visible(item, context)
        if item.type in ("user", "users") or (item.binding and item.binding.resource == "users"):
            options, source = None, "users"
        elif item.has_options:
            options = options_of(item, context, catalog)
            large = options is None or len(options) > STATIC_LIMIT
            source = "search" if large or item.binding else "static"
            # Options from Liquid may be empty until a parent is chosen: Slack refuses an
            # empty list, and there is nothing to pick yet anyway.
            visible = visible and not (isinstance(item.values, str) and not options)
        else:
            options, source = None, "none"
        fields.append(Field(item, visible, _initial(item, context), options, source))
    return fields


# --- validation -------------------------------------------------------------------------


def validate(
    action: Action,
    raw: Mapping[str, Any],
    fields: list[Field] | None = None,
    remote: Mapping[str, list[Option]] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (clean values by identifier, error message by identifier).

    ``fields`` (from resolve) give the options and visibility in force; ``remote`` the
    options fetched for this user and form for inputs with `values_from`: without them
    such an input is refused (fail closed). Unknown identifiers in ``raw`` are ignored:
    only the action's own inputs reach templates.
    """
    by_id = {f.identifier: f for f in fields or []}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in action.inputs:
        field = by_id.get(item.identifier)
        if field is not None and not field.visible:
            clean[item.identifier] = _empty(item)
            continue
        value = raw.get(item.identifier)
        if isinstance(value, str) and item.type != "text_area":
            value = value.strip()
        elif isinstance(value, str):
            value = value.rstrip()
        if item.type == "checkbox":
            checked = isinstance(value, list) and "true" in value
            if item.required and not checked:
                errors[item.identifier] = f"Tick “{item.displayName}” to continue."
            clean[item.identifier] = checked
            continue
        if value in (None, "", []):
            if item.required:
                errors[item.identifier] = f"{item.displayName} is required."
            clean[item.identifier] = _empty(item)
            continue
        options = field.options if field else (item.static_values or None)
        if options is None and item.values_from is not None:
            options = (remote or {}).get(item.identifier)
            if options is None:
                errors[item.identifier] = "The options could not be loaded; try again."
                clean[item.identifier] = None
                continue
        try:
            clean[item.identifier] = _check(item, value, options)
        except ValueError as exc:
            errors[item.identifier] = str(exc)
            clean[item.identifier] = None
    return clean, errors


def _empty(item: Input) -> Any:
    if item.type == "checkbox":
        return False
    return [] if item.type in MULTI_TYPES else None


def _check(item: Input, value: Any, options: list[Option] | None) -> Any:
    kind = item.type
    if kind in MULTI_TYPES:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("Unexpected value.")
        if options is not None:
            allowed = {o.value for o in options}
            if any(v not in allowed for v in value):
                raise ValueError("Choose only from the listed options.")
        people = kind == "users" or (item.binding is not None and item.binding.resource == "users")
        if people and any(not re.fullmatch(r"[UW][A-Z0-9]+", v) for v in value):
            raise ValueError("Choose people from the list.")
        if people and len(value) > MAX_PEOPLE:
            raise ValueError(f"Choose at most {MAX_PEOPLE} people.")
        return value
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("Unexpected value.")
    if kind in ("dropdown", "radio") or (kind == "duration" and options):
        if options is not None and str(value) not in {o.value for o in options}:
            raise ValueError("Choose one of the listed options.")
        if kind == "duration":
            _duration(str(value))
        return str(value)
    if kind == "duration":
        return _duration(str(value))
    if kind == "number":
        return _number(item, str(value))
    if kind == "date":
        return _parse(date.fromisoformat, value, "a date").isoformat()
    if kind == "time":
        parsed = _parse(time.fromisoformat, value, "a time")
        return parsed.strftime("%H:%M")
    if kind == "datetime":
        try:
            moment = datetime.fromtimestamp(int(value), UTC)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("Pick a date and time.") from None
        return moment.isoformat().replace("+00:00", "Z")
    if kind == "user":
        if not re.fullmatch(r"[UW][A-Z0-9]+", str(value)):
            raise ValueError("Choose a person from the list.")
        return str(value)
    if kind == "channel":
        if not re.fullmatch(r"[CGD][A-Z0-9]+", str(value)):
            raise ValueError("Choose a channel from the list.")
        return str(value)
    text = str(value)
    assert kind in TEXT_TYPES
    if item.maxLength is not None and len(text) > item.maxLength:
        raise ValueError(f"At most {item.maxLength} characters (this is {len(text)}).")
    if item.minLength is not None and len(text) < item.minLength:
        raise ValueError(f"At least {item.minLength} characters.")
    if kind == "email" and not EMAIL.match(text):
        raise ValueError("Enter an email address, like name@example.com.")
    if kind == "url" and not URL.match(text):
        raise ValueError("Enter a web address starting with https://.")
    if item.pattern and not re.search(item.pattern, text):  # anchors are the author's
        raise ValueError(pattern_problem(item))
    return text


def pattern_problem(item: Input) -> str:
    """What to say when a value doesn't match: the author's hint, plain words, or an example.

    Never the regex itself: people filling in a form don't read regular expressions.
    """
    example = f" For example: {item.example}." if item.example else ""
    if item.patternHint:
        return item.patternHint.rstrip(".") + "." + example
    words = describe(item.pattern or "")
    if words:
        return f"{words}.{example}"
    return f"This doesn't match the expected format.{example}"


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError:
        raise ValueError("Enter a duration such as 30m, 2h or 1h30m.") from None
    return text


def number_text(number: float) -> str:
    """1234567.0 → `1234567`; 0.25 → `0.25` (never exponent notation)."""
    if float(number).is_integer():
        return str(int(number))
    return repr(float(number))


def _parse(parse: Any, value: Any, what: str) -> Any:
    try:
        return parse(str(value))
    except ValueError:
        raise ValueError(f"Enter {what}.") from None


def _number(item: Input, text: str) -> int | float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError("Enter a number.") from None
    if not math.isfinite(number):
        raise ValueError("Enter a number.")
    if item.integer:
        if not number.is_integer():
            raise ValueError("Enter a whole number.")
        number = int(number)
    if item.min is not None and number < item.min:
        raise ValueError(f"At least {number_text(item.min)}.")
    if item.max is not None and number > item.max:
        raise ValueError(f"At most {number_text(item.max)}.")
    return number
