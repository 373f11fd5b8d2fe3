"""HTTP routes: Slack's single endpoint and health."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import inbound, metrics
from bot.agents.http import McpEndpoint
from bot.api.routes import api_routes
from bot.runs import CallbackResult
from bot.runtime import Runtime
from bot.webhooks import callbacks

log = logging.getLogger(__name__)

# What a receiver's callback is answered, by what came of it.
CALLBACK_STATUS = {
    CallbackResult.RUNNING: 202,
    CallbackResult.APPLIED: 200,
    CallbackResult.INVALID: 400,
    CallbackResult.UNKNOWN_RUN: 404,
    CallbackResult.FINISHED: 409,
    CallbackResult.ACTION_GONE: 409,
}


def health_routes(runtime: Runtime) -> list[Route]:
    """/healthz (alive, database reachable) and /readyz (every check, named)."""

    async def healthz(_: Request) -> Response:
        if not runtime.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await asyncio.to_thread(runtime.store.ping)
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks: dict[str, bool] = {"started": runtime.ready, "worker": runtime.worker.alive}
        try:
            checks["migrations"] = await asyncio.to_thread(runtime.store.ready)
            checks["database"] = True
        except Exception as exc:
            log.warning("readiness: database check failed: %s", exc)
            checks["database"] = checks["migrations"] = False
        ok = all(checks.values())
        return JSONResponse({"ready": ok, **checks}, status_code=200 if ok else 503)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]


def create_web_app(runtime: Runtime, bolt: AsyncApp, *, slack_over_http: bool = True) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await inbound.read_capped(request, inbound.SLACK_MAX_BYTES)
        except inbound.BodyTooLarge as exc:
            return PlainTextResponse(str(exc), status_code=413)
        # Bolt parses the body before it verifies the signature: check it first.
        problem = inbound.slack_signature_problem(
            runtime.settings.SLACK_SIGNING_SECRET, request.headers, body
        )
        if problem:
            return PlainTextResponse(problem, status_code=401)
        kind = (
            "command"
            if b"command=" in body
            else "interaction"
            if body.startswith(b"payload=")
            else "event"
        )
        try:
            response = await handler.handle(request)
            if response.status_code >= 500:
                # Bolt answers 500 when its own middleware fails on a body of the wrong shape
                # (e.g. `"event": null`), before any listener acks; the error is logged.
                return PlainTextResponse("malformed request", status_code=400)
            metrics.ACK_SECONDS.labels(kind).observe(time.perf_counter() - started)
            return response
        except (ValueError, AttributeError, TypeError, KeyError, RecursionError):
            # A signed body that is not Slack's shape fails in Bolt's parsing, not in a
            # listener (deep nesting included).
            log.warning("malformed Slack request body refused")
            return PlainTextResponse("malformed request", status_code=400)

    mcp = McpEndpoint(runtime)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        async with mcp.running():
            yield
        await runtime.stop()

    routes = [
        *health_routes(runtime),
        callback_route(runtime),
        *api_routes(runtime, runtime.tokens),
        Route("/mcp", mcp, methods=["GET", "POST", "DELETE"]),
    ]
    if runtime.settings.METRICS_PORT is None:  # else served alone (create_metrics_app)
        routes.append(metrics_route(runtime))
    if slack_over_http:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)


def callback_route(runtime: Runtime) -> Route:
    """`/runs/{run_id}/callback`: async receivers report on their runs."""

    async def run_callback(request: Request) -> Response:
        """An async receiver reports on a run: token required, signature checked if sent."""
        run_id = request.path_params["run_id"]
        try:
            body = await inbound.read_capped(request, runtime.settings.CALLBACK_MAX_BYTES)
        except inbound.BodyTooLarge as exc:
            return JSONResponse({"error": str(exc)}, status_code=413)
        if not callbacks.authentic(runtime, run_id, request.headers, request.query_params, body):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            update = inbound.parse_json(body)
        except inbound.MalformedJSON as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if not isinstance(update, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        result, message = await runtime.runner.callback(run_id, update, size=len(body))
        status = CALLBACK_STATUS[result]
        return JSONResponse({"result" if status < 400 else "error": message}, status_code=status)

    return Route("/runs/{run_id}/callback", run_callback, methods=["POST"])


def metrics_route(runtime: Runtime) -> Route:
    """`/metrics`: behind `Authorization: Bearer <METRICS_TOKEN>` when that is set."""
    token = runtime.settings.METRICS_TOKEN

    async def metrics_page(request: Request) -> Response:
        if token and not _bearer_is(request, token):
            return PlainTextResponse(
                "missing or wrong bearer token (METRICS_TOKEN)",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        depth = await asyncio.to_thread(runtime.store.queue_depth)
        return Response(metrics.render(depth), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics_page, methods=["GET"])


def _bearer_is(request: Request, token: str) -> bool:
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    # Constant time, on bytes: a non-ASCII header must be a refusal, not an error.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        offered.strip().encode(), token.encode()
    )


def create_metrics_app(runtime: Runtime) -> Starlette:
    """Only `/metrics`, for METRICS_PORT: scraped inside the network, never exposed."""
    return Starlette(routes=[metrics_route(runtime)])
