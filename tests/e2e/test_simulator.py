"""Tests for the end-to-end test doubles in tests/fakes.py."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from standardwebhooks.webhooks import Webhook

from tests.fakes import (
    Call,
    FakeSlack,
    Receiver,
    SlackRequests,
    values_for,
    verify_opslevel_style,
    verify_standard,
)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def slack(receiver: Receiver, fake: FakeSlack) -> Iterator[SlackRequests]:
    """SlackRequests aimed at a Receiver standing in for the bot's events endpoint."""
    with SlackRequests(receiver.url_for("/slack/events"), SIGNING_SECRET, fake=fake) as client:
        yield client


def _payload(body: bytes) -> dict:
    form = urllib.parse.parse_qs(body.decode())
    assert list(form) == ["payload"]
    return json.loads(form["payload"][0])


def _assert_slack_signed(received, secret: str = SIGNING_SECRET) -> None:
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid(
        received.body,
        received.headers.get("x-slack-request-timestamp"),
        received.headers.get("x-slack-signature"),
    )


# -- server lifecycle --------------------------------------------------------------------------


def test_servers_bind_loopback_and_stop() -> None:
    fake = FakeSlack().start()
    try:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.api_url == f"{fake.url}/api/"
        assert fake.port > 0
    finally:
        fake.stop()
    assert not fake.running
    with pytest.raises(RuntimeError):
        _ = fake.url
    fake.stop()  # idempotent


def test_stop_drops_keep_alive_connections(receiver: Receiver) -> None:
    url = receiver.url_for("/x")
    with httpx.Client(trust_env=False) as client:
        assert client.get(url).status_code == 200  # leaves a pooled keep-alive connection
        receiver.stop()
        with pytest.raises(httpx.TransportError):
            client.get(url, timeout=2)
    assert len(receiver.received) == 1


# -- FakeSlack through the real slack_sdk clients ------------------------------------------------


def test_async_client_messages_views_users(fake: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    view = {
        "type": "modal",
        "callback_id": "run",
        "title": {"type": "plain_text", "text": "Run"},
        "blocks": blocks,
    }

    async def scenario() -> dict:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        out: dict = {}
        out["auth"] = (await client.auth_test()).data
        posted = await client.chat_postMessage(channel="C0CHAN", text="hi", blocks=blocks)
        out["posted"] = posted.data
        out["reply"] = (
            await client.chat_postMessage(channel="C0CHAN", text="r", thread_ts=posted["ts"])
        ).data
        out["dm"] = (await client.chat_postMessage(channel="U0DEV", text="psst")).data
        out["updated"] = (
            await client.chat_update(channel="C0CHAN", ts=posted["ts"], text="bye", blocks=[])
        ).data
        with pytest.raises(SlackApiError) as missing:
            await client.chat_update(channel="C0CHAN", ts="1.000000", text="x")
        out["missing"] = missing.value.response["error"]
        out["opened"] = (await client.views_open(trigger_id="123.456.abc", view=view)).data
        out["view_updated"] = (
            await client.views_update(view_id=out["opened"]["view"]["id"], view=view)
        ).data
        out["user"] = (await client.users_info(user="U0ADMIN")).data
        with pytest.raises(SlackApiError) as unknown:
            await client.users_info(user="U0NOBODY")
        out["unknown_user"] = unknown.value.response["error"]
        out["ephemeral"] = (
            await client.chat_postEphemeral(channel="C0CHAN", user="U0DEV", text="only you")
        ).data
        out["permalink"] = (
            await client.chat_getPermalink(channel="C0CHAN", message_ts=posted["ts"])
        ).data
        return out

    out = asyncio.run(scenario())

    assert out["auth"]["user_id"] == "U0BOT" and out["auth"]["bot_id"] == "B0BOT"
    posted = out["posted"]
    assert posted["channel"] == "C0CHAN"
    assert posted["message"]["blocks"] == blocks
    assert out["reply"]["ts"] > posted["ts"]
    assert out["dm"]["channel"] == "D0DEV"
    assert out["updated"] == {
        "ok": True,
        "channel": "C0CHAN",
        "ts": posted["ts"],
        "text": "bye",
        "message": out["updated"]["message"],
    }
    assert out["missing"] == "message_not_found"

    channel = fake.messages("C0CHAN")
    assert [m["text"] for m in channel] == ["bye", "r"]
    assert channel[0]["blocks"] == [] and channel[0]["user"] == "U0BOT"
    assert fake.thread("C0CHAN", posted["ts"])[0]["text"] == "r"
    assert fake.messages("U0DEV")[0]["text"] == "psst"
    assert fake.messages("D0DEV")[0]["channel"] == "D0DEV"

    opened = out["opened"]["view"]
    assert opened["id"].startswith("V") and opened["hash"].startswith("h")
    assert opened["callback_id"] == "run" and opened["blocks"] == blocks
    assert out["view_updated"]["view"]["id"] == opened["id"]
    assert out["view_updated"]["view"]["hash"] != opened["hash"]
    assert fake.view(opened["id"])["title"]["text"] == "Run"
    (open_call,) = fake.calls("views.open")
    assert open_call.params["view"] == view
    assert open_call.headers["authorization"] == "Bearer xoxb-test"

    user = out["user"]["user"]
    assert user["name"] == "ada" and user["real_name"] == "Ada Admin"
    assert user["profile"]["email"] == "ada@example.com"
    assert user["deleted"] is False and user["is_admin"] is False
    assert out["unknown_user"] == "user_not_found"
    assert out["ephemeral"]["message_ts"]
    assert fake.ephemerals(user="U0DEV")[0]["text"] == "only you"
    assert out["permalink"]["permalink"] == (
        f"https://example.slack.com/archives/C0CHAN/p{posted['ts'].replace('.', '')}"
    )


def test_async_client_rate_limit_override(fake: FakeSlack) -> None:
    fake.set_response(
        "chat.postMessage",
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": "1"},
        times=1,
    )

    async def scenario() -> tuple[SlackApiError, dict]:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        with pytest.raises(SlackApiError) as limited:
            await client.chat_postMessage(channel="C0CHAN", text="one")
        second = await client.chat_postMessage(channel="C0CHAN", text="two")
        return limited.value, second.data

    error, second = asyncio.run(scenario())
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"
    assert second["ok"] is True
    # The overridden call was recorded but stored nothing.
    assert len(fake.calls("chat.postMessage")) == 2
    assert [m["text"] for m in fake.messages("C0CHAN")] == ["two"]


def test_sync_client_form_bodies_and_overrides(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-sync", base_url=fake.api_url)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    blocks = [{"type": "divider"}]

    # Form-encoded with JSON-in-a-field, as older code paths send them.
    opened = client.api_call("views.open", data={"trigger_id": "1.2.3", "view": json.dumps(view)})
    assert opened["view"]["title"]["text"] == "T"
    posted = client.api_call(
        "chat.postMessage", data={"channel": "C0CHAN", "text": "x", "blocks": json.dumps(blocks)}
    )
    assert fake.calls("views.open")[0].params["view"] == view
    assert fake.calls("chat.postMessage")[0].params["blocks"] == blocks
    assert fake.messages("C0CHAN")[0]["blocks"] == blocks

    fake.usergroups["S0OPS"] = ["U0ADMIN", "U0DEV"]
    assert client.usergroups_users_list(usergroup="S0OPS")["users"] == ["U0ADMIN", "U0DEV"]
    with pytest.raises(SlackApiError) as no_group:
        client.usergroups_users_list(usergroup="S0NONE")
    assert no_group.value.response["error"] == "no_such_subteam"

    fake.set_response("chat.postMessage", {"ok": False, "error": "not_in_channel"})
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C0OTHER", text="nope")
        assert err.value.response["error"] == "not_in_channel"
    fake.clear_responses("chat.postMessage")
    assert client.chat_postMessage(channel="C0CHAN", text="ok")["ts"] > posted["ts"]

    assert client.conversations_info(channel="C0CHAN")["channel"]["name"] == "general"
    assert client.api_call("anything.else")["ok"] is True

    with pytest.raises(SlackApiError) as unauthed:
        WebClient(base_url=fake.api_url).chat_postMessage(channel="C0CHAN", text="x")
    assert unauthed.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as wrong_kind:
        WebClient(token="xapp-1-abc", base_url=fake.api_url).auth_test()
    assert wrong_kind.value.response["error"] == "not_authed"

    fake.reset()
    assert fake.calls() == [] and fake.messages("C0CHAN") == []
    assert "U0ADMIN" in fake.users


def test_set_response_times_then_standing(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-t", base_url=fake.api_url)
    fake.set_response("auth.test", {"ok": True, "user_id": "U0STANDING"})
    fake.set_response("auth.test", {"ok": True, "user_id": "U0FIRST"}, times=1)
    fake.set_response("auth.test", {"ok": True, "user_id": "U0SECOND"}, times=1)
    seen = [client.auth_test()["user_id"] for _ in range(4)]
    assert seen == ["U0FIRST", "U0SECOND", "U0STANDING", "U0STANDING"]


def test_wait_for(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-t", base_url=fake.api_url)

    def later() -> None:
        time.sleep(0.2)
        client.chat_postMessage(channel="C0CHAN", text="late")

    thread = threading.Thread(target=later)
    thread.start()
    calls = fake.wait_for("chat.postMessage", lambda c: c.params.get("text") == "late")
    thread.join()
    assert isinstance(calls[0], Call) and calls[0].time <= time.time()

    client.auth_test()
    with pytest.raises(AssertionError, match=r"chat\.postMessage x1.*auth\.test x1"):
        fake.wait_for("chat.postMessage", timeout=0.2, count=2)


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    with httpx.Client(trust_env=False) as client:
        reply = client.post(url, json={"text": "done", "replace_original": True})
    assert reply.json() == {"ok": True}
    (call,) = fake.calls("response_url")
    assert call.params == {"text": "done", "replace_original": True}
    assert call.path == urllib.parse.urlsplit(url).path


# -- SlackRequests --------------------------------------------------------------------------------


def test_command_is_signed_like_slack(slack: SlackRequests, receiver: Receiver) -> None:
    response = slack.command(text="deploy api", channel_id="C0CHAN")
    assert response.status_code == 200
    (received,) = receiver.wait()
    assert received.path == "/slack/events"
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    _assert_slack_signed(received)
    assert not SignatureVerifier("other-secret").is_valid(
        received.body,
        received.headers["X-Slack-Request-Timestamp"],
        received.headers["X-Slack-Signature"],
    )
    form = dict(urllib.parse.parse_qsl(received.body.decode(), keep_blank_values=True))
    assert set(form) == {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert form["command"] == "/actions" and form["text"] == "deploy api"
    assert form["user_id"] == "U0DEV" and form["is_enterprise_install"] == "false"
    assert form["response_url"].startswith(f"{slack.fake.url}/response_url/")


def test_overrides_for_security_tests(slack: SlackRequests, receiver: Receiver) -> None:
    stale = int(time.time()) - 3600
    slack.with_overrides(timestamp=stale).command()
    slack.with_overrides(signature="v0=deadbeef", headers={"X-Slack-Retry-Num": "1"}).command()
    slack.raw("token=x", {"X-Slack-Signature": "v0=00"})
    slack.raw("a=b", sign=False)
    first, second, third, fourth = receiver.wait(4)

    # Correctly signed over the stale timestamp, so only the replay window rejects it.
    assert first.headers["X-Slack-Request-Timestamp"] == str(stale)
    assert first.headers["X-Slack-Signature"] == SlackRequests.sign(
        SIGNING_SECRET, stale, first.body
    )
    assert not SignatureVerifier(SIGNING_SECRET).is_valid(
        first.body, str(stale), first.headers["X-Slack-Signature"]
    )
    assert second.headers["X-Slack-Signature"] == "v0=deadbeef"
    assert second.headers["X-Slack-Retry-Num"] == "1"
    assert third.body == b"token=x" and third.headers["X-Slack-Signature"] == "v0=00"
    assert "X-Slack-Signature" not in fourth.headers
    # The original is untouched by with_overrides.
    assert slack.timestamp is None and slack.signature is None and slack.extra_headers == {}

    # Signature math matches Slack's documented example.
    example = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect"
        "&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
        "%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce"
        "8b6703c"
    )
    assert SlackRequests.sign(SIGNING_SECRET, 1531420618, example) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_block_action_payloads(slack: SlackRequests, receiver: Receiver, fake: FakeSlack) -> None:
    posted = WebClient(token="xoxb-t", base_url=fake.api_url).chat_postMessage(
        channel="C0CHAN", text="card", blocks=[{"type": "divider"}]
    )
    slack.block_action("run", value="deploy")
    slack.block_action(
        "pick", user_id="U0ADMIN", selected_option="prod", block_id="env", trigger_id="9.9.9"
    )
    home = {"id": "V0HOME", "type": "home", "blocks": []}
    slack.block_action("open", value="x", channel_id=None, view=home)
    button, select, from_home = (_payload(r.body) for r in receiver.wait(3))
    for r in receiver.received:
        _assert_slack_signed(r)

    assert button["type"] == "block_actions"
    assert button["user"] == {"id": "U0DEV", "username": "dev", "name": "dev", "team_id": "T0TEAM"}
    assert button["channel"] == {"id": "C0CHAN", "name": "general"}
    assert button["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0CHAN",
        "is_ephemeral": False,
    }
    assert button["message"]["ts"] == posted["ts"]
    assert button["message"]["blocks"] == [{"type": "divider"}]
    assert button["response_url"].startswith(fake.url)
    (action,) = button["actions"]
    assert action["action_id"] == "run" and action["value"] == "deploy"
    assert action["type"] == "button" and action["block_id"] == "b" and action["action_ts"]
    assert {"api_app_id", "token", "trigger_id", "team"} <= set(button)

    assert select["user"]["name"] == "ada" and select["trigger_id"] == "9.9.9"
    assert select["actions"][0]["type"] == "static_select"
    assert select["actions"][0]["selected_option"]["value"] == "prod"
    assert select["actions"][0]["block_id"] == "env"

    assert "channel" not in from_home and "response_url" not in from_home
    assert "message" not in from_home
    assert from_home["container"] == {"type": "view", "view_id": "V0HOME"}
    assert from_home["view"] == home


def test_view_submission_closed_and_event(slack: SlackRequests, receiver: Receiver) -> None:
    view = {
        "id": "V0MODAL",
        "type": "modal",
        "callback_id": "run_action",
        "private_metadata": '{"action": "deploy"}',
        "hash": "h9",
        "blocks": [],
    }
    values = {"reason": {"why": {"type": "plain_text_input", "value": "because"}}}
    slack.view_submission(view, values)
    slack.view_closed(view, user_id="U0ADMIN")
    slack.event({"type": "app_home_opened", "user": "U0DEV", "tab": "home"}, event_id="Ev1")
    slack.url_verification("abc")
    submitted, closed, event, challenge = receiver.wait(4)
    for r in (submitted, closed, event, challenge):
        _assert_slack_signed(r)

    sub = _payload(submitted.body)
    assert sub["type"] == "view_submission" and sub["response_urls"] == []
    assert sub["view"]["id"] == "V0MODAL" and sub["view"]["callback_id"] == "run_action"
    assert sub["view"]["private_metadata"] == '{"action": "deploy"}'
    assert sub["view"]["hash"] == "h9"
    assert sub["view"]["state"] == {"values": values}
    assert sub["user"]["id"] == "U0DEV" and sub["trigger_id"] and sub["api_app_id"]

    closed_payload = _payload(closed.body)
    assert closed_payload["type"] == "view_closed" and closed_payload["user"]["id"] == "U0ADMIN"
    assert closed_payload["is_cleared"] is False

    assert event.headers["Content-Type"] == "application/json"
    envelope = event.json()
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    assert envelope["event"]["type"] == "app_home_opened"
    assert envelope["authorizations"][0]["user_id"] == "U0BOT"
    assert {"token", "team_id", "api_app_id", "event_time"} <= set(envelope)
    assert challenge.json()["challenge"] == "abc"


def test_values_for_modal() -> None:
    view = {
        "type": "modal",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "intro"}},
            {
                "type": "input",
                "block_id": "reason",
                "element": {"type": "plain_text_input", "action_id": "reason_input"},
            },
            {
                "type": "input",
                "block_id": "env",
                "element": {
                    "type": "static_select",
                    "action_id": "env_select",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Production"}, "value": "prod"},
                        {"text": {"type": "plain_text", "text": "Staging"}, "value": "stg"},
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "flags",
                "element": {
                    "type": "checkboxes",
                    "action_id": "flags_cb",
                    "options": [{"text": {"type": "plain_text", "text": "Dry"}, "value": "dry"}],
                },
            },
            {
                "type": "input",
                "block_id": "count",
                "element": {"type": "number_input", "action_id": "n", "is_decimal_allowed": False},
            },
            {
                "type": "input",
                "block_id": "when",
                "element": {"type": "datepicker", "action_id": "d", "initial_date": "2024-01-02"},
            },
            {
                "type": "input",
                "block_id": "at",
                "element": {"type": "datetimepicker", "action_id": "dt"},
            },
            {
                "type": "input",
                "block_id": "who",
                "element": {"type": "multi_users_select", "action_id": "people"},
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "element": {"type": "plain_text_input", "action_id": "note_input"},
            },
        ],
    }
    moment = dt.datetime(2024, 5, 6, 7, 8, tzinfo=dt.UTC)
    values = values_for(
        view,
        {
            "reason": "hotfix",
            "env_select": "prod",
            "flags": ["dry"],
            "count": 3,
            "at": moment,
            "people": ["U0DEV"],
        },
    )
    assert values["reason"] == {"reason_input": {"type": "plain_text_input", "value": "hotfix"}}
    assert values["env"]["env_select"] == {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "Production"}, "value": "prod"},
    }
    assert values["flags"]["flags_cb"]["selected_options"][0]["value"] == "dry"
    assert values["count"]["n"] == {"type": "number_input", "value": "3"}
    assert values["when"]["d"] == {"type": "datepicker", "selected_date": None}
    assert values["at"]["dt"] == {
        "type": "datetimepicker",
        "selected_date_time": int(moment.timestamp()),
    }
    assert values["who"]["people"] == {"type": "multi_users_select", "selected_users": ["U0DEV"]}
    assert values["note"]["note_input"] == {"type": "plain_text_input", "value": None}
    assert "section" not in json.dumps(list(values))

    initial = values_for(view, {}, use_initial=True)
    assert initial["when"]["d"]["selected_date"] == "2024-01-02"
    assert initial["env"]["env_select"]["selected_option"] is None
    with pytest.raises(KeyError, match="typo"):
        values_for(view, {"typo": "x"})
    assert SlackRequests.values_for is values_for


# -- Receiver -------------------------------------------------------------------------------------


def test_receiver_records_and_replies(receiver: Receiver) -> None:
    receiver.reply("/hook", status=500, body="boom", times=1)
    receiver.reply("/hook", status=202, body={"accepted": True})
    receiver.reply("/slow", delay=0.3)
    with httpx.Client(trust_env=False) as client:
        default = client.post(receiver.url_for("/other"), json={"a": 1})
        first = client.post(
            receiver.url_for("/hook?x=1&y=2"),
            content=b"\x00raw",
            headers={"X-Actions-Signature": "sha256=abc"},
        )
        second = client.put(receiver.url_for("/hook"), content=b"")
        started = time.monotonic()
        slow = client.get(receiver.url_for("/slow"))
        elapsed = time.monotonic() - started
        with pytest.raises(httpx.ReadTimeout):
            receiver.reply("/slower", delay=1.0, times=1)
            client.get(receiver.url_for("/slower"), timeout=0.2)

    assert default.status_code == 200 and default.json() == {"ok": True}
    assert first.status_code == 500 and first.text == "boom"
    assert second.status_code == 202 and second.json() == {"accepted": True}
    assert slow.status_code == 200 and slow.json() == {} and elapsed >= 0.3

    got = receiver.wait(5)
    assert [(r.method, r.path) for r in got] == [
        ("POST", "/other"),
        ("POST", "/hook"),
        ("PUT", "/hook"),
        ("GET", "/slow"),
        ("GET", "/slower"),
    ]
    hook = got[1]
    assert hook.query == {"x": "1", "y": "2"} and hook.body == b"\x00raw"
    assert "X-Actions-Signature" in hook.headers  # case preserved as sent
    assert hook.headers.get("x-actions-signature") == "sha256=abc"
    assert hook.headers["X-ACTIONS-SIGNATURE"] == "sha256=abc"
    assert hook.headers.get("missing", "d") == "d"
    assert got[0].json() == {"a": 1} and got[0].time <= got[1].time
    assert [r.path for r in receiver.requests("/hook")] == ["/hook", "/hook"]

    with pytest.raises(AssertionError, match="expected 9"):
        receiver.wait(9, timeout=0.1)
    receiver.reset()
    assert receiver.received == []


def test_receiver_wildcard_reply(receiver: Receiver) -> None:
    receiver.reply("*", status=418, body=b"teapot", headers={"Content-Type": "text/plain"})
    receiver.reply("/exact", status=204, body=b"")
    with httpx.Client(trust_env=False) as client:
        assert client.get(receiver.url_for("anything")).status_code == 418
        assert client.get(receiver.url_for("/exact")).status_code == 204


# -- receiver-side signature checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "timing", "signature"),
    [
        (
            "somesecrethere",
            "1726164245",
            "sha256=89649e9d66e0f48c8a6e67fc12197d68dbcb91710391555fcf3a59d8757bf63b",
        ),
        (
            "OpslevelWebhookSecret",
            "123456",
            "sha256=ee9eac178fe5cd260ff1d6f9fedcc409c6389ea5718ec44c8e266c6128770233",
        ),
    ],
)
def test_opslevel_published_vectors(secret: str, timing: str, signature: str) -> None:
    headers = {"X-OpsLevel-Timing": timing, "X-OpsLevel-Signature": signature}
    verify_opslevel_style(secret, headers, b"", prefix="X-OpsLevel", now=float(timing))
    with pytest.raises(AssertionError, match="mismatch"):
        verify_opslevel_style(secret + "x", headers, b"", prefix="X-OpsLevel", now=float(timing))
    with pytest.raises(AssertionError, match="tolerance"):
        verify_opslevel_style(secret, headers, b"", prefix="X-OpsLevel", now=float(timing) + 301)


def _sign_opslevel_style(secret: str, pairs: dict[str, str], body: bytes) -> str:
    canonical = ",".join(f"{k}:{pairs[k]}" for k in sorted(pairs))
    digest = hmac.new(secret.encode(), canonical.encode() + b"+" + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def test_opslevel_style_with_uuid_and_signed_headers() -> None:
    now = int(time.time())
    body = b'{"hello": "world"}'
    pairs = {
        "X-Actions-Timing": str(now),
        "X-Actions-Action-Uuid": "0b7c",
        "Content-Type": "application/json",
        "X-Env": "prod",
    }
    headers = {
        "x-actions-timing": str(now),
        "x-actions-action-uuid": "0b7c",
        "content-type": "application/json",
        "x-env": "prod",
        "x-actions-signature": _sign_opslevel_style("s3cret", pairs, body),
    }
    verify_opslevel_style("s3cret", headers, body, signed_headers=["X-Env", "Content-Type"])
    with pytest.raises(AssertionError, match="mismatch"):
        verify_opslevel_style(
            "s3cret", headers, body + b" ", signed_headers=["X-Env", "Content-Type"]
        )
    with pytest.raises(AssertionError, match="mismatch"):
        verify_opslevel_style("s3cret", headers, body, signed_headers=["X-Env"])
    with pytest.raises(AssertionError, match="X-Missing"):
        verify_opslevel_style("s3cret", headers, body, signed_headers=["X-Missing"])
    with pytest.raises(AssertionError, match="missing X-Actions-Signature"):
        verify_opslevel_style("s3cret", {"X-Actions-Timing": str(now)}, body)


def test_verify_standard() -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body = b'{"type": "action.run"}'
    timestamp = dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign("msg_1", timestamp, body.decode())
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(timestamp.timestamp())),
        "Webhook-Signature": signature,
    }
    verify_standard(secret, headers, body)
    with pytest.raises(AssertionError):
        verify_standard(secret, headers, body + b"x")
    with pytest.raises(AssertionError):
        verify_standard(secret, {"Webhook-Id": "msg_1"}, body)
