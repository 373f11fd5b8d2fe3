"""Loading and validating the actions config: what an admin sees from `python -m bot check`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_file, validate
from tests import samples
from tests.support import errors_of, first_action, with_change

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "actions.yml"


# --- the issue's example --------------------------------------------------------------


def test_issue_example_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "actions.yml"
    path.write_text(samples.ISSUE_YAML, encoding="utf-8")

    loaded = load_file(path, {"TRACKER_TOKEN": "t0k3n"})

    catalog = loaded.catalog
    assert loaded.warnings == []
    assert catalog.source == str(path)
    assert list(catalog.actions) == ["create-ticket"]
    assert list(catalog.teams) == ["payments"]
    assert list(catalog.services) == ["checkout-api"]
    assert catalog.admins.users == ["U0ADMIN"]
    assert catalog.admins.usergroups == ["S0ADMINS"]
    action = catalog.action("create-ticket")
    assert action is not None
    assert catalog.owner_of(action).channel == "C0PAY"
    assert action.webhook.method == "POST"
    assert action.webhook.timeout == 10
    assert action.webhook.header("authorization") == "Bearer {{ 'TRACKER_TOKEN' | secret }}"
    assert [i.identifier for i in action.inputs] == ["title", "details", "prio"]
    prio = action.input("prio")
    assert prio is not None
    assert [o.value for o in prio.values] == ["low", "high"]
    assert prio.defaultValue == "low"
    assert catalog.service("checkout-api").tags == {"pd_id": "P123"}  # type: ignore[union-attr]


def test_question_mark_and_brace_inside_a_flow_mapping_parse(tmp_path: Path) -> None:
    # `placeholder: What happened?}` ends a flow mapping; YAML 1.1 loaders choke on it.
    path = tmp_path / "actions.yml"
    path.write_text(samples.ISSUE_YAML, encoding="utf-8")

    action = load_file(path).catalog.action("create-ticket")

    details = action.input("details")  # type: ignore[union-attr]
    assert details is not None
    assert details.placeholder == "What happened?"
    assert details.type == "text_area"


def test_unset_secret_is_a_warning_naming_the_env_var(tmp_path: Path) -> None:
    path = tmp_path / "actions.yml"
    path.write_text(samples.ISSUE_YAML, encoding="utf-8")

    loaded = load_file(path, {})

    assert len(loaded.warnings) == 1
    assert "'TRACKER_TOKEN'" in loaded.warnings[0]
    assert "ACTIONS_SECRET_TRACKER_TOKEN" in loaded.warnings[0]


def test_no_secret_warnings_without_a_secrets_mapping() -> None:
    assert validate(samples.issue_document()).warnings == []


def test_secret_names_are_normalised_when_checking_warnings() -> None:
    doc = samples.document(
        [
            samples.action(
                webhook={
                    "url": "https://hooks.example.com/run",
                    "headers": {"Authorization": "{{ '' | secret: 'pager-duty' }}"},
                }
            )
        ]
    )
    assert validate(doc, secrets={"PAGER_DUTY": "x"}).warnings == []
    (warning,) = validate(doc, secrets={}).warnings
    assert "ACTIONS_SECRET_PAGER_DUTY" in warning


def test_examples_file_loads_without_errors() -> None:
    loaded = load_file(EXAMPLES, {})

    catalog = loaded.catalog
    assert len(catalog.actions) >= 10
    assert {a.scope for a in catalog.actions.values()} == {"global", "service"}
    for action in catalog.actions.values():
        assert catalog.owner_of(action).id == action.owner
    # Every secret the examples use is reported, by its env var, when none is set.
    assert loaded.warnings
    assert all("is not set: define ACTIONS_SECRET_" in w for w in loaded.warnings)
    assert any("ACTIONS_SECRET_DEPLOY_API_TOKEN" in w for w in loaded.warnings)
    assert any("ACTIONS_SECRET_GITHUB_TOKEN" in w for w in loaded.warnings)


def test_examples_file_has_no_warnings_when_its_secrets_are_set() -> None:
    names = [
        w.split("define ACTIONS_SECRET_")[1].split()[0] for w in load_file(EXAMPLES, {}).warnings
    ]

    assert load_file(EXAMPLES, dict.fromkeys(names, "value")).warnings == []


# --- files ----------------------------------------------------------------------------


def test_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    assert caught.value.errors == [f"{path}: file not found (set ACTIONS_CONFIG)"]


@pytest.mark.parametrize("text", ["", "# nothing configured yet\n", "---\n"])
def test_empty_file_is_an_empty_catalog(tmp_path: Path, text: str) -> None:
    path = tmp_path / "actions.yml"
    path.write_text(text, encoding="utf-8")

    loaded = load_file(path, {})

    assert loaded.catalog.actions == {}
    assert loaded.catalog.teams == {}
    assert loaded.catalog.services == {}
    assert loaded.warnings == []


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("teams:\n  - {id: a, name: A\nactions: []\n", ":3:8:", "expected ',' or '}'"),
        ("teams: []\nteams: []\n", ":2:1:", "duplicate key"),
        ("teams:\n\t- x\n", ":2:1:", "'\\t'"),
    ],
    ids=["unclosed-flow-mapping", "duplicate-key", "tab"],
)
def test_invalid_yaml_names_file_line_and_column(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "actions.yml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_file(path)

    (error,) = caught.value.errors
    assert error.startswith(f"{path}{where} invalid YAML: ")
    assert problem in error


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "actions.yml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    assert caught.value.errors == [
        f"{path}: expected a mapping with admins, teams, services, actions"
    ]


# --- schema errors, each with its path --------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(extra=1), "extra: unknown key"),
        (lambda d: d["admins"].update(owners=["U1"]), "admins.owners: unknown key"),
        (lambda d: first_action(d).update(retries=3), "actions[0].retries: unknown key"),
        (
            lambda d: first_action(d)["webhook"].update(retries=3),
            "actions[0].webhook.retries: unknown key",
        ),
        (
            lambda d: first_action(d)["inputs"][1].update(multiline=True),
            "actions[0].inputs[1].multiline: unknown key",
        ),
        (lambda d: d["teams"][0].update(slack="C1"), "teams[0].slack: unknown key"),
        (lambda d: d["services"][0].update(tier_name="x"), "services[0].tier_name: unknown key"),
        (lambda d: first_action(d).pop("webhook"), "actions[0].webhook: missing"),
        (lambda d: first_action(d).pop("name"), "actions[0].name: missing"),
        (lambda d: first_action(d).pop("owner"), "actions[0].owner: missing"),
        (lambda d: first_action(d)["webhook"].pop("url"), "actions[0].webhook.url: missing"),
        (lambda d: d["teams"][0].pop("name"), "teams[0].name: missing"),
        (
            lambda d: first_action(d)["inputs"][0].pop("identifier"),
            "actions[0].inputs[0].identifier: missing",
        ),
        (
            lambda d: first_action(d).update(scope="team"),
            "actions[0].scope: expected 'global' or 'service'",
        ),
        (
            lambda d: first_action(d)["inputs"][0].update(type="textarea"),
            "actions[0].inputs[0].type: expected 'text_input', 'text_area', 'dropdown', ",
        ),
        (
            lambda d: d["teams"][0].update(channel="c0pay"),
            "teams[0].channel: invalid value 'c0pay'",
        ),
        (
            lambda d: first_action(d).update(id="Create Ticket"),
            "actions[0].id: invalid value 'Create Ticket'",
        ),
    ],
    ids=[
        "unknown-top-level-key",
        "unknown-admins-key",
        "unknown-action-key",
        "unknown-webhook-key",
        "unknown-input-key",
        "unknown-team-key",
        "unknown-service-key",
        "missing-webhook",
        "missing-name",
        "missing-owner",
        "missing-url",
        "missing-team-name",
        "missing-identifier",
        "bad-scope",
        "bad-input-type",
        "bad-channel-id",
        "bad-action-id",
    ],
)
def test_schema_error_is_reported_with_its_path(
    change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    errors = with_change(change)

    assert len(errors) == 1, errors
    assert errors[0].startswith(expected), errors


def test_unknown_key_error_is_exactly_path_and_reason() -> None:
    assert with_change(lambda d: first_action(d)["webhook"].update(retries=3)) == [
        "actions[0].webhook.retries: unknown key"
    ]
    assert with_change(lambda d: first_action(d).pop("webhook")) == [
        "actions[0].webhook: missing (or a backend: with a CI workflow or pipeline)"
    ]


def test_invalid_header_name_is_reported() -> None:
    errors = with_change(lambda d: first_action(d)["webhook"]["headers"].update({"X Bad": "1"}))
    assert len(errors) == 1
    assert errors[0].startswith("actions[0].webhook.headers: ")
    assert "'X Bad' is not a valid HTTP header name" in errors[0]


# --- cross references -----------------------------------------------------------------


def test_duplicate_action_id() -> None:
    errors = with_change(lambda d: d["actions"].append(first_action(d) | {"name": "Again"}))
    assert errors == ["actions[1].id: duplicate id 'create-ticket'"]


def test_duplicate_team_id() -> None:
    errors = with_change(lambda d: d["teams"].append(dict(d["teams"][0])))
    assert errors == ["teams[1].id: duplicate id 'payments'"]


def test_duplicate_service_id() -> None:
    errors = with_change(lambda d: d["services"].append(dict(d["services"][0])))
    assert errors == ["services[1].id: duplicate id 'checkout-api'"]


def test_duplicate_input_identifier() -> None:
    errors = with_change(lambda d: first_action(d)["inputs"].append(first_action(d)["inputs"][0]))
    assert errors == ["actions[0].inputs[3].identifier: duplicate 'title'"]


def test_unknown_owner_team() -> None:
    assert with_change(lambda d: first_action(d).update(owner="nope")) == [
        "actions[0].owner: unknown team 'nope'"
    ]
    assert with_change(lambda d: d["services"][0].update(owner="nope")) == [
        "services[0].owner: unknown team 'nope'"
    ]


def test_service_scope_needs_services() -> None:
    def change(d: dict[str, Any]) -> None:
        d["services"] = []
        first_action(d)["scope"] = "service"

    assert with_change(change) == ["actions[0].scope: service, but no services are defined"]


# --- inputs ---------------------------------------------------------------------------


def test_bad_regular_expression_in_pattern() -> None:
    (error,) = with_change(lambda d: first_action(d)["inputs"][0].update(pattern="(["))
    assert error.startswith("actions[0].inputs[0].pattern: invalid regular expression: ")


def test_dropdown_default_must_be_among_values() -> None:
    errors = with_change(lambda d: first_action(d)["inputs"][2].update(defaultValue="urgent"))
    assert errors == ["actions[0].inputs[2].defaultValue: 'urgent' is not among values"]


def test_dropdown_needs_values() -> None:
    def change(d: dict[str, Any]) -> None:
        del first_action(d)["inputs"][2]["values"]
        del first_action(d)["inputs"][2]["defaultValue"]

    assert with_change(change) == [
        "actions[0].inputs[2].values: a dropdown needs values, binding or values_from"
    ]


def test_dropdown_with_duplicate_values() -> None:
    errors = with_change(lambda d: first_action(d)["inputs"][2].update(values=["low", "low"]))
    assert errors == ["actions[0].inputs[2].values: duplicate values"]


def test_values_on_a_text_input() -> None:
    errors = with_change(lambda d: first_action(d)["inputs"][0].update(values=["a"]))
    assert errors == [
        "actions[0].inputs[0].values: only dropdown, multi_select, checkboxes and radio inputs "
        "take options"
    ]


def add_input(**item: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        first_action(d)["inputs"].append({"identifier": "extra", "displayName": "Extra", **item})

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            add_input(type="multi_select"),
            "actions[0].inputs[3].values: a multi_select needs values, binding or values_from",
        ),
        (
            add_input(type="radio", values=[str(i) for i in range(11)]),
            "actions[0].inputs[3].values: Slack shows at most 10 radio options",
        ),
        (
            add_input(type="checkboxes", values=[str(i) for i in range(11)]),
            "actions[0].inputs[3].values: Slack shows at most 10 checkboxes options",
        ),
        (
            add_input(type="radio", binding={"resource": "services"}),
            "actions[0].inputs[3]: radio takes a list of values (at most 10)",
        ),
        (
            add_input(type="dropdown", values=["a"], binding={"resource": "teams"}),
            "actions[0].inputs[3]: use one of values, binding and values_from",
        ),
        (
            add_input(type="date", values=["2024-01-01"]),
            "actions[0].inputs[3].values: only dropdown, multi_select, checkboxes and radio "
            "inputs take options",
        ),
        (
            lambda d: first_action(d)["inputs"][0].update(min=1),
            "actions[0].inputs[0]: min, max and integer are for number inputs",
        ),
        (
            lambda d: first_action(d)["inputs"][0].update(integer=True),
            "actions[0].inputs[0]: min, max and integer are for number inputs",
        ),
        (add_input(type="number", min=5, max=1), "actions[0].inputs[3].min: greater than max"),
        (
            lambda d: first_action(d)["inputs"][1].update(dependsOn=["prio", "severity"]),
            "actions[0].inputs[1].dependsOn: 'severity' is not another input of this action",
        ),
        (
            lambda d: first_action(d)["inputs"][1].update(dependsOn=["details"]),
            "actions[0].inputs[1].dependsOn: 'details' is not another input of this action",
        ),
        (
            lambda d: first_action(d)["inputs"][2].update(values="{{ run.id }}", defaultValue=None),
            "actions[0].inputs[2].values: unknown variable run.id (forms see manualInputs, user "
            "and service)",
        ),
        (
            lambda d: first_action(d)["inputs"][2].update(
                values="{{ manualInputs.titel }}", defaultValue=None
            ),
            "actions[0].inputs[2].values: unknown variable manualInputs.titel",
        ),
        (
            lambda d: first_action(d)["inputs"][1].update(visible="{{ action.name }}"),
            "actions[0].inputs[1].visible: unknown variable action.name (forms see manualInputs, "
            "user and service)",
        ),
        (
            lambda d: first_action(d)["inputs"][1].update(defaultValue="{{ user.mail }}"),
            "actions[0].inputs[1].defaultValue: unknown variable user.mail",
        ),
        (
            lambda d: first_action(d)["inputs"][1].update(defaultValue="{{ service.channel }}"),
            "actions[0].inputs[1].defaultValue: unknown variable service.channel (service is "
            "only set for scope: service)",
        ),
        (
            lambda d: first_action(d).update(scope="service", filter={"teir": 1}),
            "actions[0].filter.teir: unknown service field",
        ),
        (
            lambda d: first_action(d).update(filter={"tier": 1}),
            "actions[0].filter: only scope: service actions have a filter",
        ),
        (
            lambda d: first_action(d).update(access={"teams": ["ghosts"]}),
            "actions[0].access.teams: unknown team 'ghosts'",
        ),
        (
            lambda d: first_action(d).update(timeout_after="2x"),
            "actions[0].timeout_after: '2x' is not a duration such as 30s, 15m or 2h",
        ),
    ],
    ids=[
        "choice-without-options",
        "too-many-radio-options",
        "too-many-checkboxes",
        "radio-with-binding",
        "two-option-sources",
        "options-on-a-date",
        "min-on-text",
        "integer-on-text",
        "min-above-max",
        "depends-on-unknown",
        "depends-on-itself",
        "liquid-values-outside-forms",
        "liquid-values-unknown-input",
        "liquid-visible-outside-forms",
        "liquid-default-unknown-user-field",
        "liquid-default-service-in-global",
        "unknown-filter-key",
        "filter-on-global",
        "access-unknown-team",
        "bad-duration",
    ],
)
def test_input_and_action_rules(change: Callable[[dict[str, Any]], Any], expected: str) -> None:
    assert with_change(change) == [expected]


def test_form_liquid_over_inputs_user_and_service_is_accepted() -> None:
    doc = samples.issue_document()
    first_action(doc)["scope"] = "service"
    first_action(doc)["filter"] = {"tier": [1, 2], "tags": {"pd_id": "P123"}}
    first_action(doc)["access"] = {"teams": ["payments"], "usergroups": ["S0OPS"]}
    first_action(doc)["inputs"] += [
        {
            "identifier": "room",
            "displayName": "Room",
            "type": "channel",
            "defaultValue": "{{ service.channel }}",
        },
        {
            "identifier": "db",
            "displayName": "Database",
            "type": "dropdown",
            "dependsOn": ["prio"],
            "values": "{% if inputs.prio == 'high' %}primary{% else %}replica{% endif %}",
            "visible": "{{ user.email }}",
        },
    ]
    action = validate(doc).catalog.action("create-ticket")
    assert action is not None
    assert [i.identifier for i in action.inputs][-2:] == ["room", "db"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: first_action(d).update(access="owners"), "actions[0].access: "),
        (lambda d: first_action(d)["inputs"][2].update(values=7), "actions[0].inputs[2].values: "),
    ],
    ids=["access", "values"],
)
def test_a_wrong_union_value_is_reported_at_its_key(
    change: Callable[[dict[str, Any]], Any], path: str
) -> None:
    errors = with_change(change)
    assert all(e.startswith(path) for e in errors), errors


def test_min_length_above_max_length() -> None:
    errors = with_change(lambda d: first_action(d)["inputs"][0].update(minLength=90))
    assert errors == ["actions[0].inputs[0].minLength: greater than maxLength"]


def test_yaml_scalars_in_dropdowns_become_text(tmp_path: Path) -> None:
    # YAML 1.2: `no` stays a string; numbers and booleans become their text.
    path = tmp_path / "actions.yml"
    path.write_text(
        samples.ISSUE_YAML.replace(
            "values: [low, high], defaultValue: low", "values: [no, 3, true]"
        ),
        encoding="utf-8",
    )
    prio = load_file(path).catalog.action("create-ticket").input("prio")  # type: ignore[union-attr]
    assert [o.value for o in prio.values] == ["no", "3", "true"]  # type: ignore[union-attr]


# --- templates ------------------------------------------------------------------------


def set_payload(text: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        first_action(d)["webhook"]["payload"] = text

    return change


def test_unknown_variable_in_payload() -> None:
    errors = with_change(set_payload('{"t": {{ manualInputs.titel | json }}}'))
    assert errors == ["actions[0].webhook.payload: unknown variable manualInputs.titel"]


def test_unknown_variable_in_url() -> None:
    errors = with_change(
        lambda d: first_action(d)["webhook"].update(url="https://x.example.com/{{ ticket.id }}")
    )
    assert errors == ["actions[0].webhook.url: unknown variable ticket.id"]


def test_unknown_variable_in_a_header() -> None:
    errors = with_change(
        lambda d: first_action(d)["webhook"]["headers"].update({"X-User": "{{ user.mail }}"})
    )
    assert errors == ["actions[0].webhook.headers.X-User: unknown variable user.mail"]


def test_unknown_variable_in_response_template() -> None:
    errors = with_change(
        lambda d: first_action(d).update(response_template="{{ response.bdy.key }}")
    )
    assert errors == ["actions[0].response_template: unknown variable response.bdy.key"]


def test_service_in_a_global_action() -> None:
    (error,) = with_change(set_payload('{"s": {{ service.name | json }}}'))
    assert error.startswith("actions[0].webhook.payload: unknown variable service.name")
    assert "scope: service" in error


def test_service_in_a_service_action_is_fine() -> None:
    doc = samples.issue_document()
    first_action(doc)["scope"] = "service"
    first_action(doc)["webhook"]["payload"] = (
        '{"s": {{ service.name | json }}, "o": {{ service.owner.name | json }}, '
        "\"pd\": {{ service | tag_value: 'pd_id' | json }}}"
    )
    assert validate(doc).catalog.action("create-ticket").scope == "service"  # type: ignore[union-attr]


def test_service_owner_fields_are_checked() -> None:
    doc = samples.issue_document()
    first_action(doc)["scope"] = "service"
    first_action(doc)["webhook"]["payload"] = "{{ service.owner.budget }}"
    assert errors_of(doc) == ["actions[0].webhook.payload: unknown variable service.owner.budget"]


@pytest.mark.parametrize("variable", ["response.status", "response.body.key", "status"])
def test_response_in_a_payload(variable: str) -> None:
    (error,) = with_change(set_payload("{{ " + variable + " }}"))
    assert error.startswith(f"actions[0].webhook.payload: unknown variable {variable}")
    assert "only set in response_template" in error


def test_liquid_syntax_error() -> None:
    (error,) = with_change(set_payload("{% if manualInputs.title %}unclosed"))
    assert error.startswith("actions[0].webhook.payload: Liquid syntax error: ")


def test_unknown_filter() -> None:
    errors = with_change(set_payload("{{ manualInputs.title | to_json }}"))
    assert errors == ["actions[0].webhook.payload: unknown filter 'to_json'"]


def test_locals_and_loop_variables_are_not_unknown() -> None:
    doc = samples.issue_document()
    first_action(doc)["webhook"]["payload"] = (
        "{% assign t = manualInputs.title | upcase %}"
        "{% for item in manualInputs %}{{ item | json }}{{ forloop.index }}{% endfor %}"
        "{{ t | json }}{% capture c %}x{% endcapture %}{{ c }}"
    )
    validate(doc)


def test_get_with_a_payload_is_refused() -> None:
    errors = with_change(lambda d: first_action(d)["webhook"].update(method="get"))
    assert errors == ["actions[0].webhook.payload: a GET request has no body; use POST or the URL"]


def test_url_must_be_http() -> None:
    errors = with_change(lambda d: first_action(d)["webhook"].update(url="ftp://x.example.com/"))
    assert errors == ["actions[0].webhook.url: expected an http:// or https:// URL"]


# --- many errors at once --------------------------------------------------------------


def test_all_cross_reference_and_template_errors_are_listed() -> None:
    doc = samples.issue_document()
    doc["actions"].append(samples.action("second", owner="ghosts"))
    first_action(doc)["owner"] = "nope"
    first_action(doc)["inputs"][0]["pattern"] = "(["
    first_action(doc)["webhook"]["payload"] = "{{ manualInputs.titel }}"
    first_action(doc)["response_template"] = "{{ response.body | nofilter }}"

    errors = errors_of(doc)

    assert "actions[0].owner: unknown team 'nope'" in errors
    assert "actions[1].owner: unknown team 'ghosts'" in errors
    assert any(e.startswith("actions[0].inputs[0].pattern: invalid regular") for e in errors)
    assert "actions[0].webhook.payload: unknown variable manualInputs.titel" in errors
    assert "actions[0].response_template: unknown filter 'nofilter'" in errors
    assert len(errors) == 5


def test_all_schema_errors_are_listed() -> None:
    doc = samples.issue_document()
    doc["bogus"] = 1
    del first_action(doc)["name"]
    doc["teams"][0]["id"] = "Bad Id"
    first_action(doc)["webhook"]["retries"] = 3

    errors = errors_of(doc)

    assert "bogus: unknown key" in errors
    assert "actions[0].name: missing" in errors
    assert "actions[0].webhook.retries: unknown key" in errors
    assert any(e.startswith("teams[0].id: invalid value 'Bad Id'") for e in errors)
    assert len(errors) == 4


def test_schema_error_does_not_hide_template_errors_of_other_actions() -> None:
    doc = samples.issue_document()
    doc["actions"].append(samples.action("second", typo_key=True))
    first_action(doc)["webhook"]["payload"] = "{{ manualInputs.titel }}"

    errors = errors_of(doc)

    assert "actions[1].typo_key: unknown key" in errors
    assert "actions[0].webhook.payload: unknown variable manualInputs.titel" in errors
