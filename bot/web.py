"""HTTP routes: Slack's single endpoint and health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime

log = logging.getLogger(__name__)


def create_web_app(runtime: Runtime, bolt: AsyncApp, *, slack_over_http: bool = True) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        try:
            return await handler.handle(request)
        except (ValueError, AttributeError, TypeError, KeyError):
            # Bolt parses the body before verifying it: a body that is not Slack's shape
            # ends up here instead of in a listener.
            log.warning("malformed Slack request body refused")
            return PlainTextResponse("malformed request", status_code=400)

    async def healthz(_: Request) -> Response:
        if not runtime.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await asyncio.to_thread(runtime.store.ping)
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop()

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack_over_http:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)
