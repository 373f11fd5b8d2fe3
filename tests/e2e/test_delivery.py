"""Durable delivery in one process: retries, async callbacks, cancel, re-run, Slack outages."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import WEBHOOK_SECRET, Bot, Modals, start_bot
from tests.fakes import verify_opslevel_style, verify_standard
from tests.support import final_status, run_action, texts, thread_texts

CONFIG = """
teams:
  - {id: ci, name: CI Team, channel: C0CI}
actions:
  - id: flaky
    name: Flaky deploy
    owner: ci
    webhook: {url: "{receiver}/flaky", payload: '{"n": 1}'}
    retry: {attempts: 3, delay: 100ms}
  - id: put-timeout
    name: Idempotent update
    owner: ci
    webhook: {url: "{receiver}/put", method: PUT, payload: '{}', timeout: 0.5}
    retry: {attempts: 2, delay: 100ms}
  - id: post-timeout
    name: Create thing
    owner: ci
    webhook: {url: "{receiver}/post", payload: '{}', timeout: 0.5}
    retry: {attempts: 3, delay: 100ms}
  - id: slow-retry
    name: Slow retry
    owner: ci
    webhook: {url: "{receiver}/down", payload: '{}'}
    retry: {attempts: 5, delay: 5s}
  - id: pipeline
    name: Run pipeline
    owner: ci
    async: true
    timeout_after: 2h
    webhook:
      url: "{receiver}/pipeline"
      payload: '{"callback": {{ run.callback_url | json }}, "token": {{ run.callback_token | json }}}'
    response_template: |
      {% if status == "SUCCESS" %}Pipeline **{{ response.body.pipeline }}** passed{% else %}Pipeline failed: {{ response.body.reason }}{% endif %}
  - id: quick-deadline
    name: Quick deadline
    owner: ci
    async: true
    timeout_after: 1s
    webhook: {url: "{receiver}/pipeline", payload: '{}'}
"""


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def test_503_503_200_same_webhook_id(bot: Bot) -> None:
    bot.receiver.reply("/flaky", status=503, body="busy", times=2)
    bot.receiver.reply("/flaky", status=200, body={"ok": True})
    run_action(bot, "flaky")
    assert final_status(bot) == "SUCCESS"
    attempts = bot.receiver.requests("/flaky")
    assert len(attempts) == 3
    ids = {r.headers["webhook-id"] for r in attempts}
    run_ids = {r.headers["X-Actions-Action-Uuid"] for r in attempts}
    assert len(ids) == 1 and len(run_ids) == 1
    assert (
        len({r.headers["webhook-signature"] for r in attempts}) >= 2
        or len({r.headers["webhook-timestamp"] for r in attempts}) == 1
    )
    for request in attempts:  # each attempt is freshly and validly signed
        verify_standard(WEBHOOK_SECRET, request.headers, request.body)
        verify_opslevel_style(WEBHOOK_SECRET, request.headers, request.body)
    # One note in the thread, edited as attempts happen, then the result.
    thread = thread_texts(bot)
    assert thread[0].startswith("Attempt 2 of 3 failed (HTTP 503), retrying in ")
    assert "succeeded" in thread[1] and len(thread) == 2
    edits = [c.params.get("text", "") for c in bot.slack.calls("chat.update")]
    assert any(t.startswith("Attempt 2 of 3 failed") for t in edits)
    run = bot.store.runs()[0]
    kinds = [e.kind for e in bot.store.events(run.id)]
    assert kinds.count("webhook_request") == 3 and kinds.count("webhook_response") == 3
    assert [e.detail["attempt"] for e in bot.store.events(run.id, kind="webhook_request")] == [
        1,
        2,
        3,
    ]


def test_429_honours_retry_after(bot: Bot) -> None:
    bot.receiver.reply("/flaky", status=429, headers={"Retry-After": "1"}, times=1)
    run_action(bot, "flaky")
    assert final_status(bot) == "SUCCESS"
    first, second = bot.receiver.requests("/flaky")
    assert second.time - first.time >= 0.95
    assert "(HTTP 429), retrying in 1 s" in thread_texts(bot)[0]


def test_gives_up_after_attempts(bot: Bot) -> None:
    bot.receiver.reply("/flaky", status=502, body="bad gateway")
    run_action(bot, "flaky")
    assert final_status(bot) == "FAILURE"
    assert len(bot.receiver.requests("/flaky")) == 3
    thread = thread_texts(bot)
    last = thread[-1]
    assert "HTTP 502" in last and "CI Team" in last
    # The one retry note, edited for the last attempt: no retry is promised any more.
    assert len(thread) == 2
    assert thread[0].startswith("Attempt 3 of 3 failed (HTTP 502); giving up.")
    assert "retrying" not in thread[0]


def test_timeouts_retry_only_when_idempotent(bot: Bot) -> None:
    bot.receiver.reply("/put", delay=1)
    bot.receiver.reply("/post", delay=1)
    run_action(bot, "put-timeout")
    assert final_status(bot) == "FAILURE"
    assert len(bot.receiver.requests("/put")) == 2
    bot.slack.reset()
    run_action(bot, "post-timeout")
    time.sleep(0.2)
    assert final_status(bot) == "FAILURE"
    assert len(bot.receiver.requests("/post")) == 1  # a POST may have been half done


def test_4xx_is_not_retried(bot: Bot) -> None:
    bot.receiver.reply("/flaky", status=422, body={"error": "bad"})
    run_action(bot, "flaky")
    assert final_status(bot) == "FAILURE"
    assert len(bot.receiver.requests("/flaky")) == 1


def test_cancel_a_retrying_run(bot: Bot) -> None:
    bot.receiver.reply("/down", status=503)
    run_action(bot, "slow-retry")
    bot.receiver.wait(1)
    bot.slack.wait_for("chat.postMessage", count=2)  # the status message, then "Attempt 1…"
    run = bot.store.runs()[0]
    status = bot.slack.messages("C0CHAN")[0]
    assert "Cancel" in texts(status["blocks"])
    # Someone else may not cancel it.
    bot.requests.block_action("cancel_run", value=run.id, user_id="U0OWNER")
    bot.slack.wait_for("response_url")
    assert bot.store.get_run(run.id).status == "PENDING"
    bot.requests.block_action("cancel_run", value=run.id, user_id="U0DEV")
    assert final_status(bot) == "CANCELLED"
    time.sleep(0.3)
    assert len(bot.receiver.requests("/down")) == 1
    assert "Cancelled by <@U0DEV>" in thread_texts(bot)[-1]
    status = bot.slack.messages("C0CHAN")[0]
    assert "was cancelled" in texts(status["blocks"])
    # Cancel is gone now that it can't take effect; an old button's answer lands in the
    # thread, for the clicker only.
    assert "cancel_run" not in json.dumps(status["blocks"])
    bot.requests.block_action("cancel_run", value=run.id, user_id="U0DEV")
    answer = bot.slack.wait_for("chat.postEphemeral")[-1].params
    assert answer["thread_ts"] == status["ts"] and answer["user"] == "U0DEV"
    assert answer["text"] == "Can't cancel: it has already been sent or has finished."


def callback(bot: Bot, run_id: str, token: str, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        json=body,
        trust_env=False,
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def test_async_running_then_success(bot: Bot) -> None:
    bot.receiver.reply("/pipeline", status=202, body={"accepted": True})
    run_action(bot, "pipeline")
    request = bot.receiver.wait(1)[0]
    payload = json.loads(request.body)
    run_id = request.headers["X-Actions-Action-Uuid"]
    assert payload["callback"] == f"{bot.url}/runs/{run_id}/callback"
    assert request.headers["X-Actions-Callback-Url"] == payload["callback"]
    token = payload["token"]
    deadline = time.monotonic() + 5
    while bot.store.get_run(run_id).status != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    # Forged callbacks are refused.
    assert callback(bot, run_id, "nope", {"status": "success"}).status_code == 401
    bad_sig = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AAAA",
    }
    assert callback(bot, run_id, token, {"status": "success"}, **bad_sig).status_code == 401
    assert bot.store.get_run(run_id).status == "RUNNING"

    update = {
        "status": "running",
        "message": "Stage 2 of 3",
        "links": [{"text": "Logs", "url": "https://ci.example.com/42"}],
    }
    assert callback(bot, run_id, token, update).status_code == 202
    edited = bot.slack.wait_for("chat.update", lambda c: "Stage 2 of 3" in json.dumps(c.params))
    assert "<https://ci.example.com/42|Logs>" in json.dumps(edited[-1].params["blocks"])

    done = {
        "status": "success",
        "message": "All green",
        "data": {"pipeline": "#42"},
        "links": [{"text": "Artifacts", "url": "https://ci.example.com/42/a"}],
        "log": "step 1 ok\nstep 2 ok",
    }
    assert callback(bot, run_id, token, done).status_code == 200
    assert final_status(bot) == "SUCCESS"
    result = thread_texts(bot)[-1]
    assert "Pipeline *#42* passed" in result and "All green" in result
    assert "Artifacts" in result and "step 2 ok" in result
    # Late callbacks are recorded and refused.
    assert callback(bot, run_id, token, {"status": "failure"}).status_code == 409
    assert bot.store.get_run(run_id).status == "SUCCESS"
    assert bot.store.events(run_id, kind="late_callback")


def test_async_failure_with_signed_callback(bot: Bot) -> None:
    from standardwebhooks.webhooks import Webhook

    run_action(bot, "pipeline")
    request = bot.receiver.wait(1)[0]
    run_id = request.headers["X-Actions-Action-Uuid"]
    token = request.headers["X-Actions-Callback-Token"]
    body = json.dumps({"status": "failure", "data": {"reason": "tests failed"}})
    stamp = int(time.time())
    from datetime import UTC, datetime

    signature = Webhook(WEBHOOK_SECRET).sign("msg_cb", datetime.fromtimestamp(stamp, UTC), body)
    response = httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        content=body,
        trust_env=False,
        headers={
            "X-Actions-Callback-Token": token,
            "webhook-id": "msg_cb",
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    assert final_status(bot) == "FAILURE"
    result = thread_texts(bot)[-1]
    assert "Pipeline failed: tests failed" in result and "CI Team" in result


def test_async_deadline(bot: Bot) -> None:
    run_action(bot, "quick-deadline")
    assert final_status(bot, timeout=10) == "TIMED_OUT"
    result = thread_texts(bot)[-1]
    assert "timed out" in result and "CI Team" in result
    assert "timed out" in texts(bot.slack.messages("C0CHAN")[0]["blocks"])


def test_run_again_prefills_and_links_parent(bot: Bot) -> None:
    run_action(bot, "flaky")
    final_status(bot)
    first = bot.store.runs()[0]
    reply = bot.slack.thread("C0CHAN", bot.slack.messages("C0CHAN")[0]["ts"])[-1]
    button = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "rerun" and button["value"] == first.id
    modals = Modals.before(bot.slack)  # the first run's form was one
    bot.requests.block_action("rerun", value=first.id, user_id="U0DEV")
    view = modals.opened()
    bot.submit(view, {})
    deadline = time.monotonic() + 5
    while len(bot.store.runs()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert bot.store.runs()[0].parent_id == first.id


def test_slack_outage_does_not_lose_the_result(bot: Bot) -> None:
    bot.slack.set_response(
        "chat.postMessage", {"ok": False, "error": "internal_error"}, status=500, times=2
    )
    run_action(bot, "flaky")
    assert final_status(bot, timeout=20) == "SUCCESS"
    posted = [c for c in bot.slack.calls("chat.postMessage")]
    assert len(posted) >= 4  # two failures, then the status message and the result
    assert bot.slack.messages("C0CHAN") and thread_texts(bot)
