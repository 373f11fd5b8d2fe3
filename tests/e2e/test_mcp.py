"""The MCP server, driven by the `mcp` SDK's own client over both transports:
streamable HTTP at /mcp, and stdio through `python -m bot mcp` against the REST API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import Bot, start_bot
from tests.support import API_CONFIG as CONFIG
from tests.support import click, request_message, texts, token, wait

AGENT = types.Implementation(name="claude-code", version="1.0")


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG, API_TOKEN_KEY="api-token-key-for-tests")


def over_http(bot: Bot, value: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {value}"}, timeout=20)
    return Client(streamable_http_client(f"{bot.url}/mcp", http_client=http), client_info=AGENT)


def over_stdio(bot: Bot, value: str) -> Client:
    env = {"ACTIONS_API_URL": bot.url, "ACTIONS_API_TOKEN": value, "PATH": "/usr/bin:/bin"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "bot", "mcp"], env=env)
    return Client(params, client_info=AGENT)


def data(result: Any) -> Any:
    return json.loads(result.content[0].text)


async def session(bot: Bot, client: Client) -> dict[str, Any]:
    """List, describe, run (approval-gated for agents) and follow a run; return what was seen."""
    seen: dict[str, Any] = {}
    async with client:
        tools = (await client.list_tools()).tools
        seen["tools"] = {t.name: t.description for t in tools}
        seen["actions"] = data(await client.call_tool("list_actions", {}))["actions"]
        seen["describe"] = data(
            await client.call_tool("describe_action", {"action": "lock-deploys"})
        )
        hidden = await client.call_tool("describe_action", {"action": "admin-only"})
        seen["hidden"] = (hidden.is_error, data(hidden))
        run = await client.call_tool("run_action", {"action": "rollback", "channel": "C0CHAN"})
        seen["run"] = data(run)
        run_id = seen["run"]["id"]
        await asyncio.to_thread(click, bot, "approve_run", run_id, "U0SRE1")
        for _ in range(100):
            got = data(await client.call_tool("get_run", {"run_id": run_id}))
            if got["status"] == "SUCCESS":
                break
            await asyncio.sleep(0.1)
        seen["final"] = got
        seen["runs"] = data(await client.call_tool("list_runs", {"action": "rollback"}))
        refused = await client.call_tool("run_action", {"action": "lock-deploys", "inputs": {}})
        seen["refused"] = (refused.is_error, data(refused))
    return seen


def check(bot: Bot, seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == {
        "list_actions",
        "describe_action",
        "run_action",
        "get_run",
        "list_runs",
    }
    assert "rollback: Roll back — Rolls back the last deploy" in seen["tools"]["run_action"]
    offered = {a["id"] for a in seen["actions"]}
    assert offered == {"lock-deploys", "prod-deploy", "rollback"}  # agents: true only
    assert seen["describe"]["inputs_schema"]["required"] == ["reason"]
    assert seen["hidden"][0] and seen["hidden"][1]["status"] == 404
    # People need no approval for a rollback; an agent's waits for one (approval.agents).
    assert seen["run"]["status"] == "PENDING_APPROVAL" and seen["run"]["via"] == "mcp"
    assert seen["final"]["status"] == "SUCCESS"
    assert seen["final"]["approvals"][0]["approver"] == "U0SRE1"
    assert [r["id"] for r in seen["runs"]["runs"]] == [seen["run"]["id"]]
    assert seen["refused"][0] and seen["refused"][1]["status"] == 422
    assert "reason" in seen["refused"][1]["errors"]
    assert bot.receiver.requests("/rollback")
    request = request_message(bot)
    assert "<@U0DEV>'s agent *claude-code* asks to run *Roll back* (token *ci*)" in texts(
        request["blocks"]
    )
    wait(lambda: bot.slack.messages("C0CHAN"), what="the status message")
    assert "agent *claude-code*" in texts(bot.slack.messages("C0CHAN")[0]["blocks"])
    requested = bot.store.events(seen["run"]["id"], kind="requested")[0]
    assert requested.detail["via"] == "mcp" and requested.detail["agent"] == "claude-code"


def test_mcp_over_streamable_http(bot: Bot) -> None:
    check(bot, asyncio.run(session(bot, over_http(bot, token(bot)))))


def test_mcp_over_stdio_through_the_rest_api(bot: Bot) -> None:
    check(bot, asyncio.run(session(bot, over_stdio(bot, token(bot)))))


def test_mcp_http_needs_a_token(bot: Bot) -> None:
    response = httpx2.post(f"{bot.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_stdio_server_says_what_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "mcp"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "ACTIONS_API_URL" in done.stderr and "ACTIONS_API_TOKEN" in done.stderr
