"""The receiver check, against receivers that get signatures right and wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.receiver import Replays, VerificationError, verify
from bot.webhooks.conformance import DOCS, PROBES, Result, parse_words, tamper
from tests.conftest import TRACKER_TOKEN, WEBHOOK_SECRET, Bot
from tests.fakes import Headers, verify_opslevel_style, verify_standard
from tests.support import admin_says, shown

SIGNED = ["Content-Type", "Authorization"]  # the configured headers of the actions below
ACTIONS = """
actions:
  - id: checked
    name: Checked
    owner: payments
    conformance_ok: true
    webhook:
      url: "{url}/hook?key={{ 'TRACKER_TOKEN' | secret }}"
      headers: {Content-Type: application/json, Authorization: "Bearer {{ 'TRACKER_TOKEN' | secret }}"}
      payload: '{"title": {{ manualInputs.title | json }}, "n": 12}'
      timeout: 2
    inputs:
      - {identifier: title, displayName: Title, type: text_input, required: true}
  - id: unmarked
    name: Unmarked
    owner: payments
    webhook: {url: "{url}/hook", headers: {Content-Type: application/json}, payload: "{}"}
"""
TEAMS = "teams:\n  - {id: payments, name: Payments}\n"

Decide = Callable[[Headers, bytes], int]


class Server:
    """A receiver on loopback whose answers ``decide`` computes; records what it got."""

    def __init__(self, decide: Decide) -> None:
        received: list[tuple[Headers, bytes, int]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = Headers(self.headers.items())
                status = decide(headers, body)
                received.append((headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def good_by_hand() -> tuple[Decide, list[str]]:
    """Verifies both signatures independently of the bot; refuses repeated signatures."""
    seen: dict[str, set[str]] = {}
    work: list[str] = []

    def decide(headers: Headers, body: bytes) -> int:
        try:
            verify_opslevel_style(WEBHOOK_SECRET, headers, body, signed_headers=SIGNED)
            verify_standard(WEBHOOK_SECRET, headers, body)
        except AssertionError:
            return 401
        signatures = seen.setdefault(headers["webhook-id"], set())
        if headers["webhook-signature"] in signatures:
            return 409
        if not signatures:
            work.append(headers["webhook-id"])
        signatures.add(headers["webhook-signature"])
        return 200

    return decide, work


def good_with_helper() -> tuple[Decide, list[str]]:
    """The receiver README shows: bot.receiver's verify and Replays."""
    replays, work = Replays(), []

    def decide(headers: Headers, body: bytes) -> int:
        try:
            request = verify(headers, body, WEBHOOK_SECRET, signed_headers=SIGNED)
        except VerificationError:
            return 401
        seen = replays.check(request)
        if seen == "new":
            work.append(request.id)
        return 409 if seen == "replay" else 200

    return decide, work


def naive() -> tuple[Decide, list[str]]:
    return (lambda headers, body: 200), []


def refuses_retries() -> tuple[Decide, list[str]]:
    """Verifies signatures, but refuses any webhook-id it has seen: retries fail."""
    seen: set[str] = set()

    def decide(headers: Headers, body: bytes) -> int:
        try:
            verify(headers, body, WEBHOOK_SECRET, signed_headers=SIGNED)
        except VerificationError:
            return 401
        if headers["webhook-id"] in seen:
            return 409
        seen.add(headers["webhook-id"])
        return 200

    return decide, []


def run_check(tmp_path: Path, decide: Decide, *args: str) -> tuple[Any, Server]:
    server = Server(decide)
    config = tmp_path / "actions.yml"
    config.write_text(TEAMS + ACTIONS.replace("{url}", server.url))
    env = {
        **os.environ,
        "ACTIONS_CONFIG": str(config),
        "WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "ACTIONS_SECRET_TRACKER_TOKEN": TRACKER_TOKEN,
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "receiver-check", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parents[2],
        )
    finally:
        server.close()
    return result, server


def grades(output: str) -> dict[int, str]:
    """`  3. FAIL  signed …` → {3: "FAIL"}."""
    found = {}
    for line in output.splitlines():
        number, _, rest = line.strip().partition(". ")
        if number.isdigit() and rest.split()[0] in ("pass", "FAIL"):
            found[int(number)] = rest.split()[0]
    return found


@pytest.mark.parametrize("receiver", [good_by_hand, good_with_helper])
def test_a_good_receiver_passes_every_request_and_does_the_work_once(
    tmp_path: Path, receiver: Callable[[], tuple[Decide, list[str]]]
) -> None:
    decide, work = receiver()
    result, server = run_check(tmp_path, decide, "checked", "--input", "title=Hello")

    assert result.returncode == 0, result.stdout + result.stderr
    assert grades(result.stdout) == dict.fromkeys(range(1, 7), "pass")
    assert "6 of 6 passed" in result.stdout
    assert [status for _, _, status in server.received] == [200, 401, 401, 409, 200, 401]
    assert len(work) == 1  # the retry was recognised, not done twice
    # Every request is marked, and the mark is not signed: the receiver verified request 1
    # with exactly the configured headers.
    assert all(h["X-Actions-Conformance-Check"] == "true" for h, _, _ in server.received)
    assert json.loads(server.received[0][1]) == {"title": "Hello", "n": 12}


def test_a_naive_receiver_fails_the_forged_stale_replayed_and_altered_requests(
    tmp_path: Path,
) -> None:
    result, server = run_check(tmp_path, naive()[0], "checked", "--input", "title=Hello")

    assert result.returncode == 1
    assert grades(result.stdout) == {
        1: "pass",
        2: "FAIL",
        3: "FAIL",
        4: "FAIL",
        5: "pass",
        6: "FAIL",
    }
    out = result.stdout
    assert "2 of 6 passed" in out
    assert "A request with a wrong signature was accepted" in out
    assert "Reject a timing header more than 5 minutes from your clock" in out
    assert "The same request was accepted twice" in out
    assert "A body that does not match its signature was accepted" in out
    assert DOCS in out and DOCS == "README.md#webhooks-and-how-receivers-verify-them"
    # The secret in the URL is not printed.
    assert TRACKER_TOKEN not in out and "key=[REDACTED]" in out
    assert len(server.received) == 6


def test_a_receiver_that_refuses_retries_fails_only_the_retry(tmp_path: Path) -> None:
    result, _ = run_check(tmp_path, refuses_retries()[0], "checked", "--input", "title=Hello")

    assert result.returncode == 1
    assert grades(result.stdout) == {
        1: "pass",
        2: "pass",
        3: "pass",
        4: "pass",
        5: "FAIL",
        6: "pass",
    }
    assert "Expected 2xx, got HTTP 409. A retry was refused" in result.stdout


def test_the_requests_are_what_the_probes_say(tmp_path: Path) -> None:
    decide, _ = naive()
    _, server = run_check(tmp_path, decide, "checked", "--input", "title=Hello")
    (h1, b1, _), (h2, b2, _), (h3, b3, _), (h4, b4, _), (h5, b5, _), (h6, b6, _) = server.received

    ok = {"secret": WEBHOOK_SECRET, "signed_headers": SIGNED}
    assert verify(h1, b1, **ok).schemes == ("standard", "opslevel")
    # 2: same body and id, both signatures wrong.
    assert (b2, h2["webhook-id"]) == (b1, h1["webhook-id"])
    for name in ("X-Actions-Signature", "webhook-signature"):
        assert h2[name] != h1[name]
        headers = Headers({**h1, name: h2[name]})
        with pytest.raises(VerificationError, match="does not match"):
            verify(headers, b1, **ok)
    # 3: correctly signed, 10 minutes ago.
    stale = int(h1["X-Actions-Timing"]) - 600
    assert int(h3["X-Actions-Timing"]) == int(h3["webhook-timestamp"]) == stale
    verify(h3, b3, **ok, now=stale)
    with pytest.raises(VerificationError, match="more than the 300 s"):
        verify(h3, b3, **ok)
    # 4: byte for byte request 1.
    assert (dict(h4), b4) == (dict(h1), b1)
    # 5: same id, fresh signatures, valid.
    assert h5["webhook-id"] == h1["webhook-id"]
    assert h5["webhook-signature"] != h1["webhook-signature"]
    assert verify(h5, b5, **ok).id == h1["webhook-id"]
    # 6: exactly one byte differs from what was signed, and it is still JSON.
    assert len(b6) == len(b1) and sum(x != y for x, y in zip(b6, b1, strict=True)) == 1
    assert json.loads(b6) != json.loads(b1)
    with pytest.raises(VerificationError):
        verify(h6, b6, **ok)


def test_refused_for_an_action_not_marked_conformance_ok_unless_forced(tmp_path: Path) -> None:
    result, server = run_check(tmp_path, naive()[0], "unmarked")

    assert result.returncode == 2
    assert "not marked `conformance_ok: true`" in result.stderr
    assert "--force" in result.stderr
    assert server.received == []

    forced, server = run_check(tmp_path, naive()[0], "unmarked", "--force")
    assert forced.returncode == 1 and len(server.received) == 6


def test_bad_arguments_get_a_reason(tmp_path: Path) -> None:
    missing, server = run_check(tmp_path, naive()[0], "checked")
    assert missing.returncode == 2 and "title" in missing.stderr
    assert server.received == []
    unknown, _ = run_check(tmp_path, naive()[0], "nope")
    assert unknown.returncode == 2 and "no action 'nope'" in unknown.stderr


# --- grading and the parts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "status", "passed", "says"),
    [
        (1, 200, True, ""),
        (1, 401, False, "A genuine request was refused"),
        (1, None, False, "Is the receiver up"),
        (2, 401, True, ""),
        (2, 204, False, "wrong signature was accepted"),
        (2, 500, False, "Refuse a bad request with a 4xx"),
        (2, 302, False, "Refuse a bad request with a 4xx"),
        (4, 409, True, ""),
        (5, 202, True, ""),
        (5, 409, False, "A retry was refused"),
        (6, None, False, "Refuse a bad request with a 4xx"),
    ],
)
def test_grades(number: int, status: int | None, passed: bool, says: str) -> None:
    result = Result(PROBES[number - 1], status, None if status else "timeout")
    assert result.passed is passed
    assert (says in result.explain()) if says else result.explain() == ""


@pytest.mark.parametrize(
    ("body", "changed"),
    [
        (b'{"a": "xyz", "n": 1}', b'{"a": "xyz", "n": 2}'),
        (b'{"a": "xyz"}', b'{"a": "xyZ"}'),
        (b"", b"!"),
        (b"{}", b"{|"),
    ],
)
def test_tamper_changes_one_byte(body: bytes, changed: bytes) -> None:
    assert tamper(body) == changed


def test_slack_words() -> None:
    assert parse_words(["deploy", "--service", "api", "a=1", "--input", "b=2", "--force"]) == (
        "deploy",
        "api",
        ["a=1", "b=2"],
        True,
    )


# --- from Slack ----------------------------------------------------------------------------


def test_admins_check_a_receiver_from_slack_and_it_is_audited(bot: Bot) -> None:
    # create-ticket (tests/conftest.py) is not marked conformance_ok.
    refused = shown(admin_says(bot, "check-receiver create-ticket title=Hi"))
    assert "not marked `conformance_ok: true`" in refused and "add `--force`" in refused
    assert bot.receiver.received == []

    # The test receiver answers 200 to anything: a naive receiver.
    card = shown(admin_says(bot, "check-receiver create-ticket title=Hi prio=high --force"))

    lines = card.splitlines()
    assert lines[0].startswith("*Receiver check of `create-ticket`*: POST `http://127.0.0.1")
    marks = [line.split()[0] for line in lines if line.startswith(":")]
    assert marks == [":white_check_mark:", ":x:", ":x:", ":x:", ":white_check_mark:", ":x:"]
    assert "*2 of 6 passed.*" in card and DOCS in card
    received = bot.receiver.received
    assert len(received) == 6
    assert all(r.headers["X-Actions-Conformance-Check"] == "true" for r in received)
    assert received[0].json()["priority"] == "high"
    assert TRACKER_TOKEN not in card
    events = bot.store.events(kind="admin")
    checks = [e for e in events if e.detail.get("change") == "receiver_check"]
    assert len(checks) == 1
    assert checks[0].actor == "U0ADMIN" and checks[0].action_id == "create-ticket"
    assert checks[0].detail["forced"] is True and checks[0].detail["passed"] is False
    assert checks[0].detail["results"]["2"] == "HTTP 200"


def test_only_admins_check_receivers(bot: Bot) -> None:
    said = shown(admin_says(bot, "check-receiver create-ticket title=Hi --force", user="U0DEV"))
    assert "only for the bot's admins" in said
    assert bot.receiver.received == []


def test_slack_check_with_bad_words_says_how(bot: Bot) -> None:
    said = shown(admin_says(bot, "check-receiver"))
    assert "which action?" in said and "Usage: `/actions-admin check-receiver" in said
    said = shown(admin_says(bot, "check-receiver create-ticket --force"))
    assert "title" in said
    assert bot.receiver.received == []
