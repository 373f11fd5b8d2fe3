"""Hostile input at the HTTP surface: bodies capped while streaming, malformed requests get a
4xx with a reason, late callbacks change nothing, and an async run keeps its deadline."""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.inbound import SLACK_MAX_BYTES
from tests.conftest import WEBHOOK_SECRET, Bot, Modals, start_bot
from tests.support import click, wait

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: ci, name: CI Team, members: [U0DEV], channel: C0CI}
actions:
  - id: pipeline
    name: Run pipeline
    owner: ci
    async: true
    timeout_after: 1s
    webhook: {url: "{receiver}/pipeline", payload: '{}'}
  - id: grant-access
    name: Grant access
    owner: ci
    expires: {after: 30m, max: 2h, webhook: {url: "{receiver}/revoke"}}
    webhook: {url: "{receiver}/grant"}
"""
MiB = 1024 * 1024
CALLBACK_CAP = 4096


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG, CALLBACK_MAX_BYTES=CALLBACK_CAP)


# --- helpers --------------------------------------------------------------------------------


def raw_post(
    url: str, path: str, headers: dict[str, str], chunks: Iterable[bytes], *, chunked: bool
) -> tuple[int, bytes]:
    """POST over a plain socket and return (status, body) as soon as the server answers.

    The body is sent from another thread while the answer is awaited: a server that refuses
    early answers before the body is through, which an ordinary client reports as a broken
    pipe instead of the answer.
    """
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    sock = socket.create_connection((host, port), timeout=20)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    answered = threading.Event()

    def send() -> None:
        try:
            for chunk in chunks:
                if answered.is_set():
                    return
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the rest was never wanted

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        response = b""
        while b"\r\n\r\n" not in response:
            data = sock.recv(65536)
            assert data, f"connection closed without an answer: {response!r}"
            response += data
        head, _, body = response.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*(\d+)", head)
        while length and len(body) < int(length.group(1)):
            data = sock.recv(65536)
            if not data:
                break
            body += data
        return int(head.split()[1]), body
    finally:
        answered.set()
        sock.close()
        sender.join(timeout=20)


def peak_rss_reset() -> None:
    """Start measuring the process's peak resident memory (VmHWM) from now (Linux)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss() -> int:
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024  # type: ignore[union-attr]


def run_pipeline(bot: Bot) -> tuple[str, str]:
    """Start the async action; return (run id, callback token) as its receiver saw them."""
    bot.submit(bot.open_form("pipeline"), {})
    request = bot.receiver.wait(1)[0]
    return request.headers["X-Actions-Action-Uuid"], request.headers["X-Actions-Callback-Token"]


def post_callback(
    bot: Bot, run_id: str, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    return httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        content=body,
        headers={k: v.encode("latin-1") for k, v in sent.items()},  # as sent on the wire
        trust_env=False,
    )


def finished(bot: Bot, run_id: str) -> str:
    wait(lambda: bot.store.get_run(run_id).final, what="the run to finish")
    return bot.store.get_run(run_id).status


# --- 1. size caps, enforced while streaming -----------------------------------------------


def test_a_64_mib_unsigned_slack_body_is_refused_while_streaming(bot: Bot) -> None:
    chunk = b"a" * (64 * 1024)
    peak_rss_reset()
    before = peak_rss()
    started = time.monotonic()
    status, body = raw_post(
        bot.url,
        "/slack/events",
        {"Content-Type": "application/x-www-form-urlencoded"},
        (chunk for _ in range(1024)),  # 64 MiB, counted as it streams
        chunked=True,
    )
    grown = peak_rss() - before
    assert status == 413, body
    assert b"larger than" in body
    assert grown < 16 * MiB, f"peak RSS grew by {grown / MiB:.1f} MiB"
    assert time.monotonic() - started < 10
    # The bot is unharmed and still answers Slack.
    assert bot.requests.command("/actions").status_code == 200


def test_a_declared_64_mib_body_is_refused_without_reading(bot: Bot) -> None:
    # Nothing but the headers is sent: the answer must come from Content-Length alone.
    length = str(64 * MiB)
    status, body = raw_post(bot.url, "/slack/events", {"Content-Length": length}, [], chunked=False)
    assert status == 413 and b"larger than" in body
    run_id, token = run_pipeline(bot)
    status, body = raw_post(
        bot.url,
        f"/runs/{run_id}/callback",
        {"Content-Length": length, "Authorization": f"Bearer {token}"},
        [],
        chunked=False,
    )
    assert status == 413 and b"larger than" in body


def test_slack_bodies_up_to_the_cap_still_reach_the_bot(bot: Bot) -> None:
    # A signed command padded to just under the cap is answered as usual.
    padding = "x" * (SLACK_MAX_BYTES - 2000)
    body = urllib.parse.urlencode({"command": "/actions", "text": "", "padding": padding})
    body += "&user_id=U0DEV&user_name=dev&channel_id=C0CHAN&team_id=T0TEAM"
    body += "&trigger_id=1.2.3&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr"
    assert len(body) < SLACK_MAX_BYTES
    assert bot.requests.raw(body).status_code == 200
    over = bot.requests.raw(body + "&more=" + "y" * 4000)
    assert over.status_code == 413


def test_callback_cap_is_configurable_and_counted_while_streaming(bot: Bot) -> None:
    run_id, token = run_pipeline(bot)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    message = "m" * (CALLBACK_CAP - 100)
    small = json.dumps({"status": "running", "message": message}).encode()
    assert len(small) <= CALLBACK_CAP
    status, _ = raw_post(bot.url, f"/runs/{run_id}/callback", auth, [small], chunked=True)
    assert status == 202
    big = json.dumps({"status": "running", "message": message + "m" * 200}).encode()
    status, body = raw_post(
        bot.url, f"/runs/{run_id}/callback", auth, [big[:2000], big[2000:]], chunked=True
    )
    assert status == 413 and f"larger than {CALLBACK_CAP} bytes".encode() in body


def test_signatures_and_tokens_are_checked_before_json(bot: Bot) -> None:
    nested = "payload=" + "%5B" * 100_000
    unsigned = bot.requests.raw(nested, sign=False)
    assert unsigned.status_code == 401 and "X-Slack-Request-Timestamp" in unsigned.text
    forged = bot.requests.with_overrides(signature="v0=" + "0" * 64).raw(nested)
    assert forged.status_code == 401 and "X-Slack-Signature" in forged.text
    run_id, _ = run_pipeline(bot)
    response = post_callback(bot, run_id, b"[" * 3000, {"Authorization": "Bearer wrong"})
    assert response.status_code == 401


# --- 2. late callbacks ---------------------------------------------------------------------


def test_a_late_callback_gets_409_and_only_a_summary_is_kept(bot: Bot) -> None:
    run_id, token = run_pipeline(bot)
    auth = {"Authorization": f"Bearer {token}"}
    done = post_callback(bot, run_id, json.dumps({"status": "success"}).encode(), auth)
    assert done.status_code == 200
    assert finished(bot, run_id) == "SUCCESS"
    callbacks = len(bot.store.events(run_id, kind="callback"))
    late = {
        "status": "failure",
        "message": "x" * 2000,
        "data": {"key": WEBHOOK_SECRET, "more": ["y" * 500] * 2},
    }
    body = json.dumps(late).encode()
    response = post_callback(bot, run_id, body, auth)
    assert response.status_code == 409 and "already SUCCESS" in response.text
    assert bot.store.get_run(run_id).status == "SUCCESS"
    assert len(bot.store.events(run_id, kind="callback")) == callbacks  # not stored whole
    summary = bot.store.events(run_id, kind="late_callback")[-1].detail
    assert summary["status"] == "failure" and summary["run_status"] == "SUCCESS"
    assert summary["bytes"] == len(body)
    assert len(summary["excerpt"]) == 200 and summary["excerpt"].startswith('{"status": "failure"')
    stored = json.dumps([e.detail for e in bot.store.events(run_id)])
    assert "x" * 300 not in stored and WEBHOOK_SECRET not in stored


# --- 3. the async deadline survives a `running` callback that beats the 2xx ------------------


def test_running_callback_before_the_2xx_keeps_the_deadline(bot: Bot) -> None:
    answer = threading.Event()
    # The receiver reports `running` first and answers the bot's request only afterwards.
    bot.receiver.reply("/pipeline", status=202, body={"accepted": True}, hold=answer)
    run_id, token = run_pipeline(bot)
    running = post_callback(
        bot,
        run_id,
        json.dumps({"status": "running"}).encode(),
        {"Authorization": f"Bearer {token}"},
    )
    assert running.status_code == 202
    assert bot.store.get_run(run_id).status == "RUNNING"
    answer.set()
    # No final callback ever comes: the 1 s `timeout_after` must still end the run.
    wait(lambda: bot.store.get_run(run_id).final, timeout=15, what="the deadline")
    assert bot.store.get_run(run_id).status == "TIMED_OUT"
    assert [e.kind for e in bot.store.events(run_id)].count("accepted") == 1


# --- 4. malformed requests get a 4xx with a reason, never a 500 ------------------------------


def test_non_ascii_callback_credentials_are_refused(bot: Bot) -> None:
    run_id, token = run_pipeline(bot)
    header = httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        json={"status": "success"},
        headers={"Authorization": "Bearer t\xe9st".encode("latin-1")},
        trust_env=False,
    )
    assert header.status_code == 401 and "unauthorized" in header.text
    query = httpx.post(
        f"{bot.url}/runs/{run_id}/callback?token=%C3%A9t%C3%A9",
        json={"status": "success"},
        trust_env=False,
    )
    assert query.status_code == 401
    signature = {"webhook-id": "m", "webhook-timestamp": str(int(time.time()))}
    signature["webhook-signature"] = "v1,t\u00e9st"
    signed = post_callback(
        bot, run_id, b'{"status": "success"}', {"Authorization": f"Bearer {token}", **signature}
    )
    assert signed.status_code == 401
    assert bot.store.get_run(run_id).status != "SUCCESS"


@pytest.mark.parametrize("stamp", ["abc", "", "12e3", "\u00b2", "9" * 5000, "-1"])
def test_a_malformed_slack_timestamp_is_refused(bot: Bot, stamp: str) -> None:
    # Signed over the malformed timestamp, as a forger would: still refused, with a reason.
    signed = bot.requests.with_overrides(timestamp=stamp).signed_headers("command=/actions")
    response = httpx.post(
        bot.requests.events_url,
        content=b"command=/actions",
        headers={k: v.encode("latin-1") for k, v in signed.items()},
        trust_env=False,
    )
    assert response.status_code == 401
    assert "X-Slack-Request-Timestamp" in response.text


@pytest.mark.parametrize("stamp", ["abc", "\u00b2", "9" * 5000, "1e9", ""])
def test_a_bad_webhook_timestamp_on_a_signed_callback_is_refused(bot: Bot, stamp: str) -> None:
    run_id, token = run_pipeline(bot)
    headers = {
        "Authorization": f"Bearer {token}",
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": "v1,AAAA v1,\u00e9",
    }
    response = post_callback(
        bot, run_id, b'{"status": "success"}', {k: v for k, v in headers.items()}
    )
    assert response.status_code == 401
    assert bot.store.get_run(run_id).status != "SUCCESS"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"status": ["success"]}', "status must be one of"),
        (b'{"status": {"a": 1}}', "status must be one of"),
        (b"[" * 4000, "nested deeper than"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper than"),
        (b"\xff\xfe", "must be JSON"),
        (b'["status"]', "JSON object"),
    ],
)
def test_a_malformed_callback_body_gets_400(bot: Bot, body: bytes, reason: str) -> None:
    run_id, token = run_pipeline(bot)
    response = post_callback(bot, run_id, body, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and reason in response.text
    assert not bot.store.get_run(run_id).final


def test_callbacks_to_no_run_or_with_bad_links_say_why(bot: Bot) -> None:
    # A well-formed token for a run that does not exist: the receiver learns it is unknown.
    ghost = str(uuid.uuid4())
    token = hmac.new(WEBHOOK_SECRET.encode(), f"callback:{ghost}".encode(), "sha256").hexdigest()
    auth = {"Authorization": f"Bearer {token}"}
    response = post_callback(bot, ghost, b'{"status": "success"}', auth)
    assert response.status_code == 404 and response.json() == {"error": "unknown run"}
    run_id, token = run_pipeline(bot)
    bad = json.dumps({"status": "success", "links": [{"text": "no url"}]}).encode()
    response = post_callback(bot, run_id, bad, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "links a list of" in response.json()["error"]
    assert not bot.store.get_run(run_id).final


def test_deeply_nested_signed_slack_payload_gets_400(bot: Bot) -> None:
    response = bot.requests.raw("payload=" + "%5B" * 100_000)
    assert response.status_code == 400 and "malformed" in response.text
    assert bot.requests.command("/actions").status_code == 200


@pytest.mark.parametrize("typed", ["99999999999d", "9" * 400 + "s"])
def test_an_absurd_extend_duration_is_refused_in_the_form(bot: Bot, typed: str) -> None:
    bot.submit(bot.open_form("grant-access"), {})
    bot.receiver.wait(1)
    run = bot.store.runs()[0]
    wait(lambda: bot.store.get_run(run.id).expires_at is not None, what="expiry set")
    expires = bot.store.get_run(run.id).expires_at
    modals = Modals.before(bot.slack)
    click(bot, "extend_run", run.id, "U0DEV", channel="C0CHAN")
    modal = modals.opened()
    answer = bot.requests.view_submission(
        modal, {"duration": {"duration": {"type": "plain_text_input", "value": typed}}}
    )
    assert answer.status_code == 200
    assert "at most 3650d" in json.loads(answer.text)["errors"]["duration"]
    assert bot.store.get_run(run.id).expires_at == expires


def test_an_absurd_since_in_the_runs_query_is_explained(bot: Bot) -> None:
    bot.requests.command("/actions-admin", text="runs since:99999999999d", user_id="U0ADMIN")
    shown = json.dumps(bot.slack.wait_for("response_url")[-1].params)
    assert "since:" in shown and "duration" in shown
