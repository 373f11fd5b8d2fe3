"""Shared fixtures: the bot served over real HTTP, a fake Slack, a webhook receiver.

`TEST_DATABASE_URL` (e.g. postgresql://postgres@127.0.0.1:5432/test) runs everything on
PostgreSQL; the default is a fresh SQLite file per test.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from ruamel.yaml import YAML
from sqlalchemy import create_engine, text

from bot.config import load_file
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.store import sqlalchemy_url
from bot.web import create_web_app
from tests.fakes import FakeSlack, Receiver, SlackRequests

# Property-based tests: bounded and reproducible in `make test`; HYPOTHESIS_PROFILE=deep
# explores with fresh random examples, many more of them.
hypothesis_settings.register_profile(
    "bounded",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))

SIGNING_SECRET = "slack-signing-secret-for-tests"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BOT_TOKEN = "xoxb-test-token-123"
TRACKER_TOKEN = "tracker-token-s3cr3t-value"


@pytest.fixture(autouse=True, scope="session")
def _no_proxies() -> None:
    # slack_sdk honours HTTP(S)_PROXY even for loopback; tests talk to loopback only.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)


def database_url(tmp_path: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'actions.db'}"
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        # Start from an empty schema; migrations run when the bot starts.
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: payments, name: Payments, members: [U0OWNER], channel: C0PAY}
services:
  - {id: checkout-api, name: Checkout API, owner: payments, tier: 1, lifecycle: production,
     language: python, tags: {pd_id: P123}}
actions:
  - id: create-ticket
    name: Create ticket
    description: Opens a ticket in the tracker
    owner: payments
    scope: global
    access: everyone
    published: true
    webhook:
      url: {receiver}/api/tickets
      method: POST
      headers: {Content-Type: application/json, Authorization: "Bearer {{ 'TRACKER_TOKEN' | secret }}"}
      payload: |
        {"title": {{ manualInputs.title | json }}, "priority": {{ manualInputs.prio | json }}, "user": {{ user.id | json }}, "details": {{ manualInputs.details | json }}}
      timeout: 2
    retry: {attempts: 2, delay: 100ms}
    inputs:
      - {identifier: title, displayName: Title, type: text_input, required: true, maxLength: 80}
      - {identifier: details, displayName: Details, type: text_area, placeholder: What happened?}
      - {identifier: prio, displayName: Priority, type: dropdown, values: [low, high], defaultValue: low}
    response_template: |
      {% if response.status >= 200 and response.status < 300 %}## Ticket created
      Ticket **{{ response.body.key }}** created: [open it]({{ response.body.url }}){% else %}Failed with {{ response.status }}{% endif %}
  - id: restart
    name: Restart service
    description: Rolling restart of a service
    owner: payments
    scope: service
    access: admins
    webhook:
      url: {receiver}/restart/{{ service.id }}
      payload: '{"service": {{ service.name | json }}, "pd": {{ service | tag_value: "pd_id" | json }}, "owner": {{ service.owner.name | json }}}'
  - id: broken-json
    name: Broken JSON
    owner: payments
    webhook:
      url: {receiver}/broken
      headers: {Content-Type: application/json}
      payload: '{"title": "{{ manualInputs.title }}"}'
    inputs:
      - {identifier: title, displayName: Title, type: text_input}
"""


@dataclass
class Modals:
    """What a fake Slack showed before a click, to wait for the modal that click opens.

    Reading the newest `views.open` or `last_view()` at once can see the previous modal
    under load: the click's call may not have arrived yet (the fake records a call once it
    has stored what the call made). Take this before the click, then ask for what it opened.
    """

    slack: FakeSlack
    count: int
    last_id: str | None

    @classmethod
    def before(cls, slack: FakeSlack) -> Modals:
        count = len(slack.calls("views.open"))
        try:
            last_id = slack.last_view()["id"]
        except AssertionError:  # no modal yet
            last_id = None
        return cls(slack, count, last_id)

    def sent(self, timeout: float = 5.0) -> dict[str, Any]:
        """The view the click's `views.open` carried, as the bot sent it."""
        calls = self.slack.wait_for("views.open", count=self.count + 1, timeout=timeout)
        return calls[self.count].params["view"]

    def opened(self, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the click opened, as Slack stored it (with its id)."""
        self.sent(timeout)
        deadline = time.monotonic() + timeout
        while (view := self.slack.last_view())["id"] == self.last_id:
            assert time.monotonic() < deadline, "the opened modal was not stored in time"
            time.sleep(0.01)
        return view


@dataclass
class Bot:
    """A running bot and the doubles around it."""

    url: str
    runtime: Runtime
    slack: FakeSlack
    receiver: Receiver
    requests: SlackRequests
    config_path: Path

    @property
    def store(self) -> Any:
        return self.runtime.store

    def open_form(self, action_id: str, user_id: str = "U0DEV", channel_id: str = "C0CHAN") -> dict:
        """Click an action's Run button; return the modal that opened."""
        modals = Modals.before(self.slack)
        response = self.requests.block_action(
            "run_action", value=action_id, user_id=user_id, channel_id=channel_id
        )
        assert response.status_code == 200, response.text
        return modals.opened()

    def submit(self, view: dict, answers: dict[str, Any], user_id: str = "U0DEV") -> Any:
        values = self.requests.values_for(view, answers)
        return self.requests.view_submission(view, values, user_id=user_id)


def start_bot(tmp_path: Path, config: str, **overrides: Any) -> Iterator[Bot]:
    slack = FakeSlack().start()
    receiver = Receiver().start()
    config_path = tmp_path / "actions.yml"
    config = config.replace("{receiver}", receiver.url)
    config_path.write_text(config.replace("{receiver_port}", str(receiver.port)))
    port = free_port()
    values: dict[str, Any] = dict(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_APP_TOKEN="",
        SLACK_API_URL=slack.api_url,
        # A replica passes the first bot's database: it must not be emptied.
        DATABASE_URL=overrides.get("DATABASE_URL") or database_url(tmp_path),
        ACTIONS_CONFIG=str(config_path),
        WEBHOOK_SIGNING_SECRET=WEBHOOK_SECRET,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS=True,
        PORT=port,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        JOB_LEASE_SECONDS=5,
    )
    settings = Settings(**{**values, **overrides})
    loaded = load_file(config_path, settings.template_secrets)
    runtime = Runtime(settings, loaded)
    web = create_web_app(runtime, build_app(runtime))
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and runtime.ready):
        assert thread.is_alive(), "the bot failed to start"
        assert time.monotonic() < deadline, "the bot did not start in time"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    requests = SlackRequests(f"{url}/slack/events", SIGNING_SECRET, slack)
    try:
        yield Bot(url, runtime, slack, receiver, requests, config_path)
    finally:
        requests.close()
        server.should_exit = True
        thread.join(timeout=15)
        receiver.stop()
        slack.stop()
    # Every end-to-end test checks the notification text of every message the bot sent.
    assert_plain_fallbacks(slack)


MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
# What must not appear in a message's `text`: it is read aloud and shown in notifications.
NOT_PLAIN = {
    "Markdown bold": re.compile(r"\*\*"),
    "a heading": re.compile(r"^[ \t]*#{1,6}[ \t]", re.MULTILINE),
    "mrkdwn bold": re.compile(r"(?<![\w*])\*[^\s*][^*\n]*\*(?![\w*])"),
    "a labelled link": re.compile(r"<[^<>|\n]+\|[^<>\n]*>"),
    "a Markdown link": re.compile(r"\[[^\]\n]*\]\([^)\n]*\)"),
}


def not_plain(text: str) -> list[str]:
    """What formatting a fallback text still holds (empty: plain)."""
    return [name for name, pattern in NOT_PLAIN.items() if pattern.search(text)]


def assert_plain_fallbacks(slack: FakeSlack) -> None:
    for call in slack.calls():
        text = call.params.get("text")
        if call.method in MESSAGE_METHODS and isinstance(text, str):
            found = not_plain(text)
            assert not found, f"{call.method} text has {', '.join(found)}: {text!r}"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONS_SECRET_TRACKER_TOKEN", TRACKER_TOKEN)


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The example catalog plus one every-input action, on the test database."""
    from tests.support import EVERY_INPUT, serve  # support builds on this module

    tmp = tmp_path_factory.mktemp("playground")
    yaml = YAML(typ="safe", pure=True)
    document = yaml.load((Path(__file__).parents[1] / "examples" / "actions.yml").read_text())
    document["actions"].append(yaml.load(EVERY_INPUT))
    config = tmp / "actions.yml"
    with config.open("w") as out:
        yaml.dump(document, out)
    base = Settings(DATABASE_URL=database_url(tmp), ACTIONS_CONFIG=str(config))
    yield from serve(base, free_port())
