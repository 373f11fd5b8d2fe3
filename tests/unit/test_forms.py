"""The run form, input type by input type: what Slack draws, and what comes back from it.

Each test builds the modal the way the bot does (resolve the inputs, draw them), checks it
with slack_sdk and Slack's own limits, then feeds `state.values` shaped exactly as Slack
sends them for that element through `read_inputs` and `validate`: the value a receiver
gets, or the error the user sees under the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import pytest

from bot import inputs, options
from bot.catalog import Action, Catalog, InputType, Service
from bot.slack.views import blocks, forms
from tests import samples
from tests.samples import texts, view_ok

USER = {"id": "U0DEV", "name": "Dev Eloper", "email": "dev@example.com"}
SERVICES = [
    samples.service("checkout-api", name="Checkout API", channel="C0CHECKOUT"),
    samples.service("payments-ledger", name="Payments Ledger", channel="C0LEDGER"),
    samples.service("search", name="Search", owner="search", channel=None),
]
TEAMS = [samples.team(), samples.team("search", name="Search Team", channel="C0SEARCH")]


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value, "emoji": True}


def opt(value: str, label: str | None = None) -> dict[str, Any]:
    """An option object, as in an element and as Slack sends it back in `state.values`."""
    return {"text": text(label or value), "value": value}


def build(*items: dict[str, Any], **action: Any) -> tuple[Catalog, Action]:
    doc = samples.document(
        [samples.action("form", inputs=list(items), **action)], teams=TEAMS, services=SERVICES
    )
    catalog = samples.catalog(doc)
    found = catalog.action("form")
    assert found is not None
    return catalog, found


def answer(kind: str, **extra: Any) -> dict[str, Any]:
    return {"identifier": "answer", "displayName": "Answer", "type": kind, **extra}


def draw(
    catalog: Catalog,
    action: Action,
    values: dict[str, Any] | None = None,
    service: Service | None = None,
) -> dict[str, Any]:
    """The modal as the bot opens or redraws it, checked against what Slack accepts."""
    fields = inputs.resolve(catalog, action, values=values or {}, user=USER, service=service)
    view = forms.run_modal(
        action,
        catalog.owner_of(action),
        fields,
        channel_id="C0CHAN",
        metadata="sealed",
        services=catalog.services_for(action),
        service=service,
    )
    view_ok(view)
    return view


def input_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def element_of(view: dict[str, Any], identifier: str = "answer") -> dict[str, Any]:
    return input_blocks(view)[f"input:{identifier}"]["element"]


def state(**elements: dict[str, Any]) -> dict[str, Any]:
    """`view.state` as Slack sends it: block_id → action_id → element state."""
    return {"values": {f"input:{k}": {k: v} for k, v in elements.items()}}


def submit(
    catalog: Catalog, action: Action, view_state: dict[str, Any], service: Service | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """What the bot does with a submission: read the state, resolve the form, validate."""
    raw = forms.read_inputs(action, view_state)
    fields = inputs.resolve(catalog, action, values=raw, user=USER, service=service)
    return inputs.validate(action, raw, fields)


# --- every input type, both ways ------------------------------------------------------


@dataclass(frozen=True)
class Case:
    input: dict[str, Any]
    element: dict[str, Any]  # exactly what Slack is sent (action_id added)
    sent: dict[str, Any]  # the element's state as Slack sends it on submit
    value: Any  # what the receiver gets
    empty: dict[str, Any]  # the element's state when left blank
    blank: Any  # what the receiver gets then


CASES = {
    "text_input": Case(
        answer("text_input", defaultValue="hello", placeholder="Say hi", minLength=2, maxLength=20),
        {
            "type": "plain_text_input",
            "initial_value": "hello",
            "max_length": 20,
            "min_length": 2,
            "placeholder": text("Say hi"),
        },
        {"type": "plain_text_input", "value": "  hi there  "},
        "hi there",
        {"type": "plain_text_input", "value": None},
        None,
    ),
    "text_area": Case(
        answer("text_area", defaultValue="a\nb", placeholder="What happened?"),
        {
            "type": "plain_text_input",
            "multiline": True,
            "initial_value": "a\nb",
            "placeholder": text("What happened?"),
        },
        {"type": "plain_text_input", "value": "  - step 1\n  - step 2\n\n"},
        "  - step 1\n  - step 2",
        {"type": "plain_text_input", "value": None},
        None,
    ),
    "dropdown": Case(
        answer(
            "dropdown",
            values=[{"value": "eu", "display": "Europe"}, {"value": "us", "display": "USA"}],
            defaultValue="us",
            placeholder="Region",
        ),
        {
            "type": "static_select",
            "options": [opt("eu", "Europe"), opt("us", "USA")],
            "initial_option": opt("us", "USA"),
            "placeholder": text("Region"),
        },
        {"type": "static_select", "selected_option": opt("eu", "Europe")},
        "eu",
        {"type": "static_select", "selected_option": None},
        None,
    ),
    "multi_select": Case(
        answer("multi_select", values=["a", "b", "c"], defaultValue=["a", "c"], placeholder="Pick"),
        {
            "type": "multi_static_select",
            "options": [opt("a"), opt("b"), opt("c")],
            "initial_options": [opt("a"), opt("c")],
            "placeholder": text("Pick"),
        },
        {"type": "multi_static_select", "selected_options": [opt("b"), opt("c")]},
        ["b", "c"],
        {"type": "multi_static_select", "selected_options": []},
        [],
    ),
    "number-integer": Case(
        answer("number", min=1, max=10, integer=True, defaultValue=3, placeholder="How many"),
        {
            "type": "number_input",
            "is_decimal_allowed": False,
            "min_value": "1",
            "max_value": "10",
            "initial_value": "3",
            "placeholder": text("How many"),
        },
        {"type": "number_input", "value": "7"},
        7,
        {"type": "number_input", "value": None},
        None,
    ),
    "number-decimal": Case(
        answer("number", min=0.5, max=2.5, defaultValue=1.5),
        {
            "type": "number_input",
            "is_decimal_allowed": True,
            "min_value": "0.5",
            "max_value": "2.5",
            "initial_value": "1.5",
        },
        {"type": "number_input", "value": "1.25"},
        1.25,
        {"type": "number_input", "value": None},
        None,
    ),
    "checkbox": Case(
        answer("checkbox", description="Restarting drops open connections", defaultValue=True),
        {
            "type": "checkboxes",
            "options": [opt("true", "Restarting drops open connections")],
            "initial_options": [opt("true", "Restarting drops open connections")],
        },
        {"type": "checkboxes", "selected_options": [opt("true", "Restarting drops ...")]},
        True,
        {"type": "checkboxes", "selected_options": []},
        False,
    ),
    "checkboxes": Case(
        answer("checkboxes", values=["x", "y", "z"], defaultValue=["y"]),
        {
            "type": "checkboxes",
            "options": [opt("x"), opt("y"), opt("z")],
            "initial_options": [opt("y")],
        },
        {"type": "checkboxes", "selected_options": [opt("x"), opt("z")]},
        ["x", "z"],
        {"type": "checkboxes", "selected_options": []},
        [],
    ),
    "radio": Case(
        answer("radio", values=["slow", "fast"], defaultValue="slow"),
        {
            "type": "radio_buttons",
            "options": [opt("slow"), opt("fast")],
            "initial_option": opt("slow"),
        },
        {"type": "radio_buttons", "selected_option": opt("fast")},
        "fast",
        {"type": "radio_buttons", "selected_option": None},
        None,
    ),
    "date": Case(
        answer("date", defaultValue="2024-02-29", placeholder="Day"),
        {"type": "datepicker", "initial_date": "2024-02-29", "placeholder": text("Day")},
        {"type": "datepicker", "selected_date": "2024-03-01"},
        "2024-03-01",
        {"type": "datepicker", "selected_date": None},
        None,
    ),
    "time": Case(
        answer("time", defaultValue="09:30", placeholder="When"),
        {"type": "timepicker", "initial_time": "09:30", "placeholder": text("When")},
        {"type": "timepicker", "selected_time": "17:45"},
        "17:45",
        {"type": "timepicker", "selected_time": None},
        None,
    ),
    "datetime": Case(
        answer("datetime", defaultValue="2024-03-01T12:00:00Z"),
        {"type": "datetimepicker", "initial_date_time": 1709294400},
        {"type": "datetimepicker", "selected_date_time": 1709294400 + 90 * 60},
        "2024-03-01T13:30:00Z",
        {"type": "datetimepicker", "selected_date_time": None},
        None,
    ),
    "user": Case(
        answer("user", defaultValue="U0OWNER", placeholder="Who"),
        {"type": "users_select", "initial_user": "U0OWNER", "placeholder": text("Who")},
        {"type": "users_select", "selected_user": "U0DEV"},
        "U0DEV",
        {"type": "users_select", "selected_user": None},
        None,
    ),
    "users": Case(
        answer("users", defaultValue=["U0OWNER", "U0DEV"], placeholder="Who else"),
        {
            "type": "multi_users_select",
            "max_selected_items": 20,
            "initial_users": ["U0OWNER", "U0DEV"],
            "placeholder": text("Who else"),
        },
        {"type": "multi_users_select", "selected_users": ["U0ADMIN", "W0GRID"]},
        ["U0ADMIN", "W0GRID"],
        {"type": "multi_users_select", "selected_users": []},
        [],
    ),
    "channel": Case(
        answer("channel", defaultValue="C0PAY", placeholder="Where"),
        {
            "type": "conversations_select",
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            "initial_conversation": "C0PAY",
            "placeholder": text("Where"),
        },
        {"type": "conversations_select", "selected_conversation": "G0PRIVATE"},
        "G0PRIVATE",
        {"type": "conversations_select", "selected_conversation": None},
        None,
    ),
    "email": Case(
        answer("email", defaultValue="ops@example.com", placeholder="Address"),
        {
            "type": "email_text_input",
            "initial_value": "ops@example.com",
            "placeholder": text("Address"),
        },
        {"type": "email_text_input", "value": " dev@example.com "},
        "dev@example.com",
        {"type": "email_text_input", "value": None},
        None,
    ),
    "url": Case(
        answer("url", defaultValue="https://status.example.com", placeholder="Link"),
        {
            "type": "url_text_input",
            "initial_value": "https://status.example.com",
            "placeholder": text("Link"),
        },
        {"type": "url_text_input", "value": "https://ci.example.com/runs/42?tab=log"},
        "https://ci.example.com/runs/42?tab=log",
        {"type": "url_text_input", "value": None},
        None,
    ),
    "secret": Case(
        # A secret is never shown back, not even its default.
        answer("secret", defaultValue="hunter2", maxLength=64, placeholder="Token"),
        {"type": "plain_text_input", "max_length": 64, "placeholder": text("Token")},
        {"type": "plain_text_input", "value": " s3cr3t-t0ken "},
        "s3cr3t-t0ken",
        {"type": "plain_text_input", "value": None},
        None,
    ),
    "duration": Case(
        # Free text (no values): the receiver gets what was typed, once it parses.
        answer("duration", defaultValue="2h"),
        {
            "type": "plain_text_input",
            "max_length": 20,
            "placeholder": text("e.g. 30m, 2h or 1h30m"),
            "initial_value": "2h",
        },
        {"type": "plain_text_input", "value": " 1h30m "},
        "1h30m",
        {"type": "plain_text_input", "value": None},
        None,
    ),
}


def test_every_input_type_is_covered() -> None:
    assert {c.input["type"] for c in CASES.values()} == set(get_args(InputType))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_element_shows_the_input(case: Case) -> None:
    catalog, action = build(case.input)

    view = draw(catalog, action)

    block = input_blocks(view)["input:answer"]
    assert block["element"] == {**case.element, "action_id": "answer"}
    assert block["label"] == text("Answer")
    assert block["optional"] is True
    assert "dispatch_action" not in block


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_submitted_value_reaches_the_receiver_typed(case: Case) -> None:
    catalog, action = build(case.input)

    clean, errors = submit(catalog, action, state(answer=case.sent))

    assert errors == {}
    assert clean == {"answer": case.value}
    assert type(clean["answer"]) is type(case.value)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_blank_optional_input(case: Case) -> None:
    catalog, action = build(case.input)

    clean, errors = submit(catalog, action, state(answer=case.empty))

    assert errors == {}
    assert clean == {"answer": case.blank}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_blank_required_input_is_an_error_under_it(case: Case) -> None:
    catalog, action = build({**case.input, "required": True})
    view = draw(catalog, action)
    assert input_blocks(view)["input:answer"]["optional"] is False

    clean, errors = submit(catalog, action, state(answer=case.empty))

    wanted = (
        "Tick “Answer” to continue." if case.input["type"] == "checkbox" else "Answer is required."
    )
    assert errors == {"answer": wanted}
    # The bot answers Slack with errors keyed by the block the user sees them under.
    assert forms.error_block("answer") in input_blocks(view)
    assert clean == {"answer": case.blank}


def test_unticked_checkbox_is_false() -> None:
    catalog, action = build(answer("checkbox"))
    view = draw(catalog, action)
    assert "initial_options" not in element_of(view)
    clean, errors = submit(
        catalog, action, state(answer={"type": "checkboxes", "selected_options": []})
    )
    assert (clean, errors) == ({"answer": False}, {})


def test_description_is_a_hint_except_on_a_checkbox_where_it_is_the_label() -> None:
    catalog, action = build(
        answer("text_input", description="Shown under the field"),
        {
            "identifier": "ok",
            "displayName": "Confirm",
            "type": "checkbox",
            "description": "I have told the on-call",
        },
    )
    found = input_blocks(draw(catalog, action))
    assert found["input:answer"]["hint"] == text("Shown under the field")
    assert "hint" not in found["input:ok"]
    assert found["input:ok"]["element"]["options"] == [opt("true", "I have told the on-call")]


def test_secrets_are_never_drawn_or_echoed() -> None:
    catalog, action = build(
        answer("secret"), {"identifier": "note", "displayName": "Note", "type": "text_input"}
    )
    fields = inputs.resolve(catalog, action, values={}, user=USER)
    fields[0].initial = "s3cr3t"  # e.g. a re-run of a run that had it
    assert "initial_value" not in forms.element(fields[0])
    clean, _ = submit(
        catalog, action, state(answer={"type": "plain_text_input", "value": "s3cr3t"})
    )
    assert forms.echo(action, clean)["answer"] == forms.MASK
    assert "s3cr3t" not in blocks.shown_value(action.inputs[0], "s3cr3t")


def test_an_untouched_form_submits_its_defaults() -> None:
    """Slack sends an element's initial value when the user leaves it alone."""
    catalog, action = build(
        answer("dropdown", values=["eu", "us"], defaultValue="us"),
        {"identifier": "when", "displayName": "When", "type": "date", "defaultValue": "2024-02-29"},
        {
            "identifier": "count",
            "displayName": "Count",
            "type": "number",
            "integer": True,
            "defaultValue": 3,
        },
    )
    view = draw(catalog, action)
    untouched = state(
        answer={"type": "static_select", "selected_option": element_of(view)["initial_option"]},
        when={"type": "datepicker", "selected_date": element_of(view, "when")["initial_date"]},
        count={"type": "number_input", "value": element_of(view, "count")["initial_value"]},
    )
    assert submit(catalog, action, untouched) == (
        {"answer": "us", "when": "2024-02-29", "count": 3},
        {},
    )


@pytest.mark.parametrize(
    "kind", ["text_input", "number", "date", "time", "user", "users", "channel", "email", "url"]
)
def test_placeholder_is_shown(kind: str) -> None:
    catalog, action = build(answer(kind, placeholder="Type here"))
    assert element_of(draw(catalog, action))["placeholder"] == text("Type here")


def test_placeholder_on_a_datetime_input_keeps_the_form_valid() -> None:
    catalog, action = build(answer("datetime", placeholder="When"))
    draw(catalog, action)


# --- errors, rule by rule --------------------------------------------------------------

PLAIN = {"type": "plain_text_input"}
NUMBER = {"type": "number_input"}
REGIONS = [{"value": "eu", "display": "Europe"}, {"value": "us", "display": "USA"}]


@pytest.mark.parametrize(
    ("item", "sent", "error"),
    [
        (answer("text_input", minLength=3), {**PLAIN, "value": " ab "}, "At least 3 characters."),
        (
            answer("text_input", maxLength=5),
            {**PLAIN, "value": "abcdef"},
            "At most 5 characters (this is 6).",
        ),
        (
            answer("text_area", maxLength=5),
            {**PLAIN, "value": "  abcd"},
            "At most 5 characters (this is 6).",
        ),
        (
            answer("text_input", pattern=r"^INC-\d+$"),
            {**PLAIN, "value": "INC-12a"},
            r"Must match the pattern ^INC-\d+$.",
        ),
        (
            answer("secret", pattern=r"^ghp_"),
            {**PLAIN, "value": "token"},
            "Must match the pattern ^ghp_.",
        ),
        (answer("number", min=1, max=10), {**NUMBER, "value": "0"}, "At least 1."),
        (answer("number", min=1, max=10), {**NUMBER, "value": "10.5"}, "At most 10."),
        (answer("number", min=-2.5), {**NUMBER, "value": "-3"}, "At least -2.5."),
        (answer("number", integer=True), {**NUMBER, "value": "2.5"}, "Enter a whole number."),
        (answer("number"), {**NUMBER, "value": "12abc"}, "Enter a number."),
        (
            answer("dropdown", values=REGIONS),
            {"type": "static_select", "selected_option": opt("apac")},
            "Choose one of the listed options.",
        ),
        (
            # The label is not the value: a crafted submission with it is refused.
            answer("dropdown", values=REGIONS),
            {"type": "static_select", "selected_option": opt("Europe")},
            "Choose one of the listed options.",
        ),
        (
            answer("radio", values=["slow", "fast"]),
            {"type": "radio_buttons", "selected_option": opt("faster")},
            "Choose one of the listed options.",
        ),
        (
            answer("multi_select", values=["a", "b"]),
            {"type": "multi_static_select", "selected_options": [opt("a"), opt("zzz")]},
            "Choose only from the listed options.",
        ),
        (
            answer("checkboxes", values=["a", "b"]),
            {"type": "checkboxes", "selected_options": [opt("b"), opt("c")]},
            "Choose only from the listed options.",
        ),
        (
            answer("dropdown", binding={"resource": "services"}),
            {"type": "external_select", "selected_option": opt("no-such-service")},
            "Choose one of the listed options.",
        ),
        (
            answer("multi_select", binding={"resource": "teams"}),
            {"type": "multi_external_select", "selected_options": [opt("payments"), opt("hr")]},
            "Choose only from the listed options.",
        ),
        (
            answer("email"),
            {"type": "email_text_input", "value": "not-an-email"},
            "Enter an email address, like name@example.com.",
        ),
        (
            answer("email"),
            {"type": "email_text_input", "value": "dev@localhost"},
            "Enter an email address, like name@example.com.",
        ),
        (
            answer("url"),
            {"type": "url_text_input", "value": "ftp://files.example.com/x"},
            "Enter a web address starting with https://.",
        ),
        (
            answer("url"),
            {"type": "url_text_input", "value": "javascript:alert(1)"},
            "Enter a web address starting with https://.",
        ),
        (
            answer("date"),
            {"type": "datepicker", "selected_date": "2023-02-29"},
            "Enter a date.",
        ),
        (answer("time"), {"type": "timepicker", "selected_time": "25:00"}, "Enter a time."),
        (
            answer("datetime"),
            {"type": "datetimepicker", "selected_date_time": "tomorrow"},
            "Pick a date and time.",
        ),
        (
            answer("user"),
            {"type": "users_select", "selected_user": "<!channel>"},
            "Choose a person from the list.",
        ),
        (
            answer("users"),
            {"type": "multi_users_select", "selected_users": ["U0DEV", "@here"]},
            "Choose people from the list.",
        ),
        (
            answer("channel"),
            {"type": "conversations_select", "selected_conversation": "#general"},
            "Choose a channel from the list.",
        ),
    ],
    ids=[
        "min-length",
        "max-length",
        "max-length-text-area",
        "pattern",
        "pattern-secret",
        "min",
        "max",
        "negative-decimal-min",
        "integer",
        "not-a-number",
        "dropdown-crafted",
        "dropdown-label-not-value",
        "radio-crafted",
        "multi-select-crafted",
        "checkboxes-crafted",
        "service-binding-crafted",
        "team-binding-crafted",
        "email",
        "email-without-domain-dot",
        "url-scheme",
        "url-javascript",
        "date",
        "time",
        "datetime",
        "user",
        "users",
        "channel",
    ],
)
def test_invalid_value_is_an_error_and_never_reaches_the_receiver(
    item: dict[str, Any], sent: dict[str, Any], error: str
) -> None:
    catalog, action = build(item)
    draw(catalog, action)

    clean, errors = submit(catalog, action, state(answer=sent))

    assert errors == {"answer": error}
    assert clean == {"answer": None}


def test_all_errors_are_reported_at_once() -> None:
    catalog, action = build(
        answer("text_input", required=True),
        {"identifier": "n", "displayName": "N", "type": "number", "max": 3},
        {"identifier": "mail", "displayName": "Mail", "type": "email"},
    )
    sent = state(
        answer={**PLAIN, "value": None},
        n={**NUMBER, "value": "4"},
        mail={"type": "email_text_input", "value": "x"},
    )
    _, errors = submit(catalog, action, sent)
    assert set(errors) == {"answer", "n", "mail"}


def test_a_malformed_state_reads_as_missing() -> None:
    catalog, action = build(answer("text_input", required=True))
    for crafted in (
        None,
        "x",
        {"values": "x"},
        {"values": {"input:answer": "x"}},
        {"values": {"input:answer": {"answer": 5}}},
    ):
        clean, errors = submit(catalog, action, crafted)  # type: ignore[arg-type]
        assert errors == {"answer": "Answer is required."}, crafted
        assert clean == {"answer": None}


@pytest.mark.parametrize("crafted", ["nan", "inf", "Infinity"])
def test_a_non_finite_number_is_refused(crafted: str) -> None:
    catalog, action = build(answer("number", min=0))
    clean, errors = submit(catalog, action, state(answer={**NUMBER, "value": crafted}))
    assert errors == {"answer": "Enter a number."}
    assert clean == {"answer": None}


def test_large_numbers_are_shown_exactly() -> None:
    catalog, action = build(answer("number", integer=True, max=5_000_000, defaultValue=1_234_567))
    element = element_of(draw(catalog, action))
    assert element["initial_value"] == "1234567"
    assert element["max_value"] == "5000000"
    _, errors = submit(catalog, action, state(answer={**NUMBER, "value": "5000001"}))
    assert errors == {"answer": "At most 5000000."}


# --- long lists and bindings: type-ahead ------------------------------------------------


def test_more_than_100_options_become_a_type_ahead_and_are_still_checked() -> None:
    many = [{"value": f"opt-{i:03}", "display": f"Option {i}"} for i in range(150)]
    catalog, action = build(
        answer("dropdown", values=many, defaultValue="opt-120"),
        {"identifier": "several", "displayName": "Several", "type": "multi_select", "values": many},
    )
    view = draw(catalog, action)

    one, several = element_of(view), element_of(view, "several")
    assert one["type"] == "external_select"
    assert one["min_query_length"] == 0
    assert one["initial_option"]["value"] == "opt-120"
    assert "options" not in one
    assert several["type"] == "multi_external_select"
    # What the user finds by typing (the options request answers from the same list).
    field = inputs.resolve(catalog, action, user=USER)[0]
    assert field.source == "search"
    assert [o.value for o in options.matching(field.options or [], "option 149")] == ["opt-149"]

    picked = {"type": "external_select", "selected_option": opt("opt-149", "Option 149")}
    assert submit(catalog, action, state(answer=picked))[0]["answer"] == "opt-149"
    crafted = {"type": "external_select", "selected_option": opt("opt-999")}
    assert submit(catalog, action, state(answer=crafted))[1] == {
        "answer": "Choose one of the listed options."
    }


def test_a_type_aheads_initial_choice_shows_its_label() -> None:
    many = [{"value": f"opt-{i:03}", "display": f"Option {i}"} for i in range(150)]
    catalog, action = build(
        answer("dropdown", values=many, defaultValue="opt-120"),
        {
            "identifier": "svc",
            "displayName": "Service",
            "type": "dropdown",
            "binding": {"resource": "services"},
        },
    )
    fields = inputs.resolve(catalog, action, user=USER)
    fields[1].initial = "payments-ledger"  # a re-run, or a redraw after choosing it
    assert forms.element(fields[0])["initial_option"] == opt("opt-120", "Option 120")
    assert forms.element(fields[1])["initial_option"] == opt("payments-ledger", "Payments Ledger")


@pytest.mark.parametrize(
    ("item", "element_type"),
    [
        (answer("dropdown", binding={"resource": "services"}), "external_select"),
        (answer("multi_select", binding={"resource": "services"}), "multi_external_select"),
        (answer("dropdown", binding={"resource": "teams"}), "external_select"),
        (answer("dropdown", binding={"resource": "users"}), "users_select"),
        (answer("multi_select", binding={"resource": "users"}), "multi_users_select"),
        (
            answer("dropdown", values_from={"url": "https://options.example.com/regions"}),
            "external_select",
        ),
    ],
    ids=["services", "services-multi", "teams", "users", "users-multi", "values_from"],
)
def test_bindings_are_type_aheads(item: dict[str, Any], element_type: str) -> None:
    catalog, action = build(item)
    element = element_of(draw(catalog, action))
    assert element["type"] == element_type
    assert "options" not in element


def test_service_binding_offers_every_service_by_name() -> None:
    catalog, action = build(answer("dropdown", binding={"resource": "services"}))
    field = inputs.resolve(catalog, action, user=USER)[0]
    found = options.matching(field.options or [], "ledger")
    assert [(o.value, o.label) for o in found] == [("payments-ledger", "Payments Ledger")]
    picked = {"type": "external_select", "selected_option": opt("payments-ledger")}
    assert submit(catalog, action, state(answer=picked)) == ({"answer": "payments-ledger"}, {})


def test_user_binding_reads_the_chosen_person() -> None:
    catalog, action = build(answer("dropdown", binding={"resource": "users"}))
    sent = {"type": "users_select", "selected_user": "U0OWNER"}
    assert submit(catalog, action, state(answer=sent)) == ({"answer": "U0OWNER"}, {})


# --- forms that change as they are filled in --------------------------------------------

ENV = {
    "identifier": "env",
    "displayName": "Environment",
    "type": "dropdown",
    "values": ["prod", "staging"],
}
DATABASE = {
    "identifier": "db",
    "displayName": "Database",
    "type": "dropdown",
    "dependsOn": ["env"],
    "values": (
        '{% if inputs.env == "prod" %}'
        '[{"value": "primary", "display": "Primary (prod)"}, "replica"]'
        "{% else %}staging-db{% endif %}"
    ),
}


def env_state(env: str | None, **more: dict[str, Any]) -> dict[str, Any]:
    picked = opt(env) if env else None
    return state(env={"type": "static_select", "selected_option": picked}, **more)


def test_a_parent_input_redraws_the_form_when_it_changes() -> None:
    catalog, action = build(
        ENV,
        DATABASE,
        {"identifier": "ticket", "displayName": "Ticket", "type": "text_input"},
        {
            "identifier": "why",
            "displayName": "Why",
            "type": "text_input",
            "dependsOn": ["ticket"],
            "defaultValue": "See {{ inputs.ticket }}",
        },
    )
    found = input_blocks(draw(catalog, action))

    assert found["input:env"]["dispatch_action"] is True
    assert found["input:ticket"]["dispatch_action"] is True
    # A text parent redraws as the user types, not only on Enter.
    assert found["input:ticket"]["element"]["dispatch_action_config"] == {
        "trigger_actions_on": ["on_enter_pressed", "on_character_entered"]
    }
    assert "dispatch_action" not in found["input:db"]
    assert "dispatch_action" not in found["input:why"]


def test_liquid_options_follow_the_parent_value() -> None:
    catalog, action = build(ENV, DATABASE)

    def offered(env: str | None) -> list[dict[str, Any]]:
        raw = forms.read_inputs(action, env_state(env))
        return element_of(draw(catalog, action, values=raw), "db")["options"]

    assert offered("prod") == [opt("primary", "Primary (prod)"), opt("replica")]
    assert offered("staging") == [opt("staging-db")]
    assert offered(None) == [opt("staging-db")]

    db = {"type": "static_select", "selected_option": opt("replica")}
    assert submit(catalog, action, env_state("prod", db=db)) == (
        {"env": "prod", "db": "replica"},
        {},
    )
    # The options in force are those of the parent value submitted, not of an older draw.
    assert submit(catalog, action, env_state("staging", db=db)) == (
        {"env": "staging", "db": None},
        {"db": "Choose one of the listed options."},
    )


def test_a_dependent_list_that_is_empty_until_its_parent_is_chosen_still_opens() -> None:
    child = {**DATABASE, "values": '{% if inputs.env == "prod" %}primary, replica{% endif %}'}
    catalog, action = build(ENV, child)
    draw(catalog, action)


def test_liquid_radio_options_beyond_ten_still_open() -> None:
    catalog, action = build(
        answer(
            "radio",
            values="{% for i in (1..12) %}{{ i }}\n{% endfor %}",
        )
    )
    draw(catalog, action)


def test_liquid_visible_hides_an_input_and_its_rules() -> None:
    reason = {
        "identifier": "reason",
        "displayName": "Reason",
        "type": "text_input",
        "required": True,
        "minLength": 10,
        "dependsOn": ["env"],
        "visible": '{% if inputs.env == "prod" %}true{% endif %}',
    }
    catalog, action = build(ENV, reason)

    staging = draw(catalog, action, values=forms.read_inputs(action, env_state("staging")))
    assert "input:reason" not in input_blocks(staging)
    assert "Reason" not in texts(staging["blocks"])
    # Hidden: not required, and a crafted value for it never reaches the receiver.
    sneaked = {"reason": {**PLAIN, "value": "x"}}
    assert submit(catalog, action, env_state("staging", **sneaked)) == (
        {"env": "staging", "reason": None},
        {},
    )

    prod = draw(catalog, action, values=forms.read_inputs(action, env_state("prod")))
    assert input_blocks(prod)["input:reason"]["optional"] is False
    assert submit(catalog, action, env_state("prod"))[1] == {"reason": "Reason is required."}
    assert submit(catalog, action, env_state("prod", **sneaked))[1] == {
        "reason": "At least 10 characters."
    }
    wordy = {"reason": {**PLAIN, "value": "Customer outage INC-42"}}
    assert submit(catalog, action, env_state("prod", **wordy)) == (
        {"env": "prod", "reason": "Customer outage INC-42"},
        {},
    )


def test_channel_default_is_the_chosen_services_channel() -> None:
    room = answer("channel", defaultValue="{{ service.channel }}")
    catalog, action = build(room, scope="service")

    blank = draw(catalog, action)
    assert "initial_conversation" not in element_of(blank)
    # The form depends on the service: choosing one redraws it.
    (select,) = [b for b in blank["blocks"] if b.get("block_id") == blocks.SERVICE_BLOCK]
    assert select["dispatch_action"] is True

    checkout = catalog.services["checkout-api"]
    ledger = catalog.services["payments-ledger"]
    assert (
        element_of(draw(catalog, action, service=checkout))["initial_conversation"] == "C0CHECKOUT"
    )
    assert element_of(draw(catalog, action, service=ledger))["initial_conversation"] == "C0LEDGER"
    no_channel = draw(catalog, action, service=catalog.services["search"])
    assert "initial_conversation" not in element_of(no_channel)

    sent = state(answer={"type": "conversations_select", "selected_conversation": "C0LEDGER"})
    assert submit(catalog, action, sent, service=ledger) == ({"answer": "C0LEDGER"}, {})


def test_liquid_defaults_over_the_user_and_the_service() -> None:
    catalog, action = build(
        answer("email", defaultValue="{{ user.email }}"),
        {
            "identifier": "owners",
            "displayName": "Owners",
            "type": "text_input",
            "defaultValue": "{{ service.name }} by {{ service.owner.name }}",
        },
        scope="service",
    )
    view = draw(catalog, action, service=catalog.services["checkout-api"])
    assert element_of(view)["initial_value"] == "dev@example.com"
    assert element_of(view, "owners")["initial_value"] == "Checkout API by Payments"
