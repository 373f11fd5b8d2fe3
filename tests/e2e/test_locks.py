"""Concurrency locks: queue and refuse over real HTTP, shared keys, leases, two replicas."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, validate
from bot.store import Job, Run, Store, migrate
from bot.store.models import utcnow
from tests.conftest import Bot, database_url, start_bot
from tests.fakes import FakeSlack, Receiver
from tests.support import BotProcess, access_blocks, home, texts, wait_final

CONFIG = """
teams:
  - {id: ops, name: Ops, members: [U0OWNER], channel: C0OPS}
services:
  - {id: checkout-api, name: Checkout API, owner: ops}
  - {id: search, name: Search, owner: ops}
actions:
  - id: deploy
    name: Deploy
    owner: ops
    scope: service
    webhook: {url: "{receiver}/deploy/{{ service.id }}", payload: '{}', timeout: 15}
    retry: {attempts: 1}
    concurrency: {key: "{{ service.id }}", limit: 1, when_busy: queue, group: releases}
  - id: rollback
    name: Rollback
    owner: ops
    scope: service
    webhook: {url: "{receiver}/rollback/{{ service.id }}", payload: '{}', timeout: 15}
    retry: {attempts: 1}
    concurrency: {key: "{{ service.id }}", limit: 1, when_busy: refuse, group: releases}
  - id: migrate
    name: Migrate
    owner: ops
    webhook: {url: "{receiver}/migrate", payload: '{}', timeout: 15}
    retry: {attempts: 1}
    concurrency: {key: "db", limit: 2}
"""


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def run_on(bot: Bot, action: str, service: str | None, user: str = "U0DEV") -> dict:
    view = bot.open_form(action, user_id=user)
    answers = {"service": service} if service else {}
    response = bot.submit(view, answers, user_id=user)
    assert response.status_code == 200, response.text
    return json.loads(response.text) if response.text else {}


def wait_status(store: Store, count: int, status: str, timeout: float = 15) -> list[Run]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in store.runs(limit=50) if r.status == status]
        if len(runs) >= count:
            return runs
        time.sleep(0.05)
    raise AssertionError(f"expected {count} {status}: {[r.status for r in store.runs()]}")


def test_queue_waits_its_turn_and_says_for_whom(locked: Bot) -> None:
    hold = threading.Event()
    locked.receiver.reply("/deploy/checkout-api", hold=hold, times=1)
    run_on(locked, "deploy", "checkout-api", user="U0OWNER")
    locked.receiver.wait(1)
    run_on(locked, "deploy", "checkout-api")
    run_on(locked, "deploy", "search")  # another key: not held up
    locked.receiver.wait(2)
    waiting = locked.slack.wait_for(
        "chat.postMessage", lambda c: "Waiting for" in str(c.params.get("text"))
    )
    note = waiting[0].params
    assert note["thread_ts"] and "Waiting for the run by <@U0OWNER> on checkout-api" in note["text"]
    time.sleep(0.5)
    paths = [r.path for r in locked.receiver.requests()]
    assert paths.count("/deploy/checkout-api") == 1 and "/deploy/search" in paths
    hold.set()  # the first run ends: the second is sent at once, not at the next poll
    started = time.monotonic()
    locked.receiver.wait(3)
    assert time.monotonic() - started < 3
    runs = wait_status(locked.store, 3, "SUCCESS")
    assert all(r.status == "SUCCESS" for r in runs)
    with locked.store.session() as session:
        from sqlmodel import select

        from bot.store.models import RunLock

        assert list(session.exec(select(RunLock))) == []  # every slot was freed


def test_refuse_answers_the_form_with_the_holder_and_a_link(locked: Bot) -> None:
    hold = threading.Event()
    locked.receiver.reply("/deploy/checkout-api", hold=hold, times=1)
    run_on(locked, "deploy", "checkout-api", user="U0OWNER")
    locked.receiver.wait(1)
    locked.slack.wait_for("chat.postMessage")
    deadline = time.monotonic() + 5
    while not locked.store.runs()[0].permalink:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    permalink = locked.store.runs()[0].permalink
    # Rollback shares the key through its group, and refuses rather than queue.
    body = run_on(locked, "rollback", "checkout-api")
    shown = texts(body["view"]["blocks"])
    assert "checkout-api is busy" in shown and "@owen" in shown and permalink in shown
    assert [r.action_id for r in locked.store.runs()] == ["deploy"]  # nothing was queued
    # Another service is free.
    run_on(locked, "rollback", "search")
    hold.set()
    wait_status(locked.store, 2, "SUCCESS")
    body = run_on(locked, "rollback", "checkout-api")  # free again
    assert "busy" not in texts(body.get("view", {}).get("blocks", []))
    wait_status(locked.store, 3, "SUCCESS")


def test_limit_two_keeps_two_in_flight(locked: Bot) -> None:
    hold = threading.Event()
    locked.receiver.reply("/migrate", hold=hold)
    for _ in range(3):
        run_on(locked, "migrate", None)
    locked.receiver.wait(2)
    time.sleep(1)
    assert len(locked.receiver.requests("/migrate")) == 2
    hold.set()
    wait_status(locked.store, 3, "SUCCESS")
    assert len(locked.receiver.requests("/migrate")) == 3


def test_a_crashed_holders_lease_expires(tmp_path: Path) -> None:
    db = database_url(tmp_path)
    migrate(db)
    store = Store(db)
    first, second = (Run(action_id="deploy", user_id="U0DEV") for _ in range(2))
    for run in (first, second):
        assert store.create_run(run, {})
    key = "group:releases:checkout-api"
    assert store.take_lock(first.id, key, "checkout-api", 1, first.created_at, 0.3) is None
    [holder] = store.take_lock(second.id, key, "checkout-api", 1, second.created_at, 0.3) or []
    assert holder.run_id == first.id
    # The first holder's replica dies: nobody renews its lease, and the slot passes on.
    time.sleep(0.5)
    assert store.take_lock(second.id, key, "checkout-api", 1, second.created_at, 30) is None
    assert [h.run_id for h in store.lock_holders(key)] == [second.id]
    # Ending the run in any way frees the slot.
    assert store.finish_run(second.id, "CANCELLED", "cancelled", {}) is not None
    assert store.lock_holders(key) == []
    store.close()


def test_an_async_holder_keeps_its_slot_past_the_lease(tmp_path: Path) -> None:
    db = database_url(tmp_path)
    migrate(db)
    store = Store(db)
    first, second = (Run(action_id="deploy", user_id="U0DEV") for _ in range(2))
    for run in (first, second):
        assert store.create_run(run, {})
    assert store.take_lock(first.id, "k", "k", 1, first.created_at, 0.1) is None
    store.transition(first.id, "RUNNING", "accepted", {})  # its receiver reports back later
    time.sleep(0.3)
    assert store.take_lock(second.id, "k", "k", 1, second.created_at, 30)
    assert store.finish_run(first.id, "SUCCESS", "done", {})
    assert store.take_lock(second.id, "k", "k", 1, second.created_at, 30) is None
    store.close()


def test_concurrency_key_is_checked_at_load() -> None:
    document = {
        "teams": [{"id": "ops", "name": "Ops"}],
        "actions": [
            {
                "id": "deploy",
                "name": "Deploy",
                "owner": "ops",
                "webhook": {"url": "https://example.com"},
                "concurrency": {"key": "{{ nope.id }}", "when_busy": "later"},
            }
        ],
    }
    with pytest.raises(ConfigError) as caught:
        validate(document)
    assert any("actions[0].concurrency.when_busy" in e for e in caught.value.errors)
    document["actions"][0]["concurrency"] = {"key": "{{ nope.id }}"}
    with pytest.raises(ConfigError) as caught:
        validate(document)
    assert any(e.startswith("actions[0].concurrency.key") for e in caught.value.errors)
    second = {**document["actions"][0], "id": "rollback"}
    document["actions"][0]["concurrency"] = {"key": "x", "group": "deploys"}
    second["concurrency"] = {"key": "x", "group": "deploys", "limit": 2}
    document["actions"].append(second)
    with pytest.raises(ConfigError) as caught:
        validate(document)
    assert caught.value.errors == [
        "actions[1].concurrency.limit: group 'deploys' has limit 1 in actions[0]"
    ]


REPLICA_CONFIG = """
teams:
  - {id: ops, name: Ops, channel: C0OPS}
actions:
  - id: deploy
    name: Deploy
    owner: ops
    webhook: {url: "{receiver}/deploy", payload: '{}', timeout: 10}
    retry: {attempts: 1}
    concurrency: {key: "prod", limit: 2, when_busy: queue}
"""


def test_two_replicas_racing_keep_exactly_the_limit_in_flight(tmp_path: Path) -> None:
    delay, count = 0.4, 10
    with FakeSlack() as slack, Receiver() as receiver:
        config = tmp_path / "actions.yml"
        config.write_text(REPLICA_CONFIG.replace("{receiver}", receiver.url))
        db = database_url(tmp_path)
        migrate(db)
        store = Store(db)
        for n in range(count):
            run = Run(
                action_id="deploy", user_id="U0DEV", channel_id="C0CHAN", idempotency_key=f"r{n}"
            )
            assert store.create_run(run, {}, [Job(kind="announce"), Job(kind="deliver")])
        receiver.reply("/deploy", delay=delay)
        bots = [BotProcess(db, config, slack), BotProcess(db, config, slack)]
        try:
            runs = wait_final(store, count=count, timeout=90)
            assert {r.status for r in runs} == {"SUCCESS"}
            arrivals = sorted(r.time for r in receiver.requests("/deploy"))
            assert len(arrivals) == count  # each run sent once
            # A request is in flight from its arrival until the receiver answers.
            in_flight = max(
                sum(1 for other in arrivals if other <= t < other + delay - 0.05) for t in arrivals
            )
            assert in_flight == 2
        finally:
            for bot in bots:
                bot.stop()
            store.close()


def test_lease_renewed_while_the_worker_holds_the_job(tmp_path: Path) -> None:
    db = database_url(tmp_path)
    migrate(db)
    store = Store(db)
    run = Run(action_id="deploy", user_id="U0DEV")
    assert store.create_run(run, {}, [Job(kind="deliver")])
    [job] = store.claim("worker-1", 1, 30)
    assert store.take_lock(run.id, "k", "k", 1, run.created_at, 0.1) is None
    store.extend("worker-1", [job.id or 0], 30)  # what the worker does while it works
    time.sleep(0.3)
    other = Run(action_id="deploy", user_id="U0DEV")
    assert store.create_run(other, {})
    [holder] = store.take_lock(other.id, "k", "k", 1, utcnow() + timedelta(seconds=1), 30) or []
    assert holder.run_id == run.id
    store.close()


def replica_world(tmp_path: Path, receiver: Receiver, when_busy: str) -> tuple[str, Path, Store]:
    config = tmp_path / "actions.yml"
    text = REPLICA_CONFIG.replace("{receiver}", receiver.url)
    config.write_text(text.replace("when_busy: queue", f"when_busy: {when_busy}"))
    db = database_url(tmp_path)
    migrate(db)
    return db, config, Store(db)


def test_two_replicas_racing_with_refuse_send_only_the_limit(tmp_path: Path) -> None:
    with FakeSlack() as slack, Receiver() as receiver:
        db, config, store = replica_world(tmp_path, receiver, "refuse")
        receiver.reply("/deploy", delay=3)
        # Admitted on both replicas in the same instant: the database decides.
        for n in range(6):
            run = Run(
                action_id="deploy", user_id="U0DEV", channel_id="C0CHAN", idempotency_key=f"r{n}"
            )
            assert store.create_run(run, {}, [Job(kind="announce"), Job(kind="deliver")])
        bots = [BotProcess(db, config, slack), BotProcess(db, config, slack)]
        try:
            runs = wait_final(store, count=6, timeout=60)
            statuses = sorted(r.status for r in runs)
            assert len(receiver.requests("/deploy")) == 2  # limit 2
            assert statuses == ["FAILURE"] * 4 + ["SUCCESS"] * 2
            refused = [r for r in runs if r.status == "FAILURE"]
            assert all("prod is busy with the run by" in r.summary for r in refused)
        finally:
            for bot in bots:
                bot.stop()
            store.close()


def test_a_killed_holders_slot_is_released(tmp_path: Path) -> None:
    with FakeSlack() as slack, Receiver() as receiver:
        db, config, store = replica_world(tmp_path, receiver, "queue")
        receiver.reply("/deploy", delay=8, times=2)  # two holders, stuck in flight
        first = BotProcess(db, config, slack)
        for n in range(3):
            run = Run(
                action_id="deploy", user_id="U0DEV", channel_id="C0CHAN", idempotency_key=f"r{n}"
            )
            assert store.create_run(run, {}, [Job(kind="announce"), Job(kind="deliver")])
        first.requests.close()
        receiver.wait(2, timeout=15)
        first.kill()  # the holders' replica dies with both slots taken
        second = BotProcess(db, config, slack)
        try:
            runs = wait_final(store, count=3, timeout=60)
            # The dead replica's runs end (their POSTs' results are unknown), which frees
            # the slots; the third run, queued behind them, is sent.
            assert sorted(r.status for r in runs) == ["FAILURE", "FAILURE", "SUCCESS"]
            assert len(receiver.requests("/deploy")) == 3
            with store.session() as session:
                from sqlmodel import select

                from bot.store.models import RunLock

                assert list(session.exec(select(RunLock))) == []
        finally:
            second.stop()
            store.close()


def test_home_lists_the_locks_my_runs_hold_or_wait_for(locked: Bot) -> None:
    hold = threading.Event()
    locked.receiver.reply("/deploy/checkout-api", hold=hold, times=1)
    assert "My access and locks" not in texts(home(locked)["blocks"])
    run_on(locked, "deploy", "checkout-api", user="U0OWNER")
    locked.receiver.wait(1)
    run_on(locked, "deploy", "checkout-api")
    locked.slack.wait_for("chat.postMessage", lambda c: "Waiting for" in str(c.params.get("text")))
    mine = next(r for r in locked.store.runs() if r.user_id == "U0DEV")
    # The waiting run: what, on which key, since when, with its Details button.
    section = access_blocks(home(locked))
    shown = texts(section)
    assert "*Deploy* is waiting for *checkout-api* since <!date^" in shown
    assert "holds" not in shown
    locks = [b for b in section if b.get("block_id", "").startswith("lock:")]
    assert [(b["block_id"], b["accessory"]["text"]["text"]) for b in locks] == [
        (f"lock:{mine.id}", "Details")
    ]
    assert locks[0]["accessory"]["value"] == mine.id
    # The holder's owner sees it held, and nothing of the other user's run.
    shown = texts(access_blocks(home(locked, "U0OWNER")))
    assert "*Deploy* holds *checkout-api* since <!date^" in shown and "waiting" not in shown
    assert mine.id not in json.dumps(home(locked, "U0OWNER"))
    hold.set()  # both end: nothing is held or waited for any more
    wait_status(locked.store, 2, "SUCCESS")
    for user in ("U0DEV", "U0OWNER"):
        assert "My access and locks" not in texts(home(locked, user)["blocks"])
