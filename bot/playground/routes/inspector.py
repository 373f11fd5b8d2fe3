"""The side panel: the playground's setup, recent runs with their audit trail, Slack traffic."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground import config
from bot.playground.context import Playground
from bot.playground.routes.common import run_json


def shown_path(path: str) -> str:
    """A config path as the person typed it: relative to here when inside, else its name."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return resolved.name


class Inspector:
    def __init__(self, pg: Playground) -> None:
        self.pg = pg

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/playground/info", self.info, methods=["GET"]),
            Route("/playground/runs", self.runs, methods=["GET"]),
            Route("/playground/runs/{run_id}", self.run_detail, methods=["GET"]),
            Route("/playground/log", self.protocol_log, methods=["GET"]),
        ]

    async def info(self, _: Request) -> Response:
        settings = self.pg.settings
        return JSONResponse(
            {
                "config": settings.ACTIONS_CONFIG,
                "config_name": shown_path(settings.ACTIONS_CONFIG),
                "database": self.pg.runtime.store.engine.url.render_as_string(hide_password=True),
                "public_url": settings.PUBLIC_URL,
                "echo": f"{settings.PUBLIC_URL}{config.ECHO_PATH}",
                "originals": self.pg.originals,
                "stand_in_secrets": sorted(self.pg.stand_ins),
                "header_prefix": settings.WEBHOOK_HEADER_PREFIX,
            }
        )

    async def runs(self, _: Request) -> Response:
        catalog = self.pg.runtime.catalog()
        found = await asyncio.to_thread(self.pg.runtime.store.runs, 50)
        return JSONResponse([run_json(r, catalog) for r in found])

    async def run_detail(self, request: Request) -> Response:
        runtime = self.pg.runtime
        run_id = request.path_params["run_id"]
        run = await asyncio.to_thread(runtime.store.get_run, run_id)
        if run is None:
            return JSONResponse({"ok": False, "error": "not_found"}, status_code=404)
        events = await asyncio.to_thread(runtime.store.events, run_id)
        redact = runtime.runner.run_redactor(run_id, {})  # its callback tokens, too
        return JSONResponse(
            {
                "run": run_json(run, runtime.catalog()),
                "original_url": self.pg.originals.get(run.action_id),
                "events": [
                    {
                        "id": e.id,
                        "kind": e.kind,
                        "at": e.at.isoformat() if e.at else None,
                        "actor": e.actor,
                        "detail": redact(e.detail),
                    }
                    for e in events
                ],
            }
        )

    async def protocol_log(self, request: Request) -> Response:
        after = int(request.query_params.get("after", "0") or 0)
        return JSONResponse([e for e in self.pg.workspace.log if e["n"] > after])
