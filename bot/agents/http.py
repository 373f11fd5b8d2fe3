"""`/mcp` on the bot's port: MCP's streamable HTTP, behind the same bearer tokens as the API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from bot.agents.backend import Backend, BackendError
from bot.agents.local import LocalBackend
from bot.agents.server import build_server
from bot.api.service import Api
from bot.runtime import Runtime
from bot.tokens import Caller

CALLER = "actions_caller"  # where the authenticated caller waits in the request's state
MAX_BYTES = 256 * 1024


class McpEndpoint:
    """An ASGI app: authenticate, then hand the request to the SDK's session manager."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.api = Api(runtime)
        self.server = build_server(self._backend)
        self.manager = StreamableHTTPSessionManager(
            app=self.server, max_request_body_size=MAX_BYTES
        )

    def _backend(self, ctx: Any) -> Backend:
        request = getattr(ctx, "request", None)
        caller = getattr(getattr(request, "state", None), CALLER, None)
        if not isinstance(caller, Caller):
            raise BackendError(401, "missing, unknown, expired or revoked token")
        return LocalBackend(self.api, caller)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme, _, offered = headers.get("authorization", "").partition(" ")
        method = scope.get("method", "")
        caller = None
        if scheme.lower() == "bearer":
            caller = await self.runtime.tokens.authenticate(offered.strip(), f"{method} /mcp")
        if caller is None:
            await _unauthorized(send)
            return
        scope.setdefault("state", {})[CALLER] = caller
        await self.manager.handle_request(scope, receive, send)


async def _unauthorized(send: Send) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Unauthorized", "status": 401,
         "detail": "missing, unknown, expired or revoked token"}
    ).encode()  # fmt: skip
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"www-authenticate", b'Bearer realm="actions"'),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
