"""An action's form in Slack: the modal, one element per input type, and reading it back.

Both directions live here so that the mapping between our input types and Slack's
elements (and their `state.values` shapes) is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.catalog import Action, Option, Service, Team
from bot.inputs import MAX_PEOPLE, Field, number_text
from bot.mrkdwn import escape
from bot.slack import limits
from bot.slack.views.blocks import (
    INPUT_PREFIX,
    RUN_MODAL,
    SERVICE_BLOCK,
    channel_ref,
    context,
    modal,
    option,
    plain,
    section,
)
from bot.slack.views.schedule_form import schedule_button

TEXT_ELEMENTS = {
    "text_input": "plain_text_input",
    "text_area": "plain_text_input",
    "secret": "plain_text_input",
    "email": "email_text_input",
    "url": "url_text_input",
}
MASK = "••••••"
MAX_CHOICES = 10  # Slack's limit for checkboxes and radio buttons
NO_PLACEHOLDER = {"checkboxes", "radio_buttons", "datetimepicker"}


def _chosen(options: Sequence[Option] | None, value: Any, *, search: bool = False) -> Option | None:
    """The option for ``value``; a search-backed select takes any value, labelled if known."""
    if value in (None, ""):
        return None
    found = next((o for o in options or [] if o.value == str(value)), None)
    if found is None and search:
        return Option(value=str(value)[:75])
    return found


def _select(field: Field, multi: bool) -> dict[str, Any]:
    options = field.options
    prefix = "multi_" if multi else ""
    if field.source == "users":
        element: dict[str, Any] = {"type": f"{prefix}users_select"}
        if multi:
            element["max_selected_items"] = MAX_PEOPLE
        if field.initial:
            key = "initial_users" if multi else "initial_user"
            element[key] = list(field.initial) if multi else str(field.initial)
        return element
    if field.source == "search":
        element = {"type": f"{prefix}external_select", "min_query_length": 0}
    else:
        element = {"type": f"{prefix}static_select", "options": [option(o) for o in options or []]}
    search = field.source == "search"
    if multi:
        chosen = [c for v in field.initial or [] if (c := _chosen(options, v, search=search))]
        if chosen:
            element["initial_options"] = [option(c) for c in chosen]
    elif chosen_one := _chosen(options, field.initial, search=search):
        element["initial_option"] = option(chosen_one)
    return element


def element(field: Field) -> dict[str, Any]:
    """The Slack element for one input, showing its initial value."""
    item = field.input
    built = _element_for(field)
    built["action_id"] = item.identifier
    if item.placeholder and built["type"] not in NO_PLACEHOLDER:
        built["placeholder"] = plain(item.placeholder, 150)
    return built


def _element_for(field: Field) -> dict[str, Any]:
    kind = field.input.type
    if kind in TEXT_ELEMENTS:
        return _text_element(field)
    if kind == "number":
        return _number_element(field)
    if kind in ("dropdown", "multi_select") or (kind == "duration" and field.options):
        return _select(field, multi=kind == "multi_select")
    if kind == "duration":
        return _duration_element(field)
    if kind == "checkbox":
        return _checkbox_element(field)
    if kind in ("checkboxes", "radio") and len(field.options or []) > MAX_CHOICES:
        # Liquid gave more options than Slack shows as boxes: a select holds them all.
        return _select(field, multi=kind == "checkboxes")
    if kind in ("checkboxes", "radio"):
        return _choices_element(field)
    if kind in ("date", "time", "datetime"):
        return _picker(field)
    if kind in ("user", "users"):
        return _select(field, multi=kind == "users")
    assert kind == "channel"
    built: dict[str, Any] = {
        "type": "conversations_select",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if field.initial:
        built["initial_conversation"] = str(field.initial)
    return built


def _text_element(field: Field) -> dict[str, Any]:
    item, initial, kind = field.input, field.initial, field.input.type
    built: dict[str, Any] = {"type": TEXT_ELEMENTS[kind]}
    if kind == "text_area":
        built["multiline"] = True
    if initial not in (None, "") and kind != "secret":
        built["initial_value"] = str(initial)
    if kind in ("text_input", "text_area", "secret"):
        if item.maxLength:
            built["max_length"] = item.maxLength
        if item.minLength:
            built["min_length"] = item.minLength
    return built


def _number_element(field: Field) -> dict[str, Any]:
    item, initial = field.input, field.initial
    built: dict[str, Any] = {"type": "number_input", "is_decimal_allowed": not item.integer}
    if item.min is not None:
        built["min_value"] = number_text(item.min)
    if item.max is not None:
        built["max_value"] = number_text(item.max)
    if initial not in (None, ""):
        built["initial_value"] = number_text(float(initial))
    return built


def _duration_element(field: Field) -> dict[str, Any]:
    built: dict[str, Any] = {
        "type": "plain_text_input",
        "max_length": 20,
        "placeholder": plain("e.g. 30m, 2h or 1h30m", 150),
    }
    if field.initial:
        built["initial_value"] = str(field.initial)
    return built


def _checkbox_element(field: Field) -> dict[str, Any]:
    item, initial = field.input, field.initial
    only = Option(value="true", display=(item.description or item.displayName)[:75])
    built: dict[str, Any] = {"type": "checkboxes", "options": [option(only)]}
    if initial is True or str(initial).lower() == "true":
        built["initial_options"] = [option(only)]
    return built


def _choices_element(field: Field) -> dict[str, Any]:
    kind, initial = field.input.type, field.initial
    options = field.options or []
    built: dict[str, Any] = {
        "type": "checkboxes" if kind == "checkboxes" else "radio_buttons",
        "options": [option(o) for o in options],
    }
    if kind == "checkboxes":
        chosen = [c for v in initial or [] if (c := _chosen(options, v))]
        if chosen:
            built["initial_options"] = [option(c) for c in chosen]
    elif chosen_one := _chosen(options, initial):
        built["initial_option"] = option(chosen_one)
    return built


def _picker(field: Field) -> dict[str, Any]:
    kind, initial = field.input.type, field.initial
    if kind == "date":
        return {"type": "datepicker", **({"initial_date": str(initial)} if initial else {})}
    if kind == "time":
        return {"type": "timepicker", **({"initial_time": str(initial)[:5]} if initial else {})}
    built: dict[str, Any] = {"type": "datetimepicker"}
    if initial:
        built["initial_date_time"] = _epoch(initial)
    return built


def _epoch(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


def _has_default_choice(field: Field) -> bool:
    """A single-choice select or radio group that starts with an option chosen."""
    chosen = field.input.type in ("dropdown", "radio") or (
        field.input.type == "duration" and field.options
    )
    return bool(chosen) and _chosen(field.options, field.initial) is not None


def input_block(field: Field, dispatch: bool) -> dict[str, Any]:
    item = field.input
    block: dict[str, Any] = {
        "type": "input",
        "block_id": INPUT_PREFIX + item.identifier,
        "label": plain(item.displayName, 2000),
        "element": element(field),
        # A select showing its default always has a value: "(optional)" would mislead.
        "optional": not item.required and not _has_default_choice(field),
    }
    if item.description and item.type != "checkbox":
        block["hint"] = plain(item.description, 2000)
    if dispatch:
        # Other inputs depend on this one: Slack tells us when it changes.
        block["dispatch_action"] = True
        if block["element"]["type"] in {*TEXT_ELEMENTS.values(), "number_input"}:
            block["element"]["dispatch_action_config"] = {
                "trigger_actions_on": ["on_enter_pressed", "on_character_entered"]
            }
    return block


def service_block(
    services: Sequence[Service], selected: Service | None, *, dispatch: bool
) -> dict[str, Any]:
    element_: dict[str, Any] = {
        "action_id": SERVICE_BLOCK,
        "placeholder": plain("Choose a service"),
    }
    if len(services) > limits.STATIC_OPTIONS:
        element_.update(type="external_select", min_query_length=0)
    else:
        element_.update(
            type="static_select",
            options=[{"text": plain(s.name, limits.OPTION_TEXT), "value": s.id} for s in services],
        )
    if selected:
        element_["initial_option"] = {"text": plain(selected.name, 75), "value": selected.id}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": SERVICE_BLOCK,
        "label": plain("Service"),
        "element": element_,
    }
    if dispatch:
        block["dispatch_action"] = True
    return block


def needs_refresh(action: Action) -> set[str]:
    """Inputs whose change must redraw the form (others depend on them)."""
    parents = {p for item in action.inputs for p in item.dependsOn}
    return parents


def templated(action: Action) -> bool:
    """Whether any part of the form is Liquid (so a service choice may change it)."""
    return any(
        isinstance(i.values, str)
        or isinstance(i.visible, str)
        or (isinstance(i.defaultValue, str) and "{" in i.defaultValue)
        for i in action.inputs
    )


def run_modal(
    action: Action,
    owner: Team,
    fields: Sequence[Field],
    *,
    channel_id: str | None,
    metadata: str,
    services: Sequence[Service] = (),
    service: Service | None = None,
    service_fixed: bool = False,
    approvers: str = "",
    schedulable: bool = False,
) -> dict[str, Any]:
    """The form for one action.

    ``metadata`` (the sealed action, channel and fixed service) comes back with every
    interaction. ``service_fixed``: the service was chosen before (a service page).
    ``approvers``: who approves (mrkdwn), for an action that needs approval.
    """
    intro = f"*{escape(action.name)}*"
    if action.description:
        intro += f"\n{escape(action.description)}"
    owner_line = f"Owner: *{escape(owner.name)}*"
    if owner.channel:
        owner_line += f" · {channel_ref(owner)}"
    if action.needs_approval:
        owner_line += f" · Needs approval by {approvers or 'the approvers'}"
    blocks: list[dict[str, Any]] = [section(intro), context(owner_line)]
    if action.scope == "service":
        if service_fixed and service:
            blocks.append(context(f"Service: *{escape(service.name)}*"))
        else:
            blocks.append(service_block(services, service, dispatch=templated(action)))
    refresh = needs_refresh(action)
    blocks += [input_block(f, f.identifier in refresh) for f in fields if f.visible]
    where = f"<#{channel_id}>" if channel_id else "your direct messages with me"
    if schedulable:  # "Schedule…" beside Run: the same inputs, later
        blocks.append(schedule_button())
    if action.needs_approval:
        blocks.append(context(f"Nothing is sent until it is approved. Updates go to {where}."))
    else:
        blocks.append(context(f"The result will be posted in {where}."))
    # A short title: a long name would be cut at 24 characters; the body has it in full.
    verb = "Request" if action.needs_approval else "Run"
    return modal(
        f"{verb} action",
        blocks,
        callback_id=RUN_MODAL,
        private_metadata=metadata,
        submit=plain(verb, limits.MODAL_TITLE),
        close=plain("Cancel", limits.MODAL_TITLE),
    )


# --- reading a submission ---------------------------------------------------------------


def _value(element_state: Any) -> Any:
    """One element's value from `state.values`, whatever the element type."""
    if not isinstance(element_state, dict):
        return None
    if "selected_options" in element_state:
        chosen = element_state.get("selected_options") or []
        return [o.get("value") for o in chosen if isinstance(o, dict)]
    if "selected_option" in element_state:
        picked = element_state.get("selected_option")
        return picked.get("value") if isinstance(picked, dict) else None
    for key in ("selected_users", "selected_conversations", "selected_channels"):
        if key in element_state:
            return list(element_state.get(key) or [])
    for key in (
        "selected_user",
        "selected_conversation",
        "selected_channel",
        "selected_date",
        "selected_time",
        "selected_date_time",
        "value",
    ):
        if key in element_state:
            return element_state.get(key)
    return None


def _values(state: Any) -> dict[str, Any]:
    values = state.get("values") if isinstance(state, dict) else None
    return values if isinstance(values, dict) else {}


def read_inputs(action: Action, state: Any) -> dict[str, Any]:
    """Raw values by input identifier; anything malformed reads as missing."""
    values = _values(state)
    raw: dict[str, Any] = {}
    for item in action.inputs:
        block = values.get(INPUT_PREFIX + item.identifier)
        if isinstance(block, dict):
            raw[item.identifier] = _value(block.get(item.identifier))
    return raw


def read_service(state: Any) -> str | None:
    block = _values(state).get(SERVICE_BLOCK)
    value = _value(block.get(SERVICE_BLOCK)) if isinstance(block, dict) else None
    return value if isinstance(value, str) else None


def error_block(identifier: str) -> str:
    return INPUT_PREFIX + identifier


def echo(action: Action, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as they may be shown back (secrets masked)."""
    shown = dict(inputs)
    for item in action.inputs:
        if item.type == "secret" and shown.get(item.identifier):
            shown[item.identifier] = MASK
    return shown
