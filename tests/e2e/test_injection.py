"""Hostile text posted to Slack: receivers' answers, callbacks and users' words stay inert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import templates
from bot.catalog import Action
from bot.config import ConfigError, payload_warnings, validate
from bot.mrkdwn import escape, inert, safe_url, to_mrkdwn
from bot.runs.results import explain
from bot.webhooks import delivery
from tests.conftest import CONFIG, Bot, start_bot
from tests.support import texts

HOSTILE = "<!channel> see <https://evil|docs> or [click](https://evil.example) @here <@U0BOSS>"

# What must never reach Slack from a value: a broadcast, a user mention or a disguised link.
LIVE = ("<!channel>", "<!here>", "<@U0BOSS>", "<https://evil", "https://evil.example|")


def assert_inert(text: str) -> None:
    for token in LIVE:
        assert token not in text, f"{token!r} is live in {text!r}"
    assert "@here" not in text  # a bare broadcast word is neutralised too (word joiner)


# --- escaping and conversion -------------------------------------------------------------


def test_inert_values_survive_the_markdown_conversion_as_text() -> None:
    shown = to_mrkdwn(f"Result: **{inert(HOSTILE)}**")
    assert_inert(shown)
    assert shown.startswith("Result: *&lt;!channel&gt; see &lt;https://evil|docs&gt; or ")
    assert "[click](https://evil.example)" in shown  # shown as typed, not a link
    assert "&lt;@U0BOSS&gt;" in shown


def test_inert_values_in_code_and_link_targets_are_shown_verbatim() -> None:
    assert to_mrkdwn(f"`{inert('a[0] & b_c')}`") == "`a[0] &amp; b_c`"
    url = inert("https://ci.example.com/runs?id=[7]&x=a_b")
    assert to_mrkdwn(f"[logs]({url})") == "<https://ci.example.com/runs?id=[7]&amp;x=a_b|logs>"
    assert to_mrkdwn(f"see {inert('https://x.example/a_b')}.") == "see https://x.example/a_b."


def test_markdown_links_only_to_web_and_mail() -> None:
    assert to_mrkdwn("[run](javascript:alert(1))") == "run"
    assert to_mrkdwn("[ops](mailto:ops@example.com)") == "<mailto:ops@example.com|ops>"


def test_escape_neutralises_bare_broadcasts() -> None:
    assert escape("ping @channel and @Here, not user@heresy") == (
        "ping @\u2060channel and @\u2060Here, not user@heresy"
    )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://ci.example.com/42?a=1&b=2", True),
        ("http://ci.example.com", True),
        ("javascript:alert(1)", False),
        ("ftp://files.example.com/x", False),
        ("https://evil.example|Google", False),
        ("https://evil.example/<!channel>", False),
        ("https://evil.example/a b", False),
        ("https://", False),
        ("//evil.example", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert safe_url(url) is ok


# --- response templates ------------------------------------------------------------------


def slack_render(source: str, **values: Any) -> str:
    return templates.render_sync(source, values, {}, slack=True)


def test_response_templates_escape_every_value_by_default() -> None:
    body = {"msg": HOSTILE}
    for source in (
        "{{ response.body.msg }}",
        "{{ response.body.msg | upcase | downcase }}",
        '{{ "Result: " | append: response.body.msg }}',
        '{{ response.body.msg | prepend: "Result: " }}',
        "{% echo response.body.msg %}",
        "{% liquid\necho response.body.msg\n%}",
        "{% for m in response.body.list %}{{ m }}{% endfor %}",
        '{% cycle response.body.msg, "x" %}',
    ):
        shown = to_mrkdwn(slack_render(source, response={"body": {**body, "list": [HOSTILE]}}))
        assert_inert(shown)
        assert "&lt;!channel&gt;" in shown.lower(), source


def test_mentions_and_links_the_author_wrote_stay() -> None:
    source = "<!here> {{ response.body.msg }}: [the runbook](https://wiki.example/rb) <@U0OPS>"
    shown = to_mrkdwn(slack_render(source, response={"body": {"msg": "<!channel>"}}))
    assert shown == "<!here> &lt;!channel&gt;: <https://wiki.example/rb|the runbook> <@U0OPS>"


def test_trusted_opts_out_and_capture_is_escaped_once() -> None:
    value = {"body": {"summary": "*3* checks, see <https://ci.example/7|CI>", "n": "<b>"}}
    assert slack_render("{{ response.body.summary | trusted }}", response=value) == (
        "*3* checks, see <https://ci.example/7|CI>"
    )
    captured = "{% capture c %}[{{ response.body.n }}]{% endcapture %}{{ c }}"
    assert slack_render(captured, response=value) == "[&lt;b&gt;]"


def test_request_templates_are_not_escaped() -> None:
    assert templates.render_sync("{{ x }}", {"x": "<a & [b]>"}, {}) == "<a & [b]>"


# --- payload templates without | json ---------------------------------------------------

PAYLOAD_CONFIG = {
    "teams": [{"id": "t", "name": "T"}],
    "actions": [
        {
            "id": "ok",
            "name": "OK",
            "owner": "t",
            "webhook": {"url": "https://x.example", "payload": '{"n": {{ inputs.n | plus: 0 }}}'},
            "inputs": [{"identifier": "n", "displayName": "N", "type": "number"}],
        },
        {
            "id": "fragile",
            "name": "Fragile",
            "owner": "t",
            "webhook": {
                "url": "https://x.example",
                "payload": '{"a": "{{ manualInputs.title }}", "b": {{ inputs["why"] | json }},'
                ' "c": "{{ manualInputs.why | upcase }}"}',
            },
            "inputs": [
                {"identifier": "title", "displayName": "Title", "type": "text_input"},
                {"identifier": "why", "displayName": "Why", "type": "text_input"},
            ],
        },
        {
            "id": "form",
            "name": "Form post",
            "owner": "t",
            "webhook": {
                "url": "https://x.example",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "payload": "title={{ manualInputs.title }}",
            },
            "inputs": [{"identifier": "title", "displayName": "Title", "type": "text_input"}],
        },
    ],
}


def test_payload_interpolating_an_input_without_json_is_a_warning() -> None:
    loaded = validate(PAYLOAD_CONFIG)
    assert [w.split(";")[0] for w in loaded.warnings] == [
        "actions[1].webhook.payload: input 'title' is interpolated without `| json`",
        "actions[1].webhook.payload: input 'why' is interpolated without `| json`",
    ]
    assert "{{ manualInputs.title | json }}" in loaded.warnings[0]


def test_a_revert_payload_is_checked_too() -> None:
    action = Action.model_validate(
        {
            "id": "grant",
            "name": "Grant",
            "owner": "t",
            "webhook": {"url": "https://x.example", "payload": "{}"},
            "expires": {
                "after": "1h",
                "max": "2h",
                "webhook": {"url": "https://x.example", "payload": '{"r": "{{ inputs.role }}"}'},
            },
            "inputs": [{"identifier": "role", "displayName": "Role", "type": "text_input"}],
        }
    )
    assert [w.split(":")[0] for w in payload_warnings(action, "actions[3]")] == [
        "actions[3].expires.webhook.payload"
    ]


def test_check_prints_the_payload_warning(tmp_path: Path) -> None:
    path = tmp_path / "actions.yml"
    path.write_text(json.dumps(PAYLOAD_CONFIG))
    env = {**os.environ, "ACTIONS_CONFIG": str(path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "warning: actions[1].webhook.payload: input 'title'" in done.stderr


def test_a_bad_payload_is_still_an_error_not_a_warning() -> None:
    bad = json.loads(json.dumps(PAYLOAD_CONFIG))
    bad["actions"][1]["webhook"]["payload"] = '{"a": {{ manualInputs.nope }}}'
    with pytest.raises(ConfigError, match=r"unknown variable manualInputs\.nope"):
        validate(bad)


# --- end to end through the real HTTP surface --------------------------------------------

ACTIONS = """
  - id: echo
    name: Echo
    owner: payments
    webhook: {url: "{receiver}/echo", payload: '{}'}
    response_template: |
      <@U0OWNER> Done: {{ response.body.msg }}
  - id: pipeline
    name: Pipeline
    owner: payments
    async: true
    webhook: {url: "{receiver}/pipeline", payload: '{"token": {{ run.callback_token | json }}}'}
  - id: guarded
    name: Guarded
    owner: payments
    approval: {approvers: {users: [U0SRE]}, channel: C0APPROVE}
    webhook: {url: "{receiver}/guarded"}
  - id: broken-template
    name: Broken template
    owner: payments
    webhook: {url: "{receiver}/broken", payload: '{}'}
    response_template: "<!channel> {{ response.body.msg | slice: response.body.msg }}"
  - id: fragile
    name: Fragile
    owner: payments
    webhook: {url: "{receiver}/fragile", payload: '{"title": "{{ manualInputs.title }}"}'}
    inputs:
      - {identifier: title, displayName: Title, type: text_input}
"""


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG + ACTIONS)


def wait(predicate: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def thread(bot: Bot, channel: str = "C0CHAN") -> list[dict]:
    posted = bot.slack.messages(channel)
    return bot.slack.thread(channel, posted[0]["ts"]) if posted else []


def readable(message: dict) -> str:
    return message["text"] + "\n" + texts(message.get("blocks") or [])


def start(bot: Bot, action_id: str, answers: dict[str, Any] | None = None) -> None:
    response = bot.submit(bot.open_form(action_id), answers or {})
    assert response.status_code == 200, response.text


def test_receiver_text_in_a_response_template_is_inert_in_the_thread(bot: Bot) -> None:
    bot.receiver.reply("/echo", body={"msg": HOSTILE})
    start(bot, "echo")
    reply = wait(lambda: [m for m in thread(bot) if "Done:" in readable(m)], "the result")[0]
    shown = readable(reply)
    assert_inert(shown)
    assert "Done: &lt;!channel&gt; see &lt;https://evil|docs&gt;" in shown
    assert "[click](https://evil.example)" in shown
    # The notification text is the converted mrkdwn too: inert, and readable.
    assert reply["text"].startswith("<@U0OWNER> Done: &lt;!channel&gt; see")
    assert "[click](https://evil.example)" in reply["text"]
    # The template's own mention is the author's choice, and stays.
    assert texts(reply["blocks"]).startswith("<@U0OWNER> Done:")


def test_a_failing_response_template_does_not_post_its_source_live(bot: Bot) -> None:
    bot.receiver.reply("/broken", body={"msg": "x"})
    start(bot, "broken-template")
    reply = wait(lambda: [m for m in thread(bot) if "template failed" in readable(m)], "result")
    shown = readable(reply[0])
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown


def test_delivery_errors_quoting_the_receiver_are_inert() -> None:
    for kind in ("invalid_url", "protocol"):
        shown = to_mrkdwn(explain(delivery.DeliveryError(kind, HOSTILE)))
        assert_inert(shown)


def callback(bot: Bot, run_id: str, token: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )


def test_callback_messages_and_links_are_inert(bot: Bot) -> None:
    bot.receiver.reply("/pipeline", status=202)
    start(bot, "pipeline")
    request = bot.receiver.wait(1)[0]
    run_id, token = request.headers["X-Actions-Action-Uuid"], request.json()["token"]
    links = [
        {"text": "<!channel> logs", "url": "https://ci.example.com/42"},
        {"text": "Google", "url": "https://evil.example|Google"},
        {"text": "run me", "url": "javascript:alert(1)"},
        {"text": "x", "url": "https://evil.example/<!here>"},
    ]
    update = {"status": "running", "message": HOSTILE, "links": links}
    assert callback(bot, run_id, token, update).status_code == 202
    edited = bot.slack.wait_for("chat.update", lambda c: "see" in json.dumps(c.params))[-1]
    shown = texts(edited.params["blocks"])
    assert_inert(shown)
    assert "<https://ci.example.com/42|&lt;!channel&gt; logs>" in shown
    assert "javascript" not in shown and "Google" not in shown and "evil.example/" not in shown

    done = {"status": "failure", "message": f"Broke: {HOSTILE}", "links": links}
    assert callback(bot, run_id, token, done).status_code == 200
    reply = wait(lambda: [m for m in thread(bot) if "Broke:" in readable(m)], "the result")[0]
    shown = readable(reply)
    assert_inert(shown)
    assert "Broke: &lt;!channel&gt; see" in shown and "javascript" not in shown


def test_a_deny_reason_typed_into_slack_is_inert(bot: Bot) -> None:
    start(bot, "guarded")
    run = bot.store.runs()[0]
    wait(lambda: bot.slack.messages("C0APPROVE"), "the approval request")
    bot.requests.block_action("deny_run", value=run.id, user_id="U0SRE", channel_id="C0APPROVE")
    modal = wait(
        lambda: [
            c.params["view"]
            for c in bot.slack.calls("views.open")
            if c.params["view"].get("callback_id") == "deny_modal"
        ],
        "the deny modal",
    )[-1]
    reason = {"reason": {"reason": {"type": "plain_text_input", "value": HOSTILE}}}
    bot.requests.view_submission(modal, reason, user_id="U0SRE")
    reply = wait(lambda: [m for m in thread(bot) if "Denied by" in readable(m)], "the denial")[0]
    shown = readable(reply)
    assert_inert(shown)
    assert "Denied by <@U0SRE>: &lt;!channel&gt; see &lt;https://evil|docs&gt;" in shown
    request = wait(lambda: bot.slack.messages("C0APPROVE"), "the request")[0]
    decided = wait(
        lambda: "Denied by" in texts(bot.slack.message("C0APPROVE", request["ts"])["blocks"]),
        "the request marked denied",
    )
    assert decided
    assert_inert(texts(bot.slack.message("C0APPROVE", request["ts"])["blocks"]))


def test_admin_test_modal_warns_of_a_payload_without_json(bot: Bot) -> None:
    count = len(bot.slack.calls("views.open"))
    bot.requests.command("/actions-admin", text="test fragile", user_id="U0ADMIN")
    view = bot.slack.wait_for("views.open", count=count + 1)[-1].params["view"]
    values = bot.requests.values_for(view, {"input:title": "plain"})
    response = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)
    shown = texts(response["view"]["blocks"])
    assert "webhook.payload: input 'title' is interpolated without `| json`" in shown


def test_saving_an_action_in_slack_warns_of_a_payload_without_json(bot: Bot) -> None:
    count = len(bot.slack.calls("views.open"))
    bot.requests.command("/actions-admin", text="new", user_id="U0ADMIN")
    view = bot.slack.wait_for("views.open", count=count + 1)[-1].params["view"]
    fields = {
        "id": "page-oncall",
        "name": "Page on-call",
        "url": f"{bot.receiver.url}/page",
        "payload": '{"why": "{{ manualInputs.why }}"}',
        "inputs": "- {identifier: why, displayName: Why, type: text_input}",
    }
    values = {k: {k: {"type": "plain_text_input", "value": v}} for k, v in fields.items()}
    for key, value in (("owner", "payments"), ("scope", "global"), ("access", "everyone")):
        values[key] = {key: {"type": "static_select", "selected_option": {"value": value}}}
    values["method"] = {"method": {"type": "static_select", "selected_option": {"value": "POST"}}}
    assert bot.requests.view_submission(view, values, user_id="U0ADMIN").status_code == 200
    saved = bot.slack.wait_for(
        "chat.postMessage", lambda c: "Saved `page-oncall`" in c.params["text"]
    )
    assert (
        "webhook.payload: input 'why' is interpolated without `| json`" in saved[-1].params["text"]
    )
