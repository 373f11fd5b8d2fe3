"""Scheduling from an action's form: "Schedule…" beside Run, in the user's time zone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.triggers import cron
from tests.conftest import Bot, start_bot
from tests.support import SCHEDULES_CONFIG as CONFIG
from tests.support import answer, at, texts


@pytest.fixture
def planner(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def schedule_modal(bot: Bot, user: str = "U0OWNER", env: str = "staging") -> dict:
    """Open rotate-keys' form, choose the env, click Schedule…: the pushed modal."""
    form = bot.open_form("rotate-keys", user_id=user)
    assert "Schedule…" in texts(form["blocks"])
    form["state"] = {"values": bot.requests.values_for(form, {"input:env": env})}
    before = len(bot.slack.calls("views.push"))
    response = bot.requests.block_action(
        "schedule_form", value="schedule", user_id=user, channel_id=None, view=form
    )
    assert response.status_code == 200
    bot.slack.wait_for("views.push", count=before + 1)
    return bot.slack.last_view()


def submit(bot: Bot, view: dict, answers: dict, user: str = "U0OWNER") -> dict:
    values = bot.requests.values_for(view, answers)
    response = bot.requests.view_submission(view, values, user_id=user)
    assert response.status_code == 200
    return json.loads(response.text)


def test_weekly_in_the_users_time_zone_then_it_fires(planner: Bot) -> None:
    planner.slack.users["U0OWNER"].tz = "America/New_York"
    modal = schedule_modal(planner)
    assert "America/New_York" in texts(modal["blocks"])
    body = submit(planner, modal, {"when": "weekly", "time": "06:30", "weekday": "TUE"})
    assert body["response_action"] == "update"
    assert "Scheduled *Rotate keys*" in texts(body["view"]["blocks"])
    [mine] = [s for s in planner.store.schedules("U0OWNER") if not s.from_config]
    assert (mine.cron, mine.timezone, mine.inputs) == (
        "30 6 * * TUE",
        "America/New_York",
        {"env": "staging"},
    )
    assert mine.channel_id == "C0CHAN" and mine.next_at is not None
    local = mine.next_at.astimezone(cron.zone("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (1, 6, 30)
    # It is a schedule like the others: it fires as its owner.
    assert at(planner, mine.next_at) == 1
    request = planner.receiver.wait(1)[0]
    assert json.loads(request.body) == {"env": "staging", "by": "U0OWNER"}


def test_once_at_a_date_and_time(planner: Bot) -> None:
    modal = schedule_modal(planner)
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    submit(planner, modal, {"when": "once", "date": day.isoformat(), "time": "09:15"})
    [mine] = [s for s in planner.store.schedules("U0OWNER") if not s.from_config]
    assert mine.cron is None and mine.next_at == datetime.combine(
        day, datetime.min.time().replace(hour=9, minute=15), tzinfo=UTC
    )


def test_bad_choices_are_refused_with_the_field_named(planner: Bot) -> None:
    modal = schedule_modal(planner)
    body = submit(planner, modal, {"when": "cron", "cron": "0 25 * * *"})
    assert body["response_action"] == "errors"
    assert body["errors"]["cron"].startswith("Cron: Error validating expression '25'")
    body = submit(planner, modal, {"when": "once", "date": "2020-01-01", "time": "10:00"})
    assert body["errors"] == {"date": "That time has passed."}
    body = submit(planner, modal, {"when": "weekly", "time": "10:00"})
    assert body["errors"] == {"weekday": "Choose a day."}
    assert [s for s in planner.store.schedules() if not s.from_config] == []


def test_refused_inputs_are_not_scheduled(planner: Bot) -> None:
    modal = schedule_modal(planner, env="nope")
    body = submit(planner, modal, {"when": "daily", "time": "10:00"})
    assert "Not scheduled" in texts(body["view"]["blocks"])
    assert [s for s in planner.store.schedules() if not s.from_config] == []


def test_delete_a_schedule_made_in_slack(planner: Bot) -> None:
    submit(planner, schedule_modal(planner), {"when": "hourly", "time": "00:05"})
    shown = answer(planner, lambda: planner.requests.command("/actions", "schedules", "U0OWNER"))
    value = next(
        e["value"]
        for b in shown["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "schedule_delete"
    )
    answer(
        planner,
        lambda: planner.requests.block_action("schedule_delete", value=value, user_id="U0OWNER"),
    )
    assert [s for s in planner.store.schedules() if not s.from_config] == []
