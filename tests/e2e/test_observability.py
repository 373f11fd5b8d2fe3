"""GET /metrics and structured logs."""

from __future__ import annotations

import io
import json
import logging
import re
import time

import httpx

from bot import logs
from tests.conftest import TRACKER_TOKEN, Bot


def successes(text: str) -> float:
    found = re.search(r'actions_runs_total\{action="create-ticket",status="SUCCESS"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def test_metrics_after_a_run(bot: Bot) -> None:
    before = successes(httpx.get(f"{bot.url}/metrics", trust_env=False).text)
    bot.submit(bot.open_form("create-ticket"), {"title": "t"})
    bot.slack.wait_for("chat.update")
    text = httpx.get(f"{bot.url}/metrics", trust_env=False).text
    assert successes(text) == before + 1  # metrics are per process: count the difference
    assert 'actions_webhook_duration_seconds_count{action="create-ticket"}' in text
    assert "actions_queue_depth " in text
    assert 'actions_slack_ack_seconds_count{kind="interaction"}' in text


def test_slack_errors_are_counted(bot: Bot) -> None:
    bot.slack.set_response("views.open", {"ok": False, "error": "expired_trigger_id"})
    bot.requests.block_action("run_action", value="create-ticket")
    bot.slack.wait_for("views.open")
    deadline = time.monotonic() + 5
    while (
        'actions_slack_api_errors_total{method="views.open"} 1.0'
        not in httpx.get(f"{bot.url}/metrics", trust_env=False).text
    ):
        assert time.monotonic() < deadline, "the failed views.open was not counted"
        time.sleep(0.05)


def test_json_logs_name_the_run_and_hide_secrets() -> None:
    stream = io.StringIO()
    logs.setup("INFO", "json", [TRACKER_TOKEN])
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    logs.RUN_ID.set("run-123")
    logs.ACTION_ID.set("deploy")
    logging.getLogger("bot.test").info("sent Bearer %s", TRACKER_TOKEN)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["run_id"] == "run-123" and line["action_id"] == "deploy"
    assert line["message"] == "sent Bearer [REDACTED]" and line["level"] == "info"
    logs.RUN_ID.set(None)
    logs.ACTION_ID.set(None)
