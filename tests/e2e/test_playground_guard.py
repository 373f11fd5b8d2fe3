"""The playground answers only its own page on this machine, and its echo receiver calls
back only through the webhooks' SSRF guard. Over real HTTP, as a hostile page would try."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.settings import Settings
from tests.conftest import free_port
from tests.fakes import Receiver
from tests.support import ASYNC_CONFIG, Running, serve


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("guarded-playground")
    port = free_port()
    config = tmp / "actions.yml"
    config.write_text(ASYNC_CONFIG.replace("{port}", str(port)))
    base = Settings(DATABASE_URL=f"sqlite:///{tmp / 'pg.db'}", ACTIONS_CONFIG=str(config))
    yield from serve(base, port)


def port_of(pg: Running) -> int:
    return int(pg.url.rsplit(":", 1)[1])


def send(
    pg: Running, method: str, path: str, headers: dict[str, str], content: bytes | None = None
) -> httpx.Response:
    return httpx.request(
        method, pg.url + path, headers=headers, content=content, trust_env=False, timeout=10
    )


def set_mode(pg: Running, mode: str, **headers: str) -> httpx.Response:
    body = f'{{"mode": "{mode}"}}'.encode()
    kind = {"Content-Type": "application/json"}
    return send(pg, "POST", "/playground/receiver", {**kind, **headers}, body)


def mode(pg: Running) -> str:
    return pg.state()["receiver"]["mode"]


def test_only_local_host_names_with_its_port(pg: Running) -> None:
    port = port_of(pg)
    for host in ("localhost", "127.0.0.1", "[::1]"):
        answer = send(pg, "GET", "/playground/info", {"Host": f"{host}:{port}"})
        assert answer.status_code == 200, host
    # DNS rebinding: a name the attacker controls now points at 127.0.0.1.
    for host in (
        f"evil.example:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.1:{port + 1}",
        "localhost",
        f"0.0.0.0:{port}",
    ):
        for method, path in (("GET", "/playground/info"), ("GET", "/playground/log")):
            refused = send(pg, method, path, {"Host": host})
            assert refused.status_code == 403, host
            assert "Host" in refused.json()["error"] and "refused" in refused.json()["error"]
        assert set_mode(pg, "fail", Host=host).status_code == 403
        # The bot's own routes behind the playground are guarded as well.
        assert send(pg, "GET", "/healthz", {"Host": host}).status_code == 403
    assert mode(pg) == "echo"


def test_foreign_origins_are_refused(pg: Running) -> None:
    port = port_of(pg)
    for origin in (
        "http://evil.example",
        "null",
        f"http://localhost:{port}",
        f"https://127.0.0.1:{port}",
    ):
        refused = set_mode(pg, "fail", Origin=origin)
        assert refused.status_code == 403, origin
        assert "Origin" in refused.json()["error"]
        assert send(pg, "GET", "/playground/info", {"Origin": origin}).status_code == 403
    assert mode(pg) == "echo"
    # The page itself: same origin.
    assert set_mode(pg, "slow", Origin=f"http://127.0.0.1:{port}").status_code == 200
    assert mode(pg) == "slow"
    assert set_mode(pg, "echo").status_code == 200  # no Origin: a script on this machine


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_page_api_takes_only_json(pg: Running, content_type: str | None) -> None:
    """What a cross-site form can send (no preflight) is refused."""
    headers = {"Content-Type": content_type} if content_type else {}
    refused = send(pg, "POST", "/playground/receiver", headers, b'{"mode": "fail"}')
    assert refused.status_code == 415
    assert "application/json" in refused.json()["error"]
    command = b'{"user": "U0DEV", "channel": "C0CHAN", "text": "/actions"}'
    assert send(pg, "POST", "/playground/command", headers, command).status_code == 415
    assert mode(pg) == "echo"
    # The echo receiver takes whatever a webhook sends.
    assert send(pg, "POST", "/playground/echo/x", headers, b"a=b").status_code == 200


def test_echo_calls_back_only_the_bots_own_callback(
    pg: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.playground.echo")
    with Receiver() as internal:  # a service on this machine, on another port
        targets = [
            f"{internal.url}/runs/r1/callback",  # loopback, but not the bot
            "http://169.254.169.254/runs/r1/callback",  # cloud metadata
            "http://10.0.0.7/runs/r1/callback",
            f"{pg.url}/playground/receiver",  # the bot itself, but not a callback
        ]
        for target in targets:
            answer = pg.http.post(
                "/playground/echo/async",
                headers={"X-Actions-Callback-Url": target, "X-Actions-Callback-Token": "t"},
                content=b"{}",
            )
            assert answer.status_code == 202
        deadline = time.monotonic() + 10
        while sum("refused" in r.message or "failed" in r.message for r in caplog.records) < 4:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.1)
        assert internal.received == []
    refusals = caplog.text
    assert "loopback" in refusals and "link-local" in refusals and "private" in refusals
    assert "not a run's callback URL" in refusals
    assert mode(pg) == "echo"
