"""The echo receiver the actions' webhooks are sent to, and the switch for how it answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground import config
from bot.playground.context import Playground
from bot.playground.echo import BEHAVIOURS
from bot.playground.routes.common import bad, read_json

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class Receiver:
    def __init__(self, pg: Playground) -> None:
        self.pg = pg

    def routes(self) -> list[BaseRoute]:
        echo = self.pg.echo.handle
        return [
            Route("/playground/receiver", self.mode, methods=["POST"]),
            Route(config.ECHO_PATH, echo, methods=METHODS),
            Route(config.ECHO_PATH + "/{name}", echo, methods=METHODS),
        ]

    async def mode(self, request: Request) -> Response:
        """Switch how the echo receiver answers (echo, slow, fail, async)."""
        mode = str((await read_json(request)).get("mode", ""))
        if mode not in BEHAVIOURS:
            return bad("unknown_mode")
        self.pg.echo.mode = mode
        self.pg.workspace.changed()
        return JSONResponse({"ok": True, "mode": mode})
