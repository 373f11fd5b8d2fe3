"""Receivers that answer badly, on purpose or not: the run still ends, on time, and says why.

Each test runs the bot over real HTTP against a real loopback receiver: the fake one from
tests/fakes.py where a canned answer will do, a raw socket one for answers no
well-behaved server library would send (dripping bytes, a gzip bomb).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot import jobs, templates
from bot.runs import delivery as run_delivery
from bot.runs import retry_after
from tests.conftest import Bot, start_bot
from tests.support import final_status, run_action, thread_texts

Behaviour = Callable[[socket.socket], None]


class RawReceiver:
    """Accepts connections on loopback, reads one request, and lets a behaviour answer."""

    def __init__(self, behaviours: dict[str, Behaviour]) -> None:
        self.behaviours = behaviours
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> RawReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            path = lines[0].split()[1]
            headers = dict(line.split(": ", 1) for line in lines[1:])
            self.requests.append((path, headers))
            with contextlib.suppress(OSError):  # the bot hung up: the point of some tests
                self.behaviours[path](conn)


def drip(head_first: bool) -> Behaviour:
    """Answer a byte every 0.2 s: each read is quick, the whole answer takes 20 s."""

    def answer(conn: socket.socket) -> None:
        body = b"x" * 100
        response = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body
        start = response.index(b"\r\n\r\n") + 4 if head_first else 0
        conn.sendall(response[:start])
        for byte in response[start:]:
            conn.sendall(bytes([byte]))
            time.sleep(0.2)

    return answer


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped, then gzipped again: a few KiB on the wire."""
    inner = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [inner.compress(block) for _ in range(size >> 20)]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), 9)


def send_bomb(bomb: bytes) -> Behaviour:
    def answer(conn: socket.socket) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Encoding: gzip, gzip\r\nContent-Length: {len(bomb)}\r\n\r\n"
        )
        conn.sendall(head.encode() + bomb)
        time.sleep(1)  # keep the connection open while the bot reads

    return answer


CONFIG = """
teams:
  - {id: ops, name: Ops, channel: C0OPS}
actions:
  - id: drip-body
    name: Drip body
    owner: ops
    webhook: {url: "{raw}/drip-body", payload: '{}', timeout: 1}
  - id: drip-head
    name: Drip head
    owner: ops
    webhook: {url: "{raw}/drip-head", payload: '{}', timeout: 1}
  - id: bomb
    name: Bomb
    owner: ops
    webhook: {url: "{raw}/bomb", payload: '{}', timeout: 30}
    response_template: "Got {{ response.body | size }} characters"
  - id: charset
    name: Charset
    owner: ops
    webhook: {url: "{receiver}/charset", payload: '{}'}
    response_template: "Got: {{ response.body }}"
  - id: decoded
    name: Decoded
    owner: ops
    webhook: {url: "{receiver}/decoded", payload: '{}'}
    response_template: "Got: {{ response.body.word }}"
  - id: heavy
    name: Heavy
    owner: ops
    webhook: {url: "{receiver}/heavy", payload: '{}'}
    response_template: >-
      {% for i in (1..100) %}{% for j in (1..100) %}{% assign s = response.body.text
      | split: "" | sort | join: "" %}{% endfor %}{% endfor %}done
  - id: nan
    name: Retry after nan
    owner: ops
    webhook: {url: "{receiver}/nan", payload: '{}'}
    retry: {attempts: 2, delay: 100ms}
  - id: nested
    name: Nested
    owner: ops
    webhook: {url: "{receiver}/nested", payload: '{}'}
    response_template: "HTTP {{ response.status }}"
  - id: create
    name: Create thing
    owner: ops
    webhook: {url: "{receiver}/create", payload: '{}'}
    retry: {attempts: 3, delay: 100ms}
  - id: update
    name: Update thing
    owner: ops
    webhook: {url: "{receiver}/update", method: PUT, payload: '{}'}
    retry: {attempts: 2, delay: 100ms}
"""

BOMB_SIZE = 1 << 30  # 1 GiB once inflated


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(BOMB_SIZE)


@pytest.fixture
def raw(bomb: bytes) -> Iterator[RawReceiver]:
    behaviours = {"/drip-body": drip(True), "/drip-head": drip(False), "/bomb": send_bomb(bomb)}
    with RawReceiver(behaviours) as receiver:
        yield receiver


@pytest.fixture
def bot(tmp_path: Path, raw: RawReceiver) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG.replace("{raw}", raw.url))


@pytest.mark.parametrize("action", ["drip-body", "drip-head"])
def test_a_dripping_receiver_does_not_hold_the_run_past_its_timeout(
    bot: Bot, raw: RawReceiver, action: str
) -> None:
    run_action(bot, action)
    deadline = time.monotonic() + 10
    while not raw.requests:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sent = time.monotonic()
    assert final_status(bot, timeout=10) == "FAILURE"
    # One second of timeout, plus the bookkeeping around it; not the 20 s of dripping.
    assert time.monotonic() - sent < 4
    assert "did not answer in time (no complete response within 1 s)" in thread_texts(bot)[-1]
    assert len(raw.requests) == 1  # a POST that timed out is not sent again


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def test_a_gzip_bomb_is_inflated_only_up_to_the_cap(
    bot: Bot, raw: RawReceiver, bomb: bytes
) -> None:
    assert len(bomb) < 20 * 1024
    before = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
    run_action(bot, "bomb")
    assert final_status(bot, timeout=20) == "SUCCESS"
    growth_mib = (_rss_kib("VmHWM") - before) / 1024
    assert growth_mib < 40, f"peak RSS grew by {growth_mib:.0f} MiB"
    run = bot.store.runs()[0]
    [response] = bot.store.events(run.id, kind="webhook_response")
    assert response.detail["truncated"] is True
    assert len(response.detail["body"]) == 64 * 1024
    # The truncated body is no JSON: templates see it as text, cut at the cap.
    assert "Got 65536 characters" in thread_texts(bot)[-1]


def test_an_unknown_charset_falls_back_to_utf8(bot: Bot) -> None:
    bot.receiver.reply(
        "/charset",
        body="h\u00e9llo \u2713".encode() + b"\xff",
        headers={"Content-Type": "text/plain; charset=x-klingon"},
    )
    run_action(bot, "charset")
    assert final_status(bot) == "SUCCESS"
    assert "Got: h\u00e9llo \u2713\ufffd" in thread_texts(bot)[-1]


def test_a_charset_that_is_no_text_encoding_falls_back_to_utf8(bot: Bot) -> None:
    bot.receiver.reply(
        "/charset", body="caf\u00e9", headers={"Content-Type": "text/plain; charset=base64"}
    )
    run_action(bot, "charset")
    assert final_status(bot) == "SUCCESS"
    assert "Got: caf\u00e9" in thread_texts(bot)[-1]


def _deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    "coding, encode",
    [
        ("gzip", gzip.compress),
        ("deflate", lambda data: _deflate(data, zlib.MAX_WBITS)),
        ("deflate", lambda data: _deflate(data, -zlib.MAX_WBITS)),  # raw, as many servers do
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("br", lambda data: data),  # not one we inflate: passed through as is
    ],
)
def test_compressed_answers_are_read(
    bot: Bot, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = encode(b'{"word": "inflated"}')
    bot.receiver.reply("/decoded", body=body, headers={"Content-Encoding": coding})
    run_action(bot, "decoded")
    assert final_status(bot) == "SUCCESS"
    assert "Got: inflated" in thread_texts(bot)[-1]


def test_a_corrupt_compressed_answer_ends_the_run_with_a_reason(bot: Bot) -> None:
    body = gzip.compress(b"{}")[:10] + b"\xff" * 8  # a gzip header, then no valid block
    bot.receiver.reply("/decoded", body=body, headers={"Content-Encoding": "gzip"})
    run_action(bot, "decoded")
    assert final_status(bot) == "FAILURE"
    assert "the response body could not be decompressed" in thread_texts(bot)[-1]
    assert len(bot.receiver.requests("/decoded")) == 1


def test_retry_after_nan_falls_back_to_the_policy_delay(bot: Bot) -> None:
    bot.receiver.reply("/nan", status=503, headers={"Retry-After": "nan"}, times=1)
    run_action(bot, "nan")
    assert final_status(bot) == "SUCCESS"
    first, second = bot.receiver.requests("/nan")
    assert second.time - first.time < 2  # the policy's 100 ms (plus jitter and polling)
    thread = thread_texts(bot)
    assert thread[0].startswith("Attempt 1 of 2 failed (HTTP 503), retrying in ")
    assert "nan" not in thread[0] and "succeeded" in thread[-1]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("nan", None),
        ("-nan", None),
        ("inf", 3600.0),
        ("1e999", 3600.0),
        ("-inf", 0.0),
        ("12", 12.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 +99999999999999999999", None),
        ("soon", None),
    ],
)
def test_retry_after_is_none_or_a_finite_delay_within_an_hour(
    value: str, expected: float | None
) -> None:
    assert retry_after({"Retry-After": value}) == expected


def test_deeply_nested_json_is_read_as_text(bot: Bot) -> None:
    bot.receiver.reply("/nested", body="[" * 30_000 + "]" * 30_000)
    run_action(bot, "nested")
    assert final_status(bot) == "SUCCESS"
    assert "HTTP 200" in thread_texts(bot)[-1]
    assert len(bot.receiver.requests("/nested")) == 1


@pytest.fixture
def post_processing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handling the receiver's answer raises, every time: the job fails after the send."""

    def fail(text: str) -> object:
        raise RuntimeError("injected failure after the send")

    monkeypatch.setattr(templates, "parse_body", fail)


def test_a_post_is_not_sent_again_when_the_bot_fails_after_sending(
    bot: Bot, post_processing_fails: None
) -> None:
    run_action(bot, "create")
    assert final_status(bot, timeout=20) == "FAILURE"
    assert len(bot.receiver.requests("/create")) == 1
    result = thread_texts(bot)[-1]
    assert "The result is unknown: the receiver answered HTTP 200, but the bot failed" in result
    assert "not sent again" in result


def test_a_put_is_sent_again_only_as_the_retry_policy_allows(
    bot: Bot, post_processing_fails: None
) -> None:
    run_action(bot, "update")
    assert final_status(bot, timeout=30) == "FAILURE"
    sent = bot.receiver.requests("/update")
    assert len(sent) == 2  # attempts: 2
    assert len({r.headers["webhook-id"] for r in sent}) == 1
    run = bot.store.runs()[0]
    attempts = [e.detail["attempt"] for e in bot.store.events(run.id, kind="webhook_request")]
    assert attempts == [1, 2]
    thread = thread_texts(bot)
    assert thread[0].startswith("Attempt 1 of 2 was interrupted before its result was known")
    assert "The result is unknown" in thread[-1]


def test_a_delivery_that_keeps_failing_ends_the_run_when_the_worker_gives_up(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slack_down(user_id: str) -> dict:
        raise ConnectionError("users.info unreachable")

    monkeypatch.setattr(run_delivery, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(jobs, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(bot.runtime.runner, "profiles", slack_down)
    run_action(bot, "create")
    assert final_status(bot, timeout=20) == "FAILURE"
    assert bot.receiver.requests("/create") == []
    result = thread_texts(bot)[-1]
    assert (
        "The bot gave up after failing 2 times (ConnectionError: users.info unreachable)" in result
    )


def test_a_response_template_kept_busy_by_the_answer_stops_at_the_render_limit(bot: Bot) -> None:
    bot.receiver.reply("/heavy", body={"text": "qwertyuiopasdfghjklzxcvbnm" * 1000})
    run_action(bot, "heavy")
    assert final_status(bot, timeout=20) == "SUCCESS"
    result = thread_texts(bot)[-1]
    assert "Heavy succeeded (HTTP 200)." in result
    assert "The response template failed: rendering took longer than 2 s" in result
    time.sleep(0.3)
    cpu = time.process_time()
    time.sleep(2.0)
    # An abandoned render would keep a core busy for minutes (a second per second, less on
    # a busy machine); the bot idling takes a few hundredths.
    assert time.process_time() - cpu < 0.3
