"""Authorization as Bolt listener middleware, and the parsed request, dispatched in-process.

Each test builds a small Bolt app with the bot's middleware and one probe listener wired
with a guard, then dispatches signed Slack requests to it without HTTP (as bolt-python's
scenario tests do). The probe records that it ran: a refused user must never reach it.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack import guards, middleware
from bot.slack.request import SlackRequest
from bot.store import Run
from tests.conftest import SIGNING_SECRET, Bot, start_bot
from tests.support import APPROVALS_CONFIG as CONFIG
from tests.support import request_message


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG)


class Probe:
    """A listener that notes who reached it."""

    def __init__(self) -> None:
        self.reached: list[tuple[str, str | None]] = []

    async def __call__(self, ack: AsyncAck, slack_request: SlackRequest, context: Any) -> None:
        await ack()
        run = context.get("run")
        self.reached.append((slack_request.user_id, run.id if isinstance(run, Run) else None))


def small_app(bot: Bot, wire: Any) -> tuple[AsyncApp, Probe]:
    app = AsyncApp(
        client=bot.runtime.slack,
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
        before_authorize=middleware.Provide(bot.runtime),
    )
    probe = Probe()
    wire(app)(probe)
    return app, probe


def click(bot: Bot, action_id: str, user_id: str, value: str) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower()},
        "team": {"id": "T0TEAM"},
        "channel": {"id": "C0CHAN"},
        "container": {"type": "message", "channel_id": "C0CHAN"},
        "trigger_id": "1.2.3",
        "response_url": bot.slack.new_response_url(),
        "actions": [{"action_id": action_id, "block_id": "b", "value": value}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def dispatch(bot: Bot, app: AsyncApp, body: str) -> BoltResponse:
    request = AsyncBoltRequest(body=body, headers=bot.requests.signed_headers(body))
    return asyncio.run(app.async_dispatch(request))


def refusals(bot: Bot) -> list[dict[str, Any]]:
    return [{"actor": e.actor, **e.detail} for e in bot.store.events(kind="refused")]


def test_an_admin_only_listener_refuses_a_non_admin(bot: Bot) -> None:
    app, probe = small_app(bot, lambda a: a.action("probe", middleware=[guards.admin_only("p")]))

    refused = dispatch(bot, app, click(bot, "probe", "U0DEV", "x"))

    assert refused.status == 200 and probe.reached == []
    told = bot.slack.wait_for("response_url")[-1].params
    assert told["text"] == guards.NOT_ADMIN and told["response_type"] == "ephemeral"
    assert refusals(bot) == [{"actor": "U0DEV", "step": "p", "reason": "not an admin"}]

    assert dispatch(bot, app, click(bot, "probe", "U0ADMIN", "x")).status == 200
    assert probe.reached == [("U0ADMIN", None)]
    assert len(refusals(bot)) == 1


def test_an_approver_check_refuses_a_non_approver(bot: Bot) -> None:
    bot.submit(bot.open_form("two-keys"), {})  # approvers: U0SRE1, U0SRE2, U0DEV (not self)
    run = bot.store.runs()[0]
    request_message(bot)
    guarded = [guards.run_guard(guards.APPROVE)]
    app, probe = small_app(bot, lambda a: a.action("probe", middleware=guarded))
    before = len(bot.slack.calls("response_url"))

    for outsider in ("U0OWNER", "U0DEV"):  # not an approver; the requester
        assert dispatch(bot, app, click(bot, "probe", outsider, run.id)).status == 200
    assert probe.reached == []
    told = [c.params["text"] for c in bot.slack.wait_for("response_url", count=before + 2)]
    assert told[before:] == [
        "You can't approve this: you are not an approver of this action.",
        "You can't approve this: you cannot approve your own request.",
    ]
    assert [(r["actor"], r["step"]) for r in refusals(bot)] == [
        ("U0OWNER", "approve"),
        ("U0DEV", "approve"),
    ]

    assert dispatch(bot, app, click(bot, "probe", "U0SRE1", run.id)).status == 200
    assert probe.reached == [("U0SRE1", run.id)]  # the checked run reaches the listener


def test_a_run_that_does_not_exist_never_reaches_the_listener(bot: Bot) -> None:
    guarded = [guards.run_guard(guards.APPROVE)]
    app, probe = small_app(bot, lambda a: a.action("probe", middleware=guarded))

    dispatch(bot, app, click(bot, "probe", "U0SRE1", "no-such-run"))

    assert probe.reached == []
    assert bot.slack.wait_for("response_url")[-1].params["text"] == "That request no longer exists."


def test_the_menu_matcher_routes_by_the_picked_choice(bot: Bot) -> None:
    app = AsyncApp(
        client=bot.runtime.slack,
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
        before_authorize=middleware.Provide(bot.runtime),
    )
    approve, deny = Probe(), Probe()
    app.action("menu", matchers=[guards.picked("approve")])(approve)
    app.action("menu", matchers=[guards.picked("deny")])(deny)

    dispatch(bot, app, click(bot, "menu", "U0SRE1", "deny:r1"))
    dispatch(bot, app, click(bot, "menu", "U0SRE1", "approve:r2"))

    assert deny.reached == [("U0SRE1", None)] and approve.reached == [("U0SRE1", None)]
    assert dispatch(bot, app, click(bot, "menu", "U0SRE1", "approve-ish:r3")).status == 404


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"type": "block_actions", "actions": [{"action_id": "probe"}]}, "`user` is missing"),
        ({"type": "block_actions", "user": {"name": "x"}}, "`user.id` is missing"),
        ({"type": "block_actions", "user": {"id": 7}}, "`user.id` must be a string"),
        ({"type": "block_actions", "user": "U0DEV"}, "`user` must be an object"),
        ({"type": "block_actions", "user": {"id": "U1"}, "actions": {}}, "non-empty list"),
        ({"type": "block_actions", "user": {"id": "U1"}, "actions": ["x"]}, "must be an object"),
        ({"type": "view_submission", "user": {"id": "U1"}, "view": []}, "`view` must be an"),
        (
            {"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "c"}},
            "`view.type` is missing",
        ),
        (
            {
                "type": "view_submission",
                "user": {"id": "U1"},
                "view": {"type": "modal", "private_metadata": 1},
            },
            "`view.private_metadata` must be a string",
        ),
        ({"type": "event_callback", "event": ["app_home_opened"]}, "`event` must be an object"),
        ({"type": "block_actions", "user": {"id": "U1"}, "trigger_id": ["t"]}, "`trigger_id`"),
    ],
)
def test_a_malformed_payload_gets_400_with_its_reason(
    bot: Bot, payload: dict[str, Any], reason: str
) -> None:
    app, probe = small_app(bot, lambda a: a.action("probe"))
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})

    response = dispatch(bot, app, body)

    assert response.status == 400 and reason in response.body and probe.reached == []


def test_a_malformed_payload_gets_400_over_http(bot: Bot) -> None:
    response = bot.requests.block_action("run_action", value="create-ticket", user=["U0DEV"])
    assert response.status_code == 400
    assert "`user` must be an object" in response.text
    assert not bot.slack.calls("views.open")
    command = bot.requests.command("/actions", user_id="")
    assert command.status_code == 400 and "`user_id` is missing" in command.text


def test_the_request_is_parsed_once_with_its_parts() -> None:
    parsed = SlackRequest.parse(
        {
            "type": "block_actions",
            "user": {"id": "U1", "username": "ann"},
            "team": {"id": "T1"},
            "channel": {"id": "C1"},
            "container": {"type": "view"},
            "trigger_id": "t",
            "view": {"type": "home", "id": "V1", "private_metadata": "m", "state": {"values": {}}},
            "actions": [{"action_id": "a", "block_id": "b", "selected_option": {"value": "v"}}],
        }
    )
    assert (parsed.user_id, parsed.user_name, parsed.team_id, parsed.channel_id) == (
        "U1",
        "ann",
        "T1",
        "C1",
    )
    assert (parsed.action_id, parsed.block_id, parsed.value) == ("a", "b", "v")
    assert (parsed.view_id, parsed.metadata, parsed.from_home) == ("V1", "m", True)
    assert parsed.response_url is None and parsed.trigger_id == "t"
    command = SlackRequest.parse({"command": "/actions", "user_id": "U2", "text": "deploy"})
    assert (command.kind, command.user_id, command.value) == ("command", "U2", "deploy")
