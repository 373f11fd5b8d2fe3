"""`python -m bot` in Socket Mode: a real process, a fake Socket Mode WebSocket server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiohttp import WSMsgType, web

from tests.conftest import BOT_TOKEN, CONFIG, WEBHOOK_SECRET, free_port
from tests.fakes import FakeSlack, Receiver


class FakeSocketMode:
    """Slack's Socket Mode side: hands out envelopes, collects the app's acks."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self.connected = threading.Event()
        self.acks: dict[str, dict[str, Any]] = {}
        self._socket: web.WebSocketResponse | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket = socket
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                self.acks[data.get("envelope_id", "")] = data
        return socket

    def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        runner = web.AppRunner(app)
        self._thread.start()

        async def serve() -> None:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        assert self._socket is not None
        asyncio.run_coroutine_threadsafe(self._socket.send_json(envelope), self.loop).result(5)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            assert time.monotonic() < deadline, "no ack for the envelope"
            time.sleep(0.02)
        return self.acks[envelope_id]


def test_socket_mode_end_to_end(tmp_path: Path) -> None:
    socket = FakeSocketMode()
    socket.start()
    with FakeSlack() as slack, Receiver() as receiver:
        slack.ACCEPTED_TOKEN_PREFIXES = ("xoxb-", "xapp-")
        slack.set_response("apps.connections.open", {"ok": True, "url": socket.url})
        config = tmp_path / "actions.yml"
        config.write_text(CONFIG.replace("{receiver}", receiver.url))
        port = free_port()
        env = {
            "PATH": os.environ["PATH"],
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": "xapp-1-test",
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "ACTIONS_CONFIG": str(config),
            "WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
            "ACTIONS_SECRET_TRACKER_TOKEN": "t0ken-value",
            "PORT": str(port),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            env=env,
            cwd=Path(__file__).parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert socket.connected.wait(20), "the bot never opened the Socket Mode connection"
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False, timeout=5)
            assert health.status_code == 200
            envelope = socket.send(
                "slash_commands",
                {
                    "command": "/actions",
                    "text": "",
                    "user_id": "U0DEV",
                    "user_name": "dev",
                    "channel_id": "C0CHAN",
                    "team_id": "T0TEAM",
                    "trigger_id": "1.2.3",
                    "response_url": slack.new_response_url(),
                    "api_app_id": "A0APP",
                },
            )
            socket.wait_ack(envelope)
            reply = slack.wait_for("response_url", timeout=10)[0].params
            assert "Create ticket" in json.dumps(reply["blocks"])
        finally:
            process.terminate()
            output = process.communicate(timeout=15)[0]
        # uvicorn re-raises SIGTERM after a clean shutdown.
        assert process.returncode in (0, -15), output
        assert "Application shutdown complete" in output and "Traceback" not in output
