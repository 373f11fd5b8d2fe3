"""Outbound guard, secrets kept out of every output, health and schema."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store import models
from tests.conftest import (
    BOT_TOKEN,
    CONFIG,
    SIGNING_SECRET,
    TRACKER_TOKEN,
    WEBHOOK_SECRET,
    Bot,
    start_bot,
)
from tests.support import texts


@pytest.fixture
def guarded_bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "10.1.2.3"])
def test_private_targets_are_refused(tmp_path: Path, secrets_env: None, host: str) -> None:
    # The receiver's port, reached through a private or loopback spelling of its address.
    config = CONFIG.replace(
        "{receiver}/api/tickets", f"http://{host}:{{receiver_port}}/api/tickets"
    )
    for bot in start_bot(tmp_path, config, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False):
        bot.submit(bot.open_form("create-ticket"), {"title": "t"})
        bot.slack.wait_for("chat.update", timeout=10)
        status = bot.slack.messages("C0CHAN")[0]
        reply = texts(bot.slack.thread("C0CHAN", status["ts"])[0]["blocks"])
        assert "private network" in reply
        assert bot.receiver.received == []
        run = bot.store.runs()[0]
        error = bot.store.events(run.id, kind="webhook_error")[0].detail
        assert error["kind"] == "blocked"


def test_loopback_receiver_refused_by_default(guarded_bot: Bot) -> None:
    guarded_bot.submit(guarded_bot.open_form("create-ticket"), {"title": "t"})
    guarded_bot.slack.wait_for("chat.update", timeout=10)
    assert guarded_bot.receiver.received == []
    run = guarded_bot.store.runs()[0]
    assert run.status == "FAILURE"
    assert "loopback" in guarded_bot.store.events(run.id, kind="webhook_error")[0].detail["error"]


def test_secrets_never_leave(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # The receiver echoes the token back: it must not reach Slack or the database either.
    bot.receiver.reply(
        "/api/tickets",
        status=500,
        body={"error": f"bad token {TRACKER_TOKEN}", "key": TRACKER_TOKEN},
    )
    bot.submit(bot.open_form("create-ticket"), {"title": f"my {TRACKER_TOKEN}"})
    bot.slack.wait_for("chat.update")
    assert bot.receiver.wait(1)[0].headers["Authorization"] == f"Bearer {TRACKER_TOKEN}"
    secrets = [TRACKER_TOKEN, WEBHOOK_SECRET, SIGNING_SECRET, BOT_TOKEN]
    slack_seen = json.dumps([c.params for c in bot.slack.calls()])
    run = bot.store.runs()[0]
    stored = json.dumps(
        [run.model_dump(mode="json")] + [e.detail for e in bot.store.events(run.id)]
    )
    logs = caplog.text
    for secret in secrets:
        assert secret not in slack_seen
        assert secret not in stored
        assert secret not in logs
    assert "[REDACTED]" in stored and "[REDACTED]" in slack_seen


def test_healthz(bot: Bot) -> None:
    response = httpx.get(f"{bot.url}/healthz", trust_env=False)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert bot.store.ready()


def test_migrations_match_models(bot: Bot) -> None:
    """The schema built by the migrations is exactly what the models declare."""
    with bot.store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), models.metadata)
    assert diff == []
