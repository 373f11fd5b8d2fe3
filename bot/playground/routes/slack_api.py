"""Slack's side of the wire: the Web API the bot calls, response_url, file upload and download."""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground import answers
from bot.playground.context import Playground

# Form-encoded Web API calls send these as JSON text.
JSON_FIELDS = ("blocks", "view", "attachments", "metadata", "files")


async def api_params(request: Request) -> dict[str, Any] | None:
    """A Web API call's arguments from its query, JSON or form body; None for broken JSON."""
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" and raw:
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        if isinstance(body, dict):
            params.update(body)
    elif raw:
        params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


class SlackApi:
    """The in-process Slack the bot reaches through `SLACK_API_URL`."""

    def __init__(self, pg: Playground) -> None:
        self.ws = pg.workspace
        self.slack = pg.interactions

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/{method}", self.api, methods=["GET", "POST"]),
            Route("/playground/response_url/{token}", self.response_url, methods=["POST"]),
            Route("/playground/upload/{file_id}", self.upload, methods=["POST"]),
            Route("/playground/files/{file_id}", self.download, methods=["GET"]),
        ]

    async def api(self, request: Request) -> Response:
        params = await api_params(request)
        if params is None:
            return JSONResponse({"ok": False, "error": "invalid_json"})
        auth = request.headers.get("authorization", "")
        token = (
            auth[7:].strip() if auth.lower().startswith("bearer ") else params.pop("token", None)
        )
        answer = await self.ws.call(request.path_params["method"], params, token)
        return JSONResponse(answer)

    async def response_url(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:  # Slack also takes a form-encoded `payload`
            fields = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
            try:
                body = json.loads(fields.get("payload", "{}"))
            except ValueError:
                body = None
        if not isinstance(body, dict):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        status, answer = answers.respond(self.ws, request.path_params["token"], body)
        return JSONResponse(answer, status_code=status)

    async def upload(self, request: Request) -> Response:
        # Where files_upload_v2 POSTs the bytes (Slack's files.slack.com upload URL).
        if not self.ws.upload(request.path_params["file_id"], await request.body()):
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        return Response("OK - uploaded", media_type="text/plain")

    async def download(self, request: Request) -> Response:
        entry = self.ws.files.get(request.path_params["file_id"])
        if entry is None or entry["data"] is None:
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        name = urllib.parse.quote(entry["filename"])
        return Response(
            entry["data"],
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )
