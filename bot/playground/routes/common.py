"""What the routers share: reading the page's JSON, answering a bad request, runs as JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.catalog import Catalog
from bot.playground.workspace import BOT_USER_ID, SLACKBOT, PageWorkspace
from bot.store import Run


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object; anything else reads as empty (the handler says what's missing)."""
    try:
        value = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def bad(error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=400)


def person(ws: PageWorkspace, data: dict[str, Any]) -> str | None:
    """The `user` the page acts as, if it is a person in the workspace (not the bot)."""
    user_id = str(data.get("user", ""))
    usable = user_id in ws.users and user_id not in (BOT_USER_ID, SLACKBOT)
    return user_id if usable else None


def run_json(run: Run, catalog: Catalog) -> dict[str, Any]:
    action = catalog.action(run.action_id)
    return {
        "id": run.id,
        "action_id": run.action_id,
        "action_name": action.name if action else run.action_id,
        "user_id": run.user_id,
        "channel_id": run.channel_id,
        "message_ts": run.message_ts,
        "service_id": run.service_id,
        "status": run.status,
        "inputs": run.inputs,
        "summary": run.summary,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
