"""Schedules: firing as the owner, once across replicas (threads and processes), misfires,
pause, lost access."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, validate
from bot.store import Store, migrate
from bot.store.models import Schedule, utcnow
from bot.triggers import cron
from bot.triggers.schedules import Schedules
from tests.conftest import Bot, database_url, start_bot
from tests.fakes import FakeSlack, Receiver
from tests.support import SCHEDULES_CONFIG as CONFIG
from tests.support import BotProcess, answer, at, texts, wait_final


@pytest.fixture
def scheduled(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def schedule(bot: Bot, name: str):  # type: ignore[no-untyped-def]
    found = bot.store.get_schedule("config:" + name)
    assert found is not None
    return found


def test_recurring_fires_as_the_owner_once_per_firing(scheduled: Bot) -> None:
    first = schedule(scheduled, "weekly-rotate").next_at
    assert first is not None and first.minute % 5 == 0 and first > utcnow() - timedelta(minutes=1)
    assert at(scheduled, first + timedelta(seconds=1)) == 1
    assert at(scheduled, first + timedelta(seconds=2)) == 0  # claimed: not again
    [request] = scheduled.receiver.wait(1)
    assert json.loads(request.body) == {"env": "staging", "by": "U0OWNER"}
    following = schedule(scheduled, "weekly-rotate").next_at
    assert following == first + timedelta(minutes=5)
    assert at(scheduled, following) == 1
    scheduled.receiver.wait(2)
    runs = scheduled.store.runs()
    assert {r.user_id for r in runs} == {"U0OWNER"} and {r.channel_id for r in runs} == {"C0SRE"}


def test_one_off_fires_once_at_its_local_time(scheduled: Bot) -> None:
    due = schedule(scheduled, "once").next_at
    assert due == datetime(2030, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert at(scheduled, due) == 1
    assert schedule(scheduled, "once").next_at is None
    assert at(scheduled, due + timedelta(days=1)) == 0
    assert json.loads(scheduled.receiver.wait(1)[0].body)["env"] == "production"


def test_misfire_within_grace_runs_once_beyond_is_skipped(scheduled: Bot) -> None:
    first = schedule(scheduled, "weekly-rotate").next_at
    assert first is not None
    # Down for 7 minutes: two firings missed, the first within the grace: one run.
    assert at(scheduled, first + timedelta(minutes=7)) == 1
    assert schedule(scheduled, "weekly-rotate").next_at == first + timedelta(minutes=10)
    # Down for an hour: skipped, recorded, and the next firing is in the future.
    later = first + timedelta(hours=1, minutes=1)
    assert at(scheduled, later) == 0
    [skipped] = scheduled.store.events(kind="schedule_skipped")
    assert skipped.detail["schedule"] == "config:weekly-rotate"
    assert schedule(scheduled, "weekly-rotate").next_at > later  # type: ignore[operator]
    time.sleep(0.5)
    assert len(scheduled.receiver.wait(1)) == 1


def test_pause_and_resume(scheduled: Bot) -> None:
    first = schedule(scheduled, "weekly-rotate").next_at
    assert first is not None
    scheduled.store.change_schedule("config:weekly-rotate", paused=True)
    assert at(scheduled, first) == 0
    scheduled.store.change_schedule("config:weekly-rotate", paused=False)
    assert at(scheduled, first) == 1
    scheduled.receiver.wait(1)


def test_an_owner_who_lost_access_pauses_the_schedule(scheduled: Bot) -> None:
    due = schedule(scheduled, "nightly-purge").next_at
    assert due is not None
    assert at(scheduled, due) == 1
    notice = scheduled.slack.wait_for(
        "chat.postMessage", lambda c: "is paused" in str(c.params.get("text")), timeout=10
    )[0].params
    assert notice["channel"] == "C0SRE" and "<@U0DEV>" in notice["text"]
    assert "only admins" in notice["text"]
    paused = schedule(scheduled, "nightly-purge")
    assert paused.paused and "can no longer run" in paused.note
    assert at(scheduled, due + timedelta(days=1)) == 0
    assert scheduled.receiver.requests("/purge") == []


def test_two_replicas_claim_each_firing_once(scheduled: Bot) -> None:
    due = schedule(scheduled, "weekly-rotate").next_at
    assert due is not None
    runtime = scheduled.runtime
    stores = [Store(runtime.settings.DATABASE_URL) for _ in range(2)]
    replicas = [
        Schedules(
            catalog=runtime.catalog,
            store=store,
            admission=runtime.admission,
            runner=runtime.runner,
            channels=runtime.notifier,
            clock=lambda: due,
        )
        for store in stores
    ]

    async def race() -> list[int]:
        return list(await asyncio.gather(*(r.tick() for r in replicas)))

    assert sorted(asyncio.run(race())) == [0, 1]
    scheduled.receiver.wait(1)
    time.sleep(0.5)
    assert len(scheduled.receiver.requests("/rotate")) == 1
    for store in stores:
        store.close()


def test_a_firing_missed_while_down_runs_once_on_start(tmp_path: Path) -> None:
    bots = start_bot(tmp_path, CONFIG)
    bot = next(bots)
    url = bot.runtime.settings.DATABASE_URL
    bot.runtime.worker.every(3600, bot.runtime.schedules.tick, "schedules")  # not meanwhile
    bot.store.change_schedule("config:weekly-rotate", next_at=utcnow() - timedelta(minutes=2))
    bot.store.change_schedule("config:once", next_at=utcnow() - timedelta(hours=2))
    bots.close()  # the bot stops; the firings come due while it is down
    (tmp_path / "again").mkdir()
    again = start_bot(tmp_path / "again", CONFIG, DATABASE_URL=url)
    restarted = next(again)
    try:
        [request] = restarted.receiver.wait(1, timeout=10)
        assert json.loads(request.body)["env"] == "staging"  # within the grace: once
        [skipped] = restarted.store.events(kind="schedule_skipped")  # beyond it: skipped
        assert skipped.detail["schedule"] == "config:once"
        time.sleep(0.5)
        assert len(restarted.receiver.requests()) == 1
    finally:
        again.close()


def test_schedules_are_checked_at_load() -> None:
    base = {
        "teams": [{"id": "sre", "name": "SRE"}],
        "actions": [{"id": "a", "name": "A", "owner": "sre", "webhook": {"url": "https://e.x"}}],
    }
    bad = [
        {"id": "s", "action": "a", "cron": "61 * * * *", "as": "U0OWNER"},
        {"id": "t", "action": "nope", "cron": "0 6 * * MON", "as": "U0OWNER"},
        {"id": "u", "action": "a", "cron": "0 6 * * MON", "timezone": "Mars/Base", "as": "U0X1"},
        {"id": "v", "action": "a", "as": "U0OWNER", "inputs": {"x": 1}},
    ]
    with pytest.raises(ConfigError) as caught:
        validate({**base, "schedules": bad})
    errors = caught.value.errors
    assert any(e.startswith("schedules[0].cron: Error validating expression '61'") for e in errors)
    assert "schedules[1].action: unknown action 'nope'" in errors
    assert "schedules[2].timezone: unknown time zone 'Mars/Base'" in errors
    assert "schedules[3].cron: give either cron (recurring) or at (once)" in errors
    assert "schedules[3].inputs.x: not an input of 'a'" in errors


def test_next_firings_follow_the_time_zone() -> None:
    start = cron.following("0 6 * * MON", "Europe/Berlin", datetime(2026, 7, 1, tzinfo=UTC))
    assert [t.hour for t in cron.upcoming("0 6 * * MON", "Europe/Berlin", start, 3)] == [4, 4, 4]


def click(bot: Bot, shown: dict, action_id: str, name: str, user: str) -> dict:
    value = next(
        e["value"]
        for b in shown["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id and e["value"].endswith(name)
    )
    return answer(bot, lambda: bot.requests.block_action(action_id, value=value, user_id=user))


def test_actions_schedules_lists_your_own_with_next_firings(scheduled: Bot) -> None:
    shown = answer(
        scheduled, lambda: scheduled.requests.command("/actions", "schedules", "U0OWNER")
    )
    text = texts(shown["blocks"])
    assert "weekly-rotate" in text and "once" in text and "nightly-purge" not in text
    first = schedule(scheduled, "weekly-rotate").next_at
    assert first is not None
    nexts = [first + timedelta(minutes=5 * i) for i in range(3)]
    for moment in nexts:
        local = moment.astimezone(cron.zone("Europe/Berlin"))
        assert f"{local:%H:%M} Europe/Berlin" in text
    # Pause, resume and run now, as its owner.
    shown = click(scheduled, shown, "schedule_pause", "weekly-rotate", "U0OWNER")
    assert schedule(scheduled, "weekly-rotate").paused and "Resume" in texts(shown["blocks"])
    shown = click(scheduled, shown, "schedule_resume", "weekly-rotate", "U0OWNER")
    assert not schedule(scheduled, "weekly-rotate").paused
    click(scheduled, shown, "schedule_run_now", "weekly-rotate", "U0OWNER")
    assert json.loads(scheduled.receiver.wait(1)[0].body) == {"env": "staging", "by": "U0OWNER"}
    # Someone else's click on a crafted button is refused.
    crafted = answer(
        scheduled,
        lambda: scheduled.requests.block_action(
            "schedule_pause", value="own|config:weekly-rotate", user_id="U0DEV"
        ),
    )
    assert "Only the schedule's owner and admins" in crafted["text"]
    assert not schedule(scheduled, "weekly-rotate").paused


def test_admins_see_every_schedule(scheduled: Bot) -> None:
    shown = answer(
        scheduled, lambda: scheduled.requests.command("/actions-admin", "schedules", "U0ADMIN")
    )
    text = texts(shown["blocks"])
    assert "weekly-rotate" in text and "nightly-purge" in text and "once" in text
    shown = click(scheduled, shown, "schedule_pause", "nightly-purge", "U0ADMIN")
    assert schedule(scheduled, "nightly-purge").paused
    assert "nightly-purge" in texts(shown["blocks"]) and "weekly-rotate" in texts(shown["blocks"])
    refused = answer(
        scheduled, lambda: scheduled.requests.command("/actions-admin", "schedules", "U0DEV")
    )
    assert "weekly-rotate" not in str(refused)


def test_the_schedule_list_and_the_shortcut_modal_are_valid_block_kit() -> None:
    from bot.catalog import Action
    from bot.slack.views import schedules as views
    from bot.slack.views.shortcut import picker_modal
    from bot.store.models import Schedule
    from tests.samples import action, message_ok, view_ok

    rows = [
        Schedule(id="config:a", action_id="x", owner="U0OWNER", cron="0 6 * * MON", paused=True),
        Schedule(id="b", action_id="y", owner="U0DEV", channel_id="C0SRE", timezone="Asia/Tokyo"),
    ]
    soon = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    found = views.schedule_blocks(rows, {"config:a": [soon], "b": []}, "own")
    message_ok(found)
    assert "Wed 01 Jan 2030" not in texts(found)  # the first is shown in its own zone: UTC
    assert "Tue 01 Jan 2030 08:00 UTC" in texts(found) and "no more firings" in texts(found)
    view_ok(picker_modal([Action.model_validate(action("a-" + str(i))) for i in range(60)], "m"))


REPLICAS_CONFIG = """
teams:
  - {id: sre, name: SRE, members: [U0OWNER], channel: C0SRE}
actions:
  - id: rotate-keys
    name: Rotate keys
    owner: sre
    retry: {attempts: 1}
    webhook: {url: "{receiver}/rotate", payload: '{"firing": {{ inputs.firing | json }}}'}
    inputs:
      - {identifier: firing, displayName: Firing, type: text_input}
"""


def start_replicas(db: str, config: Path, slack: FakeSlack) -> list[BotProcess]:
    """Two replicas started at the same moment, as a deploy does."""
    started: list[BotProcess | BaseException] = []

    def start() -> None:
        try:
            started.append(BotProcess(db, config, slack))
        except BaseException as exc:  # shown below, with the replica's output
            started.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    bots = [b for b in started if isinstance(b, BotProcess)]
    if len(bots) != 2:
        for bot in bots:
            bot.stop()
        raise AssertionError(f"a replica failed to start: {started}")
    return bots


def test_two_replica_processes_fire_each_firing_once_across_a_restart(tmp_path: Path) -> None:
    # Cron counts in minutes: the firings are one-off times, brought to a few seconds
    # ahead once the replicas run (a one-off already past when first loaded never fires).
    far = datetime(2030, 1, 1, tzinfo=UTC)
    schedules = "".join(
        f"  - {{id: f{n}, action: rotate-keys, at: '{far.isoformat()}', as: U0OWNER,"
        f" channel: C0SRE, inputs: {{firing: f{n}}}}}\n"
        for n in range(3)
    )
    with FakeSlack() as slack, Receiver() as receiver:
        config = tmp_path / "actions.yml"
        config.write_text(
            REPLICAS_CONFIG.replace("{receiver}", receiver.url) + "schedules:\n" + schedules
        )
        db = database_url(tmp_path)
        migrate(db)  # once, as a deploy does before the replicas start
        store = Store(db)
        # f0 came due while every replica was down: both start-up ticks race for it.
        missed = utcnow().replace(microsecond=0) - timedelta(seconds=30)
        store.add_schedule(
            Schedule(
                id="config:f0",
                action_id="rotate-keys",
                owner="U0OWNER",
                channel_id="C0SRE",
                inputs={"firing": "f0"},
                next_at=missed,
                from_config=True,
            )
        )
        bots = start_replicas(db, config, slack)

        def soon(n: int, seconds: int) -> datetime:
            due = utcnow().replace(microsecond=0) + timedelta(seconds=seconds)
            store.change_schedule(f"config:f{n}", next_at=due)
            return due

        try:
            [hit] = receiver.wait(1, timeout=10)
            assert hit.json() == {"firing": "f0"}
            dues = [missed, soon(1, 3)]
            receiver.wait(2, timeout=10)
            # One replica restarts between firings; the other fires f2 meanwhile or the
            # restarted one's start-up tick does: once either way.
            dues.append(soon(2, 4))
            assert "Traceback" not in bots[0].stop()
            bots[0] = BotProcess(db, config, slack)
            receiver.wait(3, timeout=10)
            wait_final(store, count=3, timeout=20)
            time.sleep(5.5)  # a tick more on each replica (every 5 s): nothing fires again
            fired = [h.json()["firing"] for h in receiver.requests("/rotate")]
            assert fired == ["f0", "f1", "f2"]
            runs = store.runs(limit=20)
            assert len(runs) == 3 and {r.status for r in runs} == {"SUCCESS"}
            assert {r.user_id for r in runs} == {"U0OWNER"}
            keys = sorted(r.idempotency_key or "" for r in runs)
            assert keys == [f"schedule:config:f{n}:{due.isoformat()}" for n, due in enumerate(dues)]
            for n in range(3):
                done = store.get_schedule(f"config:f{n}")
                assert done is not None and done.next_at is None and done.last_fired_at
            assert store.events(kind="schedule_skipped") == []
        finally:
            for bot in bots:
                bot.stop()
            store.close()
