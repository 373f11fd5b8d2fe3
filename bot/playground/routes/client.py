"""The page as a Slack client: what its person sees, and what they do.

Each action becomes the signed request Slack would send the bot (see `Interactions`).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.access import Principal, is_admin
from bot.playground.context import Playground
from bot.playground.echo import BEHAVIOURS
from bot.playground.routes.common import bad, person, read_json, run_json

POLL_SECONDS = 8.0


class Client:
    def __init__(self, pg: Playground) -> None:
        self.pg = pg
        self.ws = pg.workspace
        self.slack = pg.interactions

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/playground/state", self.state, methods=["GET"]),
            Route("/playground/command", self.command, methods=["POST"]),
            Route("/playground/message", self.message, methods=["POST"]),
            Route("/playground/action", self.action, methods=["POST"]),
            Route("/playground/submit", self.submit, methods=["POST"]),
            Route("/playground/close", self.close, methods=["POST"]),
            Route("/playground/suggest", self.suggest, methods=["POST"]),
            Route("/playground/home", self.home, methods=["POST"]),
            Route("/playground/dismiss", self.dismiss, methods=["POST"]),
        ]

    def admins(self) -> dict[str, bool]:
        catalog = self.pg.runtime.catalog()
        groups = self.ws.usergroups.items()
        return {
            u: is_admin(catalog, Principal(u, frozenset(g for g, m in groups if u in m)))
            for u in self.ws.users
        }

    async def state(self, request: Request) -> Response:
        """The workspace as this person sees it, once it changed since `version` (a long poll)."""
        user_id = request.query_params.get("user", "")
        if person(self.ws, {"user": user_id}) is None:
            return bad("unknown_user")
        try:
            version = int(request.query_params.get("version", "-1"))
        except ValueError:
            version = -1
        await self.ws.wait(version, POLL_SECONDS, request.is_disconnected)
        snapshot = self.ws.snapshot(user_id)
        catalog = self.pg.runtime.catalog()
        runs = await asyncio.to_thread(self.pg.runtime.store.runs, 50)
        snapshot.update(
            admins=self.admins(),
            commands=self.slack.commands,
            receiver={
                "mode": self.pg.echo.mode,
                "modes": list(BEHAVIOURS),
                "rewritten": bool(self.pg.originals),
            },
            runs=[run_json(r, catalog) for r in runs],
            log_size=len(self.ws.log),
        )
        return JSONResponse(snapshot)

    async def command(self, request: Request) -> Response:
        data = await read_json(request)
        user_id, channel = person(self.ws, data), str(data.get("channel", ""))
        if user_id is None or self.ws.resolve_channel(channel) is None:
            return bad("unknown_user_or_channel")
        return JSONResponse(await self.slack.command(user_id, channel, str(data.get("text", ""))))

    async def message(self, request: Request) -> Response:
        data = await read_json(request)
        user_id, channel = person(self.ws, data), str(data.get("channel", ""))
        if user_id is None or channel not in self.ws.channels:
            return bad("unknown_user_or_channel")
        text = str(data.get("text", "")).strip()
        if text:
            self.ws.post(channel, user_id, text, None, data.get("thread_ts") or None)
        return JSONResponse({"ok": True})

    async def action(self, request: Request) -> Response:
        data = await read_json(request)
        user_id = person(self.ws, data)
        source, element = data.get("source"), data.get("action")
        if user_id is None or not isinstance(source, dict) or not isinstance(element, dict):
            return bad("invalid_arguments")
        values = data.get("values") if isinstance(data.get("values"), dict) else None
        return JSONResponse(await self.slack.block_action(user_id, source, element, values))

    async def submit(self, request: Request) -> Response:
        data = await read_json(request)
        user_id = person(self.ws, data)
        values = data.get("values")
        if user_id is None or not isinstance(values, dict):
            return bad("invalid_arguments")
        view_id = str(data.get("view_id", ""))
        return JSONResponse(await self.slack.submit(user_id, view_id, values))

    async def close(self, request: Request) -> Response:
        data = await read_json(request)
        user_id = person(self.ws, data)
        if user_id is None:
            return bad("unknown_user")
        everything = bool(data.get("all", True))
        view_id = str(data.get("view_id", ""))
        return JSONResponse(await self.slack.close(user_id, view_id, everything=everything))

    async def suggest(self, request: Request) -> Response:
        data = await read_json(request)
        user_id = person(self.ws, data)
        source = data.get("source")
        if user_id is None or not isinstance(source, dict):
            return bad("invalid_arguments")
        answer = await self.slack.suggest(
            user_id,
            source,
            str(data.get("action_id", "")),
            str(data.get("block_id", "")),
            str(data.get("value", "")),
        )
        return JSONResponse(answer)

    async def home(self, request: Request) -> Response:
        user_id = person(self.ws, await read_json(request))
        if user_id is None:
            return bad("unknown_user")
        return JSONResponse(await self.slack.home_opened(user_id))

    async def dismiss(self, request: Request) -> Response:
        data = await read_json(request)
        user_id = person(self.ws, data)
        if user_id is None:
            return bad("unknown_user")
        self.ws.dismiss(user_id, str(data.get("ts", "")))
        return JSONResponse({"ok": True})
