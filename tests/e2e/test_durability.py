"""Real processes: SIGKILL at several points of a delivery, and two replicas on PostgreSQL."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Job, Run, Store, migrate
from tests.conftest import (
    Modals,
    database_url,
)
from tests.fakes import FakeSlack, Receiver
from tests.support import BotProcess, wait_final

ROOT = Path(__file__).parents[2]

CONFIG = """
teams:
  - {id: ops, name: Ops, channel: C0OPS}
actions:
  - id: deploy
    name: Deploy
    owner: ops
    webhook:
      url: "{receiver}/deploy"
      payload: '{"who": {{ user.email | json }}}'
      timeout: 10
    retry: {attempts: 3, delay: 100ms}
  - id: update
    name: Update
    owner: ops
    webhook: {url: "{receiver}/update", method: PUT, payload: '{}', timeout: 10}
    retry: {attempts: 3, delay: 100ms}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[str, Path, FakeSlack, Receiver]]:
    with FakeSlack() as slack, Receiver() as receiver:
        config = tmp_path / "actions.yml"
        config.write_text(CONFIG.replace("{receiver}", receiver.url))
        yield database_url(tmp_path), config, slack, receiver


def submit(bot: BotProcess, slack: FakeSlack, action: str = "deploy") -> None:
    modals = Modals.before(slack)
    bot.requests.block_action("run_action", value=action, user_id="U0DEV", channel_id="C0CHAN")
    view = modals.opened(timeout=15)
    response = bot.requests.view_submission(view, bot.requests.values_for(view, {}))
    assert response.status_code == 200


def test_sigkill_during_slow_receiver(world: tuple) -> None:
    db, config, slack, receiver = world
    receiver.reply("/deploy", delay=3, times=1)
    first = BotProcess(db, config, slack)
    submit(first, slack)
    receiver.wait(1, timeout=15)  # the request is in flight; the bot never sees the answer
    first.kill()
    second = BotProcess(db, config, slack)
    try:
        store = Store(db)
        [run] = wait_final(store)
        # A POST may have done its work: its retry policy does not resend after a timeout,
        # so the restarted bot does not resend it either, and says the result is unknown.
        assert run.status == "FAILURE"
        time.sleep(0.5)
        assert len(receiver.requests("/deploy")) == 1
        replies = slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts"))
        assert "The result is unknown: the bot stopped while waiting" in str(replies[-1].params)
        store.close()
    finally:
        second.stop()


def test_sigkill_during_slow_receiver_resends_what_the_policy_retries(world: tuple) -> None:
    db, config, slack, receiver = world
    receiver.reply("/update", delay=3, times=1)
    first = BotProcess(db, config, slack)
    submit(first, slack, "update")
    receiver.wait(1, timeout=15)
    first.kill()
    second = BotProcess(db, config, slack)
    try:
        store = Store(db)
        [run] = wait_final(store)
        assert run.status == "SUCCESS"
        ids = [r.headers["webhook-id"] for r in receiver.requests("/update")]
        assert len(ids) == 2 and len(set(ids)) == 1  # sent again with the same webhook-id
        sent = store.events(run.id, kind="webhook_request")
        assert [e.detail["attempt"] for e in sent] == [1, 2]  # and counted as an attempt
        replies = slack.wait_for(
            "chat.postMessage", lambda c: "succeeded" in str(c.params.get("text"))
        )
        assert replies
        store.close()
    finally:
        second.stop()


def test_sigkill_before_send(world: tuple) -> None:
    db, config, slack, receiver = world
    # users.info (needed to render user.email) hangs: the bot dies before sending anything.
    slack.set_response(
        "users.info",
        {
            "ok": True,
            "user": {"id": "U0DEV", "name": "dev", "profile": {"email": "dev@example.com"}},
        },
        delay=5,
        times=1,
    )
    first = BotProcess(db, config, slack)
    submit(first, slack)
    slack.wait_for("users.info", timeout=15)
    first.kill()
    assert receiver.requests("/deploy") == []
    second = BotProcess(db, config, slack)
    try:
        store = Store(db)
        [run] = wait_final(store)
        assert run.status == "SUCCESS"
        [request] = receiver.requests("/deploy")
        assert request.json() == {"who": "dev@example.com"}
        store.close()
    finally:
        second.stop()


def test_sigkill_after_response_before_slack_post(world: tuple) -> None:
    db, config, slack, receiver = world
    first = BotProcess(db, config, slack)
    # Slack is down for thread replies: the result waits in the job table.
    slack.set_response("chat.postMessage", {"ok": False, "error": "fatal_error"}, status=500)
    submit(first, slack)
    receiver.wait(1)
    store = Store(db)
    deadline = time.monotonic() + 10
    while not (store.runs() and store.runs()[0].final):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.kill()
    slack.clear_responses("chat.postMessage")
    second = BotProcess(db, config, slack)
    try:
        [run] = wait_final(store)
        assert run.status == "SUCCESS"
        assert len(receiver.requests("/deploy")) == 1  # the webhook is not sent again
        replies = slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts"))
        assert "succeeded" in str(replies[-1].params)
        store.close()
    finally:
        second.stop()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="replicas share PostgreSQL",
)
def test_two_replicas_deliver_each_run_once(world: tuple) -> None:
    db, config, slack, receiver = world
    migrate(db)
    store = Store(db)
    for n in range(200):
        run = Run(
            action_id="deploy", user_id="U0DEV", channel_id="C0CHAN", idempotency_key=f"bulk-{n}"
        )
        assert store.create_run(run, {}, [Job(kind="announce"), Job(kind="deliver")])
    # Small batches and a receiver that takes a moment: the first replica cannot take the
    # whole queue before the second one is up, so both claim, and each run goes out once.
    receiver.reply("/deploy", delay=0.2)
    small = {"WORKER_CONCURRENCY": "10"}
    bots = [BotProcess(db, config, slack, small), BotProcess(db, config, slack, small)]
    try:
        runs = wait_final(store, count=200, timeout=120)
        assert len(runs) == 200 and {r.status for r in runs} == {"SUCCESS"}
        ids = Counter(r.headers["webhook-id"] for r in receiver.requests("/deploy"))
        assert len(ids) == 200 and set(ids.values()) == {1}
        with store.session() as session:
            from sqlmodel import select

            owners = Counter(
                j.claimed_by for j in session.exec(select(Job).where(Job.kind == "deliver"))
            )
        assert len(owners) == 2, owners  # both replicas took a share
    finally:
        for bot in bots:
            bot.stop()
        store.close()
