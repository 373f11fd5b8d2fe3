"""The page itself: its HTML and its static files (styles and ES modules, no build step)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parents[1] / "static"
JAVASCRIPT = "text/javascript; charset=utf-8"


class Static(StaticFiles):
    """Static files, with JavaScript always labelled as such.

    Browsers refuse to run a module script served with another type, and the type of
    `.js` comes from the system's MIME table, which some systems map to `text/plain`.
    """

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if str(full_path).endswith(".js"):
            response.headers["content-type"] = JAVASCRIPT
        return response


async def index(_: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        Mount("/playground/static", Static(directory=STATIC), name="static"),
    ]
