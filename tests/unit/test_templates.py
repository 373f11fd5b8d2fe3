"""The Liquid environment: what a webhook receiver gets in its payload, and what Slack shows."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot import templates
from bot.catalog import Catalog
from bot.runs import Outcome
from bot.slack.views import blocks
from bot.store import Run
from bot.templates import TemplateError, render, render_sync
from tests import samples

USER = {"id": "U0DEV", "name": "Dev Eloper", "email": "dev@example.com"}


def ticket_context(catalog: Catalog, **inputs: Any) -> dict[str, Any]:
    action = catalog.action("create-ticket")
    assert action is not None
    return templates.request_context(
        catalog=catalog,
        action=action,
        user=USER,
        inputs={"prio": "low", **inputs},
        service=None,
        run_id="run-1",
    )


def issue_payload(title: Any) -> str:
    catalog = samples.issue_catalog()
    action = catalog.action("create-ticket")
    assert action is not None
    return render_sync(action.webhook.payload, ticket_context(catalog, title=title), {})


# --- the json filter: user input is data ---------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "{{ 7*7 }}",
        '"}',
        "</script>\n",
        "{% raw %}{% endraw %}",
        "{{ 'TRACKER_TOKEN' | secret }}",
        'back\\slash "quoted" \t tab',
        "ünïcødé \u2028 😀",
        "",
    ],
    ids=[
        "liquid-output",
        "quote-brace",
        "script",
        "liquid-tag",
        "secret-lookup",
        "escapes",
        "unicode",
        "empty",
    ],
)
def test_user_value_reaches_payload_byte_for_byte(value: str) -> None:
    rendered = issue_payload(value)

    data = json.loads(rendered)
    assert data["title"] == value
    assert data == {"title": value, "priority": "low", "user": "U0DEV"}


def test_user_input_is_never_template_source() -> None:
    rendered = issue_payload("{{ 7*7 }}{{ user.email }}")
    assert "49" not in rendered
    assert "dev@example.com" not in rendered
    assert json.loads(rendered)["title"] == "{{ 7*7 }}{{ user.email }}"


def test_missing_optional_input_is_json_null() -> None:
    assert json.loads(issue_payload(None))["title"] is None


def test_json_filter_serialises_structures() -> None:
    out = render_sync("{{ v | json }}", {"v": {"a": [1, "x", None, True]}}, {})
    assert json.loads(out) == {"a": [1, "x", None, True]}


def test_jsonify_is_an_alias_of_json() -> None:
    context = {"v": 'say "hi"\n'}
    assert render_sync("{{ v | jsonify }}", context, {}) == render_sync(
        "{{ v | json }}", context, {}
    )
    assert json.loads(render_sync("{{ v | jsonify }}", context, {})) == 'say "hi"\n'


# --- secrets --------------------------------------------------------------------------


def test_secret_filter_reads_the_named_secret() -> None:
    out = render_sync("Bearer {{ 'TRACKER_TOKEN' | secret }}", {}, {"TRACKER_TOKEN": "s3cr3t"})
    assert out == "Bearer s3cr3t"


def test_secret_filter_takes_the_name_as_an_argument() -> None:
    out = render_sync("{{ '' | secret: 'TRACKER_TOKEN' }}", {}, {"TRACKER_TOKEN": "s3cr3t"})
    assert out == "s3cr3t"


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'pager-duty' | secret }}",
        "{{ '' | secret: 'pager-duty' }}",
        "{{ 'Pager.Duty' | secret }}",
    ],
)
def test_secret_names_are_normalised_like_env_vars(source: str) -> None:
    assert templates.secret_env_name("pager-duty") == "ACTIONS_SECRET_PAGER_DUTY"
    assert render_sync(source, {}, {"PAGER_DUTY": "pd-key"}) == "pd-key"


def test_secrets_variable() -> None:
    assert render_sync("{{ secrets.TRACKER_TOKEN }}", {}, {"TRACKER_TOKEN": "s3cr3t"}) == "s3cr3t"


@pytest.mark.parametrize(
    "source", ["{{ 'TRACKER_TOKEN' | secret }}", "{{ '' | secret: 'TRACKER_TOKEN' }}"]
)
def test_missing_secret_is_an_error_naming_the_env_var(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_sync(source, {}, {"OTHER": "x"})
    assert "'TRACKER_TOKEN' is not set" in str(caught.value)
    assert "ACTIONS_SECRET_TRACKER_TOKEN" in str(caught.value)


def test_missing_secret_via_secrets_variable_is_an_error() -> None:
    try:
        outcome = "rendered " + repr(render_sync("Bearer {{ secrets.TRACKER_TOKEN }}", {}, {}))
    except TemplateError as exc:
        outcome = str(exc)
    assert "ACTIONS_SECRET_TRACKER_TOKEN" in outcome


def test_secrets_variable_names_are_normalised_like_the_filter() -> None:
    assert render_sync("{{ secrets.pager_duty }}", {}, {"PAGER_DUTY": "pd-key"}) == "pd-key"


# --- tag_value ------------------------------------------------------------------------


def test_tag_value_of_a_service() -> None:
    catalog = samples.issue_catalog()
    service = templates.service_context(catalog.services["checkout-api"], catalog)
    source = "{{ service | tag_value: 'pd_id' }}|{{ service | tag_value: 'missing' }}"
    assert render_sync(source, {"service": service}, {}) == "P123|"


def test_tag_value_accepts_opslevels_key_value_list() -> None:
    service = {"tags": [{"key": "team", "value": "a"}, {"key": "pd_id", "value": "P9"}]}
    assert render_sync("{{ s | tag_value: 'pd_id' }}", {"s": service}, {}) == "P9"


def test_tag_value_of_nothing_is_empty() -> None:
    assert render_sync("[{{ s | tag_value: 'pd_id' }}]", {"s": None}, {}) == "[]"


# --- resource limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in (1..1000000000) %}x{% endfor %}",
        "{% for i in (1..200) %}{% for j in (1..200) %}{% endfor %}{% endfor %}",
    ],
    ids=["huge-range", "nested"],
)
def test_runaway_loop_is_stopped(source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="loop iteration limit"):
        render_sync(source, {}, {})
    assert time.perf_counter() - started < 1


def test_huge_output_is_stopped() -> None:
    source = "{% for i in (1..9000) %}" + "x" * 64 + "{% endfor %}"
    with pytest.raises(TemplateError, match="output stream limit"):
        render_sync(source, {}, {})


def test_string_doubling_is_stopped() -> None:
    source = (
        "{% assign s = 'xxxxxxxxxxxxxxxx' %}"
        "{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}"
    )
    with pytest.raises(TemplateError, match="limit"):
        render_sync(source, {}, {})


def test_type_errors_become_template_errors() -> None:
    with pytest.raises(TemplateError):
        render_sync("{{ 1 | divided_by: 0 }}", {}, {})


# --- async render ---------------------------------------------------------------------


def test_render_is_the_same_as_render_sync() -> None:
    context = {"v": "a<b"}
    assert asyncio.run(render("{{ v | json }}", context, {})) == '"a<b"'
    assert asyncio.run(render("no tags here", context, {})) == "no tags here"


def test_render_gives_up_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(source: str, context: Any, secrets: Any, **_: Any) -> str:
        time.sleep(0.15)
        return "too late"

    monkeypatch.setattr(templates, "RENDER_TIMEOUT", 0.02)
    monkeypatch.setattr(templates, "render_sync", slow)

    with pytest.raises(TemplateError, match=r"rendering took longer than 0\.02 s"):
        asyncio.run(render("{{ x }}", {}, {}))


# --- contexts -------------------------------------------------------------------------


def test_request_context_has_opslevels_names() -> None:
    catalog = samples.issue_catalog()
    source = (
        "{{ manualInputs.title }}|{{ inputs.title }}|{{ user.id }}|{{ user.name }}|"
        "{{ user.email }}|{{ action.id }}|{{ action.name }}|{{ action_owner.name }}|"
        "{{ action_owner.channel }}|{{ action_owner.href }}|{{ run.id }}|{{ service }}"
    )
    out = render_sync(source, ticket_context(catalog, title="T"), {})
    assert out.split("|") == [
        "T",
        "T",
        "U0DEV",
        "Dev Eloper",
        "dev@example.com",
        "create-ticket",
        "Create ticket",
        "Payments",
        "C0PAY",
        "https://slack.com/app_redirect?channel=C0PAY",
        "run-1",
        "",
    ]


def test_request_context_drops_unknown_inputs_and_user_fields() -> None:
    catalog = samples.issue_catalog()
    action = catalog.action("create-ticket")
    assert action is not None
    context = templates.request_context(
        catalog=catalog,
        action=action,
        user={**USER, "token": "xoxp-user-token"},
        inputs={"title": "T", "injected": "x"},
        service=None,
        run_id="r",
    )
    assert set(context["manualInputs"]) == {"title", "details", "prio"}
    assert "token" not in context["user"]


def test_response_context() -> None:
    catalog = samples.issue_catalog()
    base = ticket_context(catalog, title="T")
    source = (
        "{{ status }} {{ response.status }} {{ response.body.key }} "
        "{{ response.headers.x-request-id }} {{ manualInputs.title }}"
    )
    ok = templates.response_context(
        base, status=201, body={"key": "T-1"}, headers={"x-request-id": "abc"}, ok=True
    )
    failed = templates.response_context(base, status=500, body="oops", headers={}, ok=False)

    assert render_sync(source, ok, {}) == "SUCCESS 201 T-1 abc T"
    assert render_sync(source, failed, {}).startswith("FAILURE 500 ")


def test_parse_body() -> None:
    assert templates.parse_body('{"key": "T-1"}') == {"key": "T-1"}
    assert templates.parse_body("plain text") == "plain text"


def test_issue_response_template_renders_both_branches() -> None:
    catalog = samples.issue_catalog()
    action = catalog.action("create-ticket")
    assert action is not None and action.response_template
    base = ticket_context(catalog, title="T")

    def rendered(status: int, body: Any) -> str:
        context = templates.response_context(
            base, status=status, body=body, headers={}, ok=200 <= status < 300
        )
        return render_sync(action.response_template or "", context, {}).strip()

    assert rendered(201, {"key": "T-42"}) == "Ticket T-42 created"
    assert rendered(503, "down") == "Failed with 503"


OPSLEVEL_TEMPLATE = """\
{% if response.status >= 200 and response.status < 300 %}
## Congratulations!
Your request for {{ service.name }} has succeeded. See the incident here: \
{{ response.body.incident.html_url }}
{% else %}
## Oops! An error occurred.
Please contact [{{ action_owner.name }}]({{ action_owner.href }}) for more help.
{% endif %}
"""


def test_opslevels_canonical_response_template_renders_both_branches() -> None:
    doc = samples.issue_document()
    doc["actions"][0]["scope"] = "service"
    doc["actions"][0]["response_template"] = OPSLEVEL_TEMPLATE
    catalog = samples.catalog(doc)  # the config check accepts it
    action = catalog.action("create-ticket")
    assert action is not None
    base = templates.request_context(
        catalog=catalog,
        action=action,
        user=USER,
        inputs={},
        service=catalog.services["checkout-api"],
        run_id="r",
    )

    def rendered(status: int, body: Any) -> str:
        context = templates.response_context(
            base, status=status, body=body, headers={}, ok=200 <= status < 300
        )
        return render_sync(OPSLEVEL_TEMPLATE, context, {}).strip()

    success = rendered(200, {"incident": {"html_url": "https://pd.example.com/i/42"}})
    failure = rendered(422, {"error": "nope"})

    assert success.startswith("## Congratulations!")
    assert "Your request for Checkout API has succeeded." in success
    assert success.endswith("See the incident here: https://pd.example.com/i/42")
    assert "Oops" not in success
    assert failure == (
        "## Oops! An error occurred.\n"
        "Please contact [Payments](https://slack.com/app_redirect?channel=C0PAY) for more help."
    )


def test_user_input_echoed_in_a_response_template_stays_inert_in_slack() -> None:
    catalog = samples.issue_catalog()
    action = catalog.action("create-ticket")
    assert action is not None
    base = ticket_context(catalog, title="<!channel> urgent")
    context = templates.response_context(base, status=201, body={}, headers={}, ok=True)
    message = render_sync("Created: {{ manualInputs.title }}", context, {}, slack=True)

    run = Run(id="r", action_id=action.id, user_id="U0DEV", inputs={})
    _, result = blocks.result_message(run, action, catalog.owner_of(action), Outcome(True, message))

    text = result[0]["text"]["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; urgent" in text
