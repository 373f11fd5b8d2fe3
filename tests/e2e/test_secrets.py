"""Secret inputs, credential headers and callback tokens stay out of storage, logs and Slack.

Through the real surface: signed Slack requests in, a real receiver, real callbacks, the
admin commands and the command line; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.redaction import REDACTED, RedactingFilter
from tests.conftest import TRACKER_TOKEN, WEBHOOK_SECRET, Bot, start_bot
from tests.support import admin_says, open_modal, run_cli, shown, texts

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: ops, name: Ops, channel: C0OPS}
actions:
  - id: set-password
    name: Set password
    owner: ops
    webhook:
      url: "{receiver}/set"
      headers:
        Content-Type: application/json
        X-Api-Key: "{{ 'TRACKER_TOKEN' | secret }}"
        X-Custom-Auth: "k={{ secrets.TRACKER_TOKEN | slice: 0, 7 }}"
        Cookie: "session=plain-session-id"
        X-Env: "{{ manualInputs.env }}"
      payload: >-
        {"env": {{ manualInputs.env | json }}, "note": {{ manualInputs.note | json }},
         "password": {{ manualInputs.password | json }}, "pin": {{ manualInputs.pin | json }},
         "b64": {{ manualInputs.password | base64_encode | json }}}
    inputs:
      - {identifier: env, displayName: Env, type: text_input}
      - {identifier: note, displayName: Note, type: text_input}
      - {identifier: password, displayName: Password, type: secret}
      - {identifier: pin, displayName: PIN, type: secret}
    response_template: "Done for {{ manualInputs.env }} ({{ manualInputs.pin }})"
  - id: rotate
    name: Rotate key
    owner: ops
    async: true
    timeout_after: 1h
    webhook:
      url: "{receiver}/rotate"
      payload: >-
        {"key": {{ manualInputs.key | json }}, "callback": {{ run.callback_url | json }},
         "token": {{ run.callback_token | json }}}
    inputs:
      - {identifier: key, displayName: Key, type: secret}
"""

PASSWORD = "pa/ss-w0rd-long"
KEY = "k3y/material-9000"


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def submit(bot: Bot, action_id: str, answers: dict[str, str]) -> None:
    response = bot.submit(bot.open_form(action_id), answers)
    assert response.status_code == 200, response.text


def wait_status(bot: Bot, status: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        runs = bot.store.runs()
        pending = (
            [j for j in bot.store.pending_jobs(runs[0].id) if j.kind != "deadline"] if runs else []
        )
        if runs and runs[0].status == status and not pending:
            return runs[0].id
        assert time.monotonic() < deadline, f"no run reached {status}: {runs}"
        time.sleep(0.05)


def stored(bot: Bot, run_id: str) -> str:
    run = bot.store.get_run(run_id)
    events = [e.detail for e in bot.store.events(run_id)]
    jobs = [j.data for j in bot.store.pending_jobs(run_id)]
    return json.dumps([run.model_dump(mode="json"), events, jobs])


def event(bot: Bot, run_id: str, kind: str) -> dict:
    return bot.store.events(run_id, kind=kind)[0].detail


def slack_text(bot: Bot) -> str:
    return json.dumps([c.params for c in bot.slack.calls()])


def callback(url: str, run_id: str, token: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{url}/runs/{run_id}/callback",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )


# --- redaction by field and by name --------------------------------------------------


def test_short_secret_inputs_are_redacted_by_field(bot: Bot) -> None:
    submit(bot, "set-password", {"env": "prod", "note": "n", "password": PASSWORD, "pin": "123"})
    run_id = wait_status(bot, "SUCCESS")
    sent = json.loads(bot.receiver.wait(1)[0].body)
    assert sent["pin"] == "123" and sent["password"] == PASSWORD  # the receiver gets them

    body = json.loads(event(bot, run_id, "webhook_request")["body"])
    assert body["pin"] == REDACTED and body["password"] == REDACTED
    assert body["env"] == "prod"
    assert base64.b64encode(PASSWORD.encode()).decode() not in stored(bot, run_id)
    assert bot.store.get_run(run_id).inputs["pin"] == REDACTED
    # The response template sees the redacted field: the 3 characters don't reach Slack.
    assert "Done for prod ([REDACTED])" in slack_text(bot)
    assert "(123)" not in slack_text(bot)


def test_a_secret_cannot_hide_other_inputs(bot: Bot) -> None:
    """Typing another field's text into a secret field must not blank that field out."""
    same = "release-2026-12-02"
    submit(bot, "set-password", {"env": same, "note": same, "password": same, "pin": "9876"})
    run_id = wait_status(bot, "SUCCESS")

    run = bot.store.get_run(run_id)
    assert run.inputs["env"] == same and run.inputs["note"] == same
    assert run.inputs["password"] == REDACTED
    assert event(bot, run_id, "requested")["inputs"]["note"] == same
    request = event(bot, run_id, "webhook_request")
    body = json.loads(request["body"])
    assert body["env"] == same and body["note"] == same and body["password"] == REDACTED
    assert request["headers"]["X-Env"] == same


def test_credential_headers_are_redacted_by_name(bot: Bot) -> None:
    bot.receiver.reply(
        "/set", status=200, body={"ok": True}, headers={"Set-Cookie": "sid=server-session"}
    )
    submit(bot, "set-password", {"env": "dev", "note": "n", "password": PASSWORD, "pin": "1"})
    run_id = wait_status(bot, "SUCCESS")
    received = bot.receiver.wait(1)[0].headers
    assert received["X-Custom-Auth"] == "k=" + TRACKER_TOKEN[:7]
    assert received["Cookie"] == "session=plain-session-id"

    headers = event(bot, run_id, "webhook_request")["headers"]
    for name in ("X-Api-Key", "X-Custom-Auth", "Cookie"):
        assert headers[name] == REDACTED, name
    assert headers["X-Env"] == "dev" and headers["Content-Type"] == "application/json"
    assert headers["X-Actions-Signature"].startswith("sha256=")
    response = event(bot, run_id, "webhook_response")["headers"]
    assert response["set-cookie"] == REDACTED
    everything = stored(bot, run_id)
    assert "plain-session-id" not in everything and "server-session" not in everything
    assert TRACKER_TOKEN[:7] not in everything


def test_escaped_and_base64_echoes_are_redacted(bot: Bot) -> None:
    echoed = {
        "slashes": json.dumps(PASSWORD).replace("/", "\\/"),
        "b64": base64.b64encode(PASSWORD.encode()).decode(),
        "url_b64": base64.urlsafe_b64encode(TRACKER_TOKEN.encode()).decode().rstrip("="),
    }
    raw = f'{{"echo": [{echoed["slashes"]}, "{echoed["b64"]}", "{echoed["url_b64"]}"]}}'
    bot.receiver.reply("/set", status=500, body=raw.encode())
    submit(bot, "set-password", {"env": "dev", "note": "n", "password": PASSWORD, "pin": "1"})
    run_id = wait_status(bot, "FAILURE")
    response = event(bot, run_id, "webhook_response")["body"]
    assert json.loads(response) == {"echo": [REDACTED] * 3}
    for form in echoed.values():
        assert form not in stored(bot, run_id) and form not in slack_text(bot)


# --- async callbacks -------------------------------------------------------------------


def started_async(bot: Bot) -> tuple[str, str]:
    bot.receiver.reply("/rotate", status=202, body={"accepted": True})
    submit(bot, "rotate", {"key": KEY})
    request = bot.receiver.wait(1)[0]
    assert json.loads(request.body)["key"] == KEY
    run_id = wait_status(bot, "RUNNING")
    return run_id, request.headers["X-Actions-Callback-Token"]


def test_callbacks_are_redacted_on_another_replica(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run_id, token = started_async(bot)
    sealed = bot.store.get_run(run_id).sealed
    assert sealed and KEY not in sealed  # kept, encrypted, while the run is not final

    # Another replica (or this one after a restart) has nothing of the run in memory.
    replica_dir = tmp_path / "replica"
    replica_dir.mkdir()
    url = bot.runtime.settings.DATABASE_URL
    replica = start_bot(replica_dir, CONFIG, DATABASE_URL=url)
    other = next(replica)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(other.runtime.redactor))
    logging.getLogger().addHandler(handler)
    try:
        update = {"status": "running", "message": f"rotating {KEY}"}
        assert callback(other.url, run_id, token, update).status_code == 202
        other.slack.wait_for("chat.update", lambda c: "rotating" in json.dumps(c.params))
        done = {
            "status": "success",
            "message": f"rotated {KEY}",
            "data": {"key": KEY, "b64": base64.b64encode(KEY.encode()).decode()},
            "log": f"old key {KEY}",
        }
        assert callback(other.url, run_id, token, done).status_code == 200
        wait_status(other, "SUCCESS")
        other.slack.wait_for("chat.postMessage", lambda c: "rotated" in json.dumps(c.params))
    finally:
        logging.getLogger().removeHandler(handler)
        next(replica, None)

    seen = slack_text(other)
    assert "rotating [REDACTED]" in seen and "rotated [REDACTED]" in seen
    assert KEY not in seen and json.dumps(KEY)[1:-1] not in seen
    everything = stored(bot, run_id)
    assert KEY not in everything and json.dumps(KEY)[1:-1] not in everything
    assert bot.store.events(run_id, kind="callback")[-1].detail["data"]["key"] == REDACTED
    assert "callback running: rotating [REDACTED]" in stream.getvalue()
    assert KEY not in stream.getvalue()
    assert bot.store.get_run(run_id).sealed is None  # erased: the run is final


def test_sealed_secrets_are_erased_when_cancelled(bot: Bot) -> None:
    bot.receiver.reply("/set", status=503, times=5)
    submit(bot, "set-password", {"env": "e", "note": "n", "password": PASSWORD, "pin": "1"})
    deadline = time.monotonic() + 5
    while not bot.receiver.received:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run = bot.store.runs()[0]
    assert run.sealed
    bot.runtime.store.transition(run.id, "CANCELLED", "cancelled", {"by": "test"})
    assert bot.store.get_run(run.id).sealed is None


# --- callback tokens -------------------------------------------------------------------


def test_callback_tokens_stay_out_of_audit_debug_view_export_and_preview(bot: Bot) -> None:
    run_id, token = started_async(bot)
    request = event(bot, run_id, "webhook_request")
    assert request["headers"]["X-Actions-Callback-Token"] == REDACTED
    assert json.loads(request["body"])["token"] == REDACTED
    assert json.loads(request["body"])["callback"].endswith(f"/runs/{run_id}/callback")
    assert token not in stored(bot, run_id)
    # A receiver that echoes its token back does not get it stored.
    update = {"status": "running", "message": f"my token is {token}"}
    assert callback(bot.url, run_id, token, update).status_code == 202
    assert "my token is [REDACTED]" in stored(bot, run_id)
    assert token not in stored(bot, run_id) and token not in slack_text(bot)
    # An event written before tokens were redacted still does not show one.
    bot.store.record("note", {"old": f"token={token}"}, run_id=run_id)

    debug = shown(admin_says(bot, f"run {run_id}"))
    assert "webhook_request" in debug and "token=[REDACTED]" in debug
    assert token not in debug

    assert "direct messages" in shown(admin_says(bot, "export since:1d format:jsonl"))
    audit = next(f for f in bot.slack.files.values() if f["filename"] == "audit.jsonl")
    assert "token=[REDACTED]" in audit["content"] and token not in audit["content"]

    env = {
        "ACTIONS_CONFIG": str(bot.config_path),
        "WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
        "ACTIONS_SECRET_TRACKER_TOKEN": TRACKER_TOKEN,
        "DATABASE_URL": bot.runtime.settings.DATABASE_URL,
        "PUBLIC_URL": "https://actions.example.com",
    }
    export = run_cli("audit", "export", "--since", "1d", "--format", "jsonl", env=env)
    assert export.returncode == 0, export.stderr
    assert "token=[REDACTED]" in export.stdout and token not in export.stdout
    preview = run_cli("preview", "rotate", "--input", "key=abc", env=env)
    assert preview.returncode == 0, preview.stderr
    assert '"token": "[REDACTED]"' in preview.stdout
    assert "X-Actions-Callback-Token: [REDACTED]" in preview.stdout
    assert '"key": "[REDACTED]"' in preview.stdout


# --- the admin test modal ----------------------------------------------------------------


def test_admin_test_modal_encrypts_secret_inputs(bot: Bot) -> None:
    view = open_modal(bot, "test set-password")
    answers = {"env": "stage", "note": "n", "password": PASSWORD, "pin": "4321"}
    values = bot.requests.values_for(view, answers)
    response = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)
    dry = response["view"]
    metadata = dry["private_metadata"]
    assert "stage" in metadata  # other inputs ride along in the signed metadata
    for secret in (PASSWORD, "4321", json.dumps(PASSWORD)[1:-1]):
        assert secret not in metadata and secret not in json.dumps(dry)
    assert '"password": "[REDACTED]"' in texts(dry["blocks"])

    dry["id"] = view["id"]
    bot.requests.block_action(
        "admin_send_test", value="send", user_id="U0ADMIN", channel_id=None, view=dry
    )
    sent = json.loads(bot.receiver.wait(1)[0].body)
    assert sent["password"] == PASSWORD and sent["pin"] == "4321" and sent["env"] == "stage"
    result = bot.slack.wait_for("views.update")[-1].params["view"]
    assert "HTTP 200" in texts(result["blocks"])
    run = bot.store.runs()[0]
    assert run.is_test and "4321" not in stored(bot, run.id)
