"""Chains: a finished run starts its on_success / on_failure action, in the same thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, validate
from bot.store import Store
from tests.conftest import Bot, start_bot
from tests.samples import shown

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: sre, name: SRE, members: [U0OWNER], channel: C0SRE}
services:
  - {id: checkout-api, name: Checkout API, owner: sre}
actions:
  - id: rollback
    name: Rollback
    owner: sre
    scope: service
    webhook: {url: "{receiver}/rollback/{{ service.id }}", payload: '{}'}
    retry: {attempts: 1}
    on_success:
      action: notify
      inputs: {text: "{{ service.name }} is back on {{ response.body.version }}"}
    on_failure:
      action: page
      inputs: {why: "rollback failed with HTTP {{ response.status }}: {{ response.body.error }}"}
  - id: notify
    name: Notify
    owner: sre
    scope: service
    webhook: {url: "{receiver}/notify", payload: '{"text": {{ inputs.text | json }}}'}
    inputs:
      - {identifier: text, displayName: Text, type: text_input, required: true}
  - id: page
    name: Page the owner
    owner: sre
    access: admins
    webhook: {url: "{receiver}/page", payload: '{"why": {{ inputs.why | json }}}'}
    inputs:
      - {identifier: why, displayName: Why, type: text_input, required: true}
"""


@pytest.fixture
def chained(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


def start(bot: Bot, user: str) -> None:
    view = bot.open_form("rollback", user_id=user)
    response = bot.submit(view, {"service": "checkout-api"}, user_id=user)
    assert response.status_code == 200, response.text


def wait_runs(store: Store, count: int, timeout: float = 15) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = store.runs()
        if len(runs) >= count and all(r.final for r in runs):
            return runs
        time.sleep(0.05)
    raise AssertionError(f"runs: {[(r.action_id, r.status) for r in store.runs()]}")


def test_success_starts_the_next_step_in_the_same_thread(chained: Bot) -> None:
    chained.receiver.reply("/rollback/checkout-api", body={"version": "v41"})
    start(chained, "U0DEV")
    [sent] = chained.receiver.wait(2)[1:]
    assert sent.path == "/notify"
    assert json.loads(sent.body) == {"text": "Checkout API is back on v41"}
    runs = wait_runs(chained.store, 2)
    first = next(r for r in runs if r.action_id == "rollback")
    step = next(r for r in runs if r.action_id == "notify")
    assert step.user_id == "U0DEV" and step.parent_id == first.id and step.service_id
    assert step.thread_ts == first.message_ts
    # The thread shows the steps: the note, then the step's own status message in it.
    chained.slack.wait_for("chat.postMessage", lambda c: "Notify succeeded" in str(c.params))
    in_thread = [
        c.params for c in chained.slack.calls("chat.postMessage") if c.params.get("thread_ts")
    ]
    assert all(p["thread_ts"] == first.message_ts for p in in_thread)
    assert any("Step 2: *Notify*" in shown(p) for p in in_thread)  # as the thread shows it
    assert chained.receiver.requests("/page") == []


def test_failure_branch_runs_with_its_own_access_check(chained: Bot) -> None:
    chained.receiver.reply("/rollback/checkout-api", status=500, body={"error": "stuck"})
    start(chained, "U0ADMIN")  # an admin: the page step is theirs to run
    [sent] = chained.receiver.wait(2)[1:]
    assert sent.path == "/page"
    assert json.loads(sent.body) == {"why": "rollback failed with HTTP 500: stuck"}
    assert chained.receiver.requests("/notify") == []


def test_a_step_the_user_may_not_run_is_refused_in_the_thread(chained: Bot) -> None:
    chained.receiver.reply("/rollback/checkout-api", status=500, body={"error": "stuck"})
    start(chained, "U0DEV")  # not an admin: the page step is refused, and says so
    note = chained.slack.wait_for(
        "chat.postMessage", lambda c: "did not start" in shown(c.params), timeout=10
    )
    assert "Step 2, *Page the owner*, did not start: only admins" in shown(note[-1].params)
    time.sleep(0.3)
    assert [r.path for r in chained.receiver.requests()] == ["/rollback/checkout-api"]
    assert len(chained.store.runs()) == 1


def document(*steps: tuple[str, str]) -> dict:
    names = sorted({n for pair in steps for n in pair})
    actions = [
        {"id": n, "name": n, "owner": "sre", "webhook": {"url": "https://example.com"}}
        for n in names
    ]
    for source, target in steps:
        action = next(a for a in actions if a["id"] == source)
        action["on_success"] = {"action": target}
    return {"teams": [{"id": "sre", "name": "SRE"}], "actions": actions}


def errors_of(doc: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate(doc)
    return caught.value.errors


def test_cycles_and_deep_chains_are_refused_at_load() -> None:
    errors = errors_of(document(("a", "b"), ("b", "a")))
    assert "actions[0].on_success: the chain loops: a → b → a" in errors
    deep = [(f"s{i}", f"s{i + 1}") for i in range(6)]  # s0 → … → s6: six steps after s0
    errors = errors_of(document(*deep))
    assert errors[0].startswith("actions[0].on_success: the chain is deeper than 5 steps")
    assert validate(document(*deep[1:]))  # five steps are fine
    bad = document(("a", "b"))
    bad["actions"][0]["on_success"] = {"action": "nope"}
    assert errors_of(bad) == ["actions[0].on_success.action: unknown action 'nope'"]
    bad["actions"][0]["on_success"] = {"action": "b", "inputs": {"x": "{{ response.nah }}"}}
    assert "actions[0].on_success.inputs.x: not an input of 'b'" in errors_of(bad)
