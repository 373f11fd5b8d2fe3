"""The playground answers only its own page on this machine.

It drives a bot, holds a webhook signing secret and shows the audit log, with no login:
any web page the developer has open could otherwise post to it (a form or `fetch` to
127.0.0.1), and a DNS-rebound name could read it. So every request must name the
playground itself as `Host` (`localhost`, `127.0.0.1` or `[::1]` with its port); a
browser's `Origin`, when sent, must be that same origin; and the page's POST API takes
only `application/json`, which a cross-site form cannot send.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class LocalOnly:
    """ASGI middleware: refuse (403, 415) what did not come from the playground's page.

    ``json_api`` are the path prefixes of the page's POST API; ``except_for`` are paths
    under them that other clients call (the echo receiver, Slack-side uploads).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int,
        json_api: tuple[str, ...] = (),
        except_for: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        hosts = {f"{h}:{port}" for h in LOCAL_HOSTS}
        if port == 80:  # a browser leaves the default port out
            hosts |= set(LOCAL_HOSTS)
        self.hosts = frozenset(hosts)
        self.json_api = json_api
        self.except_for = except_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, reason = refusal
        body = json.dumps({"ok": False, "error": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) to refuse the request with, or None to let it through."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return 403, (
                f"Host {host or '(none)'!r} refused: the playground answers only "
                f"{', '.join(sorted(self.hosts))}"
            )
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"http://{host}":
            return 403, f"Origin {origin!r} refused: only the playground's own page may call it"
        path = scope["path"]
        if (
            scope["method"] == "POST"
            and path.startswith(self.json_api)
            and not path.startswith(self.except_for)
        ):
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return 415, f"Content-Type {kind or '(none)'!r} refused: send application/json"
        return None
