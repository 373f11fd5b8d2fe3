"""`/api/v1/…`: the REST API over HTTP, and `/api/openapi.json`.

Handlers are thin: authenticate the bearer token, read and validate the body or query,
call `Api`, answer JSON or `application/problem+json` (RFC 9457). Nothing here answers 500
for what a caller sent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import inbound
from bot.api import models, openapi
from bot.api.service import Api, ApiProblem
from bot.runtime import Runtime
from bot.tokens import Caller, Tokens

log = logging.getLogger(__name__)

AGENT_HEADER = "x-actions-agent"  # set by `python -m bot mcp`: the agent's client name
Handler = Callable[[Request, Caller], Awaitable[Response]]


def problem_response(problem: ApiProblem) -> Response:
    headers = {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="actions"'
    if problem.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(problem.retry_after)))
    body = problem.problem().model_dump(exclude_none=True)
    return JSONResponse(
        body, status_code=problem.status, headers=headers, media_type=openapi.PROBLEM
    )


def json_response(model: BaseModel, status: int = 200) -> Response:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def bearer(request: Request) -> str:
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    return offered.strip() if scheme.lower() == "bearer" else ""


def agent_of(request: Request) -> str | None:
    name = request.headers.get(AGENT_HEADER)
    return name.strip()[:75] if name is not None else None


async def read_body(request: Request, limit: int, model: type[models.Body]) -> Any:
    try:
        raw = await inbound.read_capped(request, limit)
    except inbound.BodyTooLarge as exc:
        raise ApiProblem(413, "Body too large", str(exc)) from None
    try:
        data = inbound.parse_json(raw or b"{}")
    except inbound.MalformedJSON as exc:
        raise ApiProblem(400, "Malformed JSON", str(exc)) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors()[:20]}
        raise ApiProblem(
            422, "Invalid body", "the body does not match the schema", errors
        ) from None


def since_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiProblem(422, "Invalid filter", "since: expected an ISO 8601 time") from None


def limit_of(value: str | None) -> int:
    if value is None:
        return 20
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 100):
        raise ApiProblem(422, "Invalid filter", "limit: a whole number from 1 to 100")
    return int(value)


def authed(tokens: Tokens, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that answers 401 without a valid bearer token, and problems as JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            caller = await tokens.authenticate(
                bearer(request), f"{request.method} {request.url.path}"[:200]
            )
            if caller is None:
                raise ApiProblem(401, "Unauthorized", "missing, unknown, expired or revoked token")
            return await handler(request, caller)
        except ApiProblem as problem:
            return problem_response(problem)

    return endpoint


class Handlers:
    """One method per authenticated endpoint: read the request, call `Api`, answer JSON."""

    def __init__(self, api: Api, limit: int) -> None:
        self.api = api
        self.limit = limit

    async def list_actions(self, request: Request, caller: Caller) -> Response:
        return json_response(await self.api.actions(caller, agent_of(request)))

    async def get_action(self, request: Request, caller: Caller) -> Response:
        action_id = request.path_params["action_id"]
        return json_response(await self.api.action(caller, action_id, agent_of(request)))

    async def input_options(self, request: Request, caller: Caller) -> Response:
        query = request.query_params
        found = await self.api.options(
            caller,
            request.path_params["action_id"],
            request.path_params["identifier"],
            query.get("q", ""),
            query.get("service") or None,
        )
        return json_response(found)

    async def start_run(self, request: Request, caller: Caller) -> Response:
        body = await read_body(request, self.limit, models.RunRequest)
        run, created = await self.api.start(
            caller,
            request.path_params["action_id"],
            body,
            request.headers.get("idempotency-key"),
            agent_of(request),
        )
        return json_response(run, 202 if created else 200)

    async def get_run(self, request: Request, caller: Caller) -> Response:
        return json_response(await self.api.run(caller, request.path_params["run_id"]))

    async def list_runs(self, request: Request, caller: Caller) -> Response:
        query = request.query_params
        page = await self.api.runs(
            caller,
            action=query.get("action") or None,
            status=query.get("status") or None,
            since=since_of(query.get("since")),
            cursor=query.get("cursor") or None,
            limit=limit_of(query.get("limit")),
        )
        return json_response(page)

    async def cancel_run(self, request: Request, caller: Caller) -> Response:
        return json_response(await self.api.cancel(caller, request.path_params["run_id"]))


def api_routes(runtime: Runtime, tokens: Tokens) -> list[Route]:
    h = Handlers(Api(runtime), runtime.settings.API_MAX_BYTES)
    spec = openapi.document(runtime.settings.PUBLIC_URL)

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(spec)

    return [
        Route("/api/openapi.json", openapi_json, methods=["GET"]),
        Route("/api/v1/actions", authed(tokens, h.list_actions), methods=["GET"]),
        Route("/api/v1/actions/{action_id}", authed(tokens, h.get_action), methods=["GET"]),
        Route(
            "/api/v1/actions/{action_id}/inputs/{identifier}/options",
            authed(tokens, h.input_options),
            methods=["GET"],
        ),
        Route("/api/v1/actions/{action_id}/runs", authed(tokens, h.start_run), methods=["POST"]),
        Route("/api/v1/runs", authed(tokens, h.list_runs), methods=["GET"]),
        Route("/api/v1/runs/{run_id}", authed(tokens, h.get_run), methods=["GET"]),
        Route("/api/v1/runs/{run_id}/cancel", authed(tokens, h.cancel_run), methods=["POST"]),
    ]
