"""The MCP tools: list_actions, describe_action, run_action, get_run, list_runs.

Built on the SDK's low-level `Server` so the tool descriptions can name the actions the
caller's agent may use (their names and descriptions). Every call goes to a `Backend`:
the REST API's own operations, so admission, approvals and audit are the API's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from bot.agents.backend import Backend, BackendError

log = logging.getLogger(__name__)

NAME = "slack-actions"
ID = {"type": "string", "minLength": 1, "maxLength": 200}
RUN_ARGS = {
    "action": {**ID, "description": "The action's id (from list_actions)"},
    "inputs": {"type": "object", "description": "By input identifier; see describe_action"},
    "service": {"type": "string", "description": "For service-scoped actions"},
    "channel": {"type": "string", "description": "Slack channel id to post in; none: a DM"},
}
TOOLS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "list_actions": ("The actions you may ask to run, and whether you may run each.", {}, []),
    "describe_action": (
        "One action, with the JSON Schema of its inputs.",
        {"action": RUN_ARGS["action"]},
        ["action"],
    ),
    "run_action": (
        "Ask to run an action. A person sees it in Slack; it may wait for their approval "
        "(status PENDING_APPROVAL): follow it with get_run.",
        RUN_ARGS,
        ["action"],
    ),
    "get_run": ("A run: status, approvals, attempts, result.", {"run_id": ID}, ["run_id"]),
    "list_runs": (
        "Your runs, newest first; pass next_cursor as cursor for more.",
        {
            "action": {"type": "string"},
            "status": {"type": "string"},
            "since": {"type": "string", "description": "ISO 8601 time"},
            "cursor": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        [],
    ),
}

BackendFor = Callable[[Any], Backend]  # the request context → the caller's backend


def agent_name(ctx: Any) -> str:
    """The client's own name (from its initialize request); `an MCP client` if none."""
    params = getattr(ctx.session, "client_params", None)
    info = getattr(params, "client_info", None)
    name = str(getattr(info, "name", "") or "").strip()
    return name[:75] or "an MCP client"


def _catalog_text(actions: list[dict[str, Any]]) -> str:
    lines = [
        f"- {a['id']}: {a['name']}" + (f" — {a['description']}" if a.get("description") else "")
        for a in actions[:50]
    ]
    return "\n\nActions:\n" + "\n".join(lines) if lines else "\n\nNo actions are offered."


def _result(data: Any, error: bool = False) -> types.CallToolResult:
    structured = data if isinstance(data, dict) else {"result": data}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(data, indent=1))],
        structured_content=structured,
        is_error=error,
    )


async def _call(backend: Backend, agent: str, name: str, args: dict[str, Any]) -> Any:
    def text(key: str) -> str:
        value = args.get(key)
        if not isinstance(value, str) or not value:
            raise BackendError(422, f"{key}: a non-empty string is required")
        return value

    if name == "list_actions":
        return {"actions": await backend.list_actions(agent)}
    if name == "describe_action":
        return await backend.describe_action(agent, text("action"))
    if name == "run_action":
        body = {k: args[k] for k in ("inputs", "service", "channel") if args.get(k) is not None}
        return await backend.run_action(agent, text("action"), body)
    if name == "get_run":
        return await backend.get_run(agent, text("run_id"))
    if name == "list_runs":
        keys = ("action", "status", "since", "cursor", "limit")
        return await backend.list_runs(agent, {k: args[k] for k in keys if args.get(k)})
    raise BackendError(404, f"no tool {name[:64]!r}")


def build_server(backend_for: BackendFor) -> Server[Any]:
    async def list_tools(ctx: Any, _: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        try:
            backend = backend_for(ctx)
            offered = _catalog_text(await backend.list_actions(agent_name(ctx)))
        except BackendError as exc:
            offered = f"\n\n(The actions could not be listed: {exc})"
        tools = [
            types.Tool(
                name=name,
                description=about + (offered if name in ("list_actions", "run_action") else ""),
                input_schema={"type": "object", "properties": props, "required": required},
            )
            for name, (about, props, required) in TOOLS.items()
        ]
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments if isinstance(params.arguments, dict) else {}
        try:
            backend = backend_for(ctx)
            return _result(await _call(backend, agent_name(ctx), params.name, args))
        except BackendError as exc:
            return _result({"status": exc.status, "error": str(exc), "errors": exc.errors}, True)

    return Server(NAME, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(backend: Backend) -> None:
    server = build_server(lambda _ctx: backend)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
