"""Helpers the test modules share: driving the bot and reading what people see.

Here rather than in one test module, so that a test never imports another test module.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bot.catalog import Action, Catalog
from bot.config import ConfigError, validate
from bot.playground import Playground, build
from bot.settings import Settings
from bot.store import Run, Store
from tests import samples
from tests.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Bot,
    Modals,
    free_port,
)
from tests.fakes import FakeSlack, SlackRequests

ROOT = Path(__file__).resolve().parents[1]


APPROVALS_CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER, U0DEV], channel: C0PAY}
  - {id: sre, name: SRE, members: [U0SRE1, U0SRE2], channel: C0SRE}
services:
  - {id: checkout-api, name: Checkout API, owner: payments}
actions:
  - id: prod-deploy
    name: Deploy to prod
    owner: payments
    approval: {approvers: {teams: [sre]}, channel: C0APPROVE}
    webhook:
      url: "{receiver}/deploy"
      payload: '{"approvers": {{ approval.approvers | json }}, "why": {{ manualInputs.why | json }}}'
    inputs:
      - {identifier: why, displayName: Why, type: text_input, required: true}
  - id: two-keys
    name: Two keys
    owner: payments
    approval: {approvers: {users: [U0SRE1, U0SRE2, U0DEV]}, count: 2, channel: C0APPROVE}
    webhook: {url: "{receiver}/two"}
  - id: self-ok
    name: Self approval
    owner: payments
    approval: {approvers: {users: [U0DEV]}, allow_self_approval: true}
    webhook: {url: "{receiver}/self"}
  - id: quick-expiry
    name: Quick expiry
    owner: payments
    approval: {approvers: {teams: [sre]}, expires_after: 1s, channel: C0APPROVE}
    webhook: {url: "{receiver}/never"}
  - id: grant-access
    name: Grant access
    owner: payments
    expires:
      after: "{{ manualInputs.duration }}"
      max: 2h
      webhook:
        url: "{receiver}/revoke"
        payload: '{"revert_of": {{ run.parent_id | json }}, "expired": {{ expires_at | json }}, "role": {{ manualInputs.role | json }}}'
    retry: {attempts: 1}
    webhook: {url: "{receiver}/grant", payload: '{"role": {{ manualInputs.role | json }}}'}
    inputs:
      - {identifier: role, displayName: Role, type: dropdown, values: [admin, reader], defaultValue: reader}
      - {identifier: duration, displayName: For, type: duration, required: true}
  - id: locked-grant
    name: Approved grant
    owner: payments
    approval: {approvers: {teams: [sre]}, channel: C0APPROVE}
    expires: {after: 30m, max: 2h, webhook: {url: "{receiver}/unlock"}}
    webhook: {url: "{receiver}/lock"}
"""


def texts(blocks: list[dict]) -> str:
    """Everything a person would read in some blocks, as one string."""
    out = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                out.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def wait(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def request_message(bot: Bot, channel: str = "C0APPROVE") -> dict:
    wait(lambda: bot.slack.messages(channel), what="the approval request")
    return bot.slack.messages(channel)[0]


def click(bot: Bot, action_id: str, run_id: str, user: str, channel: str = "C0APPROVE") -> None:
    response = bot.requests.block_action(action_id, value=run_id, user_id=user, channel_id=channel)
    assert response.status_code == 200


def admin_says(bot: Bot, text: str, user: str = "U0ADMIN") -> dict:
    before = len(bot.slack.calls("response_url"))
    response = bot.requests.command("/actions-admin", text=text, user_id=user)
    assert response.status_code == 200
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params


def shown(message: dict) -> str:
    return message.get("text", "") + "\n" + texts(message.get("blocks") or [])


def open_modal(bot: Bot, text: str) -> dict:
    modals = Modals.before(bot.slack)
    bot.requests.command("/actions-admin", text=text, user_id="U0ADMIN")
    return modals.opened()


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[1],
    )


def run_action(bot: Bot, action_id: str) -> dict:
    view = bot.open_form(action_id)
    response = bot.submit(view, {})
    assert response.status_code == 200, response.text
    return view


def thread_texts(bot: Bot, channel: str = "C0CHAN") -> list[str]:
    status = bot.slack.messages(channel)[0]
    return [
        m["text"] + "\n" + texts(m.get("blocks") or [])
        for m in bot.slack.thread(channel, status["ts"])
    ]


def final_status(bot: Bot, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = bot.store.runs()
        if runs and runs[0].final and not bot.store.pending_jobs(runs[0].id):
            return runs[0].status
        time.sleep(0.05)
    runs = bot.store.runs()
    raise AssertionError(f"run did not finish: {runs} {bot.store.pending_jobs(runs[0].id)}")


def wait_final(store: Store, count: int = 1, timeout: float = 30) -> list[Run]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = store.runs(limit=count + 10)
        if (
            len(runs) >= count
            and all(r.final for r in runs)
            and not [j for j in store.pending_jobs() if j.kind != "deadline"]
        ):
            return runs
        time.sleep(0.1)
    raise AssertionError(f"not final: {store.runs()} {store.pending_jobs()}")


class BotProcess:
    """`python -m bot` in HTTP mode, as deployed."""

    def __init__(
        self, db: str, config: Path, slack: FakeSlack, extra: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        env = {
            "PATH": os.environ["PATH"],
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": db,
            "ACTIONS_CONFIG": str(config),
            "WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
            "JOB_LEASE_SECONDS": "2",
            "PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
            **(extra or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.requests = SlackRequests(
            f"http://127.0.0.1:{self.port}/slack/events", SIGNING_SECRET, slack
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.process.communicate()[0]
            assert time.monotonic() < deadline, "bot did not become healthy"
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{self.port}/readyz", trust_env=False).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        output = self.process.communicate(timeout=20)[0]
        self.requests.close()
        return output


ASYNC_CONFIG = """
teams: [{id: platform, name: Platform, channel: C0PLATFORM}]
actions:
  - id: async-job
    name: Async job
    owner: platform
    async: true
    webhook: {url: "http://127.0.0.1:{port}/playground/echo/async", payload: '{"n": 1}'}
    response_template: "Finished: {{ response.body.key }}"
  - id: failing
    name: Failing
    owner: platform
    retry: {attempts: 1}
    webhook: {url: "http://127.0.0.1:{port}/playground/echo/fail", payload: '{"n": 2}'}
  - id: grant
    name: Grant a role
    owner: platform
    webhook: {url: "https://access.example.com/grants", payload: '{"role": {{ manualInputs.role | json }}}'}
    inputs:
      - {identifier: role, displayName: Role, type: dropdown, required: true,
         values_from: {url: "https://access.example.com/roles?for={{ user.id }}"}}
    expires:
      after: 1h
      webhook: {url: "https://access.example.com/grants/{{ run.parent_id }}", method: DELETE}
"""


@dataclass
class Running:
    """A playground served on a free port in this process, and a client for its routes."""

    url: str
    pg: Playground
    http: httpx.Client

    def state(self, user: str = "U0DEV") -> dict[str, Any]:
        return self.http.get("/playground/state", params={"user": user}).json()

    def until(
        self, check: Callable[[dict[str, Any]], Any], user: str = "U0DEV", timeout: float = 10
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(user)
            found = check(state)
            if found:
                return found
            assert time.monotonic() < deadline, "the playground did not get there in time"
            time.sleep(0.05)

    def run_detail(self, run_id: str) -> dict[str, Any]:
        return self.http.get(f"/playground/runs/{run_id}").json()

    def slack_log(self) -> list[dict[str, Any]]:
        return self.http.get("/playground/log").json()


def serve(base: Settings, port: int) -> Iterator[Running]:
    pg = build(base, port=port)
    server = uvicorn.Server(
        uvicorn.Config(
            pg.app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and pg.runtime.ready):
        assert thread.is_alive(), "the playground failed to start"
        assert time.monotonic() < deadline, "the playground did not start in time"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, trust_env=False, timeout=20)
    try:
        yield Running(url, pg, http)
    finally:
        http.close()
        pg.workspace.closing = True
        server.should_exit = True
        thread.join(timeout=15)


# One more action next to the examples: a form with every input type the bot supports.
EVERY_INPUT = """
id: every-input
name: Every input type
description: One input of each type the forms support
owner: platform
webhook:
  url: https://hooks.example.com/every/{{ user.id }}
  payload: '{{ manualInputs | json }}'
inputs:
  - {identifier: text, displayName: Text, type: text_input, required: true, maxLength: 40}
  - {identifier: area, displayName: Area, type: text_area}
  - {identifier: pick, displayName: Pick, type: dropdown, values: [a, b]}
  - {identifier: many, displayName: Many, type: multi_select, values: [x, y, z]}
  - {identifier: count, displayName: Count, type: number, min: 1, max: 10, integer: true}
  - {identifier: ratio, displayName: Ratio, type: number}
  - {identifier: ok, displayName: Sure?, type: checkbox, description: I am sure}
  - {identifier: boxes, displayName: Boxes, type: checkboxes, values: [one, two]}
  - {identifier: radio, displayName: Radio, type: radio, values: [left, right]}
  - {identifier: day, displayName: Day, type: date}
  - {identifier: at, displayName: At, type: time}
  - {identifier: when, displayName: When, type: datetime}
  - {identifier: who, displayName: Who, type: user}
  - {identifier: whom, displayName: Whom, type: users}
  - {identifier: where, displayName: Where, type: channel}
  - {identifier: mail, displayName: Mail, type: email}
  - {identifier: link, displayName: Link, type: url}
  - {identifier: token, displayName: Token, type: secret}
  - {identifier: svc, displayName: Which service, type: dropdown, binding: {resource: services}}
  - {identifier: squads, displayName: Squads, type: multi_select, binding: {resource: teams}}
"""


def modal(title: str) -> dict[str, Any]:
    """A small valid modal titled ``title``."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": title}}],
    }


def edit_values(**fields: str) -> dict:
    values = {}
    for key, value in fields.items():
        if key in ("owner", "scope", "access", "method"):
            values[key] = {key: {"type": "static_select", "selected_option": {"value": value}}}
        else:
            values[key] = {key: {"type": "plain_text_input", "value": value}}
    return values


def thread_text(bot: Bot, channel: str = "C0CHAN") -> str:
    status = bot.slack.messages(channel)[0]
    return "\n".join(
        m["text"] + " " + texts(m.get("blocks") or [])
        for m in bot.slack.thread(channel, status["ts"])
    )


def status_message(bot: Bot, channel: str = "C0CHAN") -> dict:
    """The run's status message as it stands now (edited in place)."""
    wait(lambda: bot.slack.messages(channel), what="the status message")
    return bot.slack.messages(channel)[0]


def home(bot: Bot, user: str = "U0DEV") -> dict:
    """Open the Home tab and return what was published."""

    def mine(call: Any) -> bool:
        return call.params.get("user_id") == user

    count = len([c for c in bot.slack.calls("views.publish") if mine(c)])
    bot.requests.event({"type": "app_home_opened", "user": user, "tab": "home"})
    return bot.slack.wait_for("views.publish", mine, count=count + 1)[count].params["view"]


def access_blocks(view: dict) -> list[dict]:
    """The blocks of the "My access and locks" section."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if "My access and locks" in texts([b]))
    end = next(
        (i for i, b in enumerate(blocks) if i > start and b["type"] in ("divider", "header")),
        len(blocks),
    )
    return blocks[start:end]


def buttons(message: dict) -> list[str]:
    return [
        e["text"]["text"]
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
    ]


def extend_by(bot: Bot, modal: dict, seconds: str) -> Any:
    return bot.requests.view_submission(
        modal, bot.requests.values_for(modal, {"duration": seconds})
    )


API_CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER, U0DEV], channel: C0PAY}
  - {id: sre, name: SRE, members: [U0SRE1, U0SRE2], channel: C0SRE}
services:
  - {id: checkout-api, name: Checkout API, owner: payments}
actions:
  - id: lock-deploys
    name: Lock deploys
    description: Stops deploys of a service
    owner: payments
    scope: service
    agents: true
    rate_limit: 3/m
    webhook:
      url: "{receiver}/lock"
      payload: '{"service": {{ service.id | json }}, "reason": {{ manualInputs.reason | json }}, "minutes": {{ manualInputs.minutes | json }}}'
    inputs:
      - {identifier: reason, displayName: Reason, type: text_input, required: true, maxLength: 40}
      - {identifier: minutes, displayName: Minutes, type: number, min: 1, max: 120, integer: true}
      - {identifier: token, displayName: Token, type: secret}
  - id: prod-deploy
    name: Deploy to prod
    owner: payments
    agents: true
    approval: {approvers: {teams: [sre]}, channel: C0APPROVE}
    webhook: {url: "{receiver}/deploy"}
    inputs:
      - {identifier: region, displayName: Region, type: dropdown, values: [eu-west, us-east]}
  - id: rollback
    name: Roll back
    description: Rolls back the last deploy
    owner: payments
    agents: true
    approval: {required: false, agents: required, approvers: {teams: [sre]}, channel: C0APPROVE}
    webhook: {url: "{receiver}/rollback"}
  - id: admin-only
    name: Admin only
    owner: payments
    access: admins
    webhook: {url: "{receiver}/admin"}
  - id: in-ops
    name: Ops channel only
    owner: payments
    channels: [C0OPS]
    webhook: {url: "{receiver}/ops"}
  - id: slack-only
    name: Slack only
    owner: payments
    api: false
    webhook: {url: "{receiver}/slack-only"}
"""


ALL_SCOPES = ["actions:read", "runs:read", "runs:write"]


def token(bot: Bot, user: str = "U0DEV", scopes: list[str] = ALL_SCOPES, name: str = "ci") -> str:
    value, _ = bot.runtime.tokens.create(
        user_id=user, name=name, scopes=scopes, expires="30d", by=user
    )
    return value


SCHEDULES_CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: sre, name: SRE, members: [U0OWNER], channel: C0SRE}
actions:
  - id: rotate-keys
    name: Rotate keys
    owner: sre
    webhook: {url: "{receiver}/rotate", payload: '{"env": {{ inputs.env | json }}, "by": {{ user.id | json }}}'}
    inputs:
      - {identifier: env, displayName: Env, type: dropdown, values: [staging, production]}
  - id: purge
    name: Purge caches
    owner: sre
    access: admins
    webhook: {url: "{receiver}/purge"}
schedules:
  - {id: weekly-rotate, action: rotate-keys, cron: "*/5 * * * *", timezone: Europe/Berlin,
     inputs: {env: staging}, as: U0OWNER, channel: C0SRE}
  - {id: once, action: rotate-keys, at: "2030-01-01T09:00:00", timezone: Europe/Berlin,
     inputs: {env: production}, as: U0OWNER, channel: C0SRE}
  - {id: nightly-purge, action: purge, cron: "0 3 * * *", as: U0DEV, channel: C0SRE}
"""


def at(bot: Bot, moment: datetime) -> int:
    """Tick the bot's schedules as if the clock showed ``moment``."""
    bot.runtime.schedules.clock = lambda: moment
    return asyncio.run(bot.runtime.schedules.tick())


def answer(bot: Bot, send: object) -> dict:
    """What the user sees after a command or click: the next response_url post."""
    before = len(bot.slack.calls("response_url"))
    response = send() if callable(send) else send
    assert response.status_code == 200
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params


def errors_of(document: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate(document, source="actions.yml")
    assert caught.value.errors, "a ConfigError must list at least one error"
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


def with_change(change: Callable[[dict[str, Any]], Any]) -> list[str]:
    doc = samples.issue_document()
    change(doc)
    return errors_of(doc)


def first_action(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["actions"][0]


def catalog_with(*actions: dict[str, Any], admins: dict[str, Any] | None = None) -> Catalog:
    doc = samples.document(list(actions), teams=TEAMS, services=SERVICES)
    doc["admins"] = admins or {"users": ["U0ADMIN"]}
    return samples.catalog(doc)


def the(catalog: Catalog, action_id: str = "do-it") -> Action:
    action = catalog.action(action_id)
    assert action is not None
    return action


def run_bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**clean_environ(), "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


TEAMS = [
    samples.team("payments", members=["U0PAY"], channel="C0PAY"),
    samples.team("search", members=["U0SEARCH"], channel="C0SEARCH"),
]


SERVICES = [
    samples.service("checkout-api", name="Checkout API", owner="payments", tier=1),
    samples.service("ledger", name="Ledger", owner="payments", tier=2),
    samples.service("search-api", name="Search API", owner="search", tier=2),
]


def clean_environ() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in Settings.model_fields and not k.startswith("ACTIONS_SECRET_")
    }
