"""A webhook receiver on loopback that records what the bot sends (`Receiver`)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from bot.testing.http import (
    Canned,
    CannedResponses,
    Handler,
    Headers,
    HTTPDouble,
    encode_body,
    headers_from,
)


@dataclass
class Received:
    """One request received by :class:`Receiver`. ``query`` maps names to their last value."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    time: float
    raw_query: str = field(default="", repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver(HTTPDouble):
    """A webhook endpoint standing in for the third-party services actions call.

    Records every request; answers 200 ``{"ok": true}`` unless :meth:`reply` programs
    something else for a path (or ``"*"`` for any path).
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._received: list[Received] = []
        self._canned = CannedResponses()

    def url_for(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this receiver."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def reply(
        self,
        path: str,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"{}",
        headers: dict[str, str] | None = None,
        delay: float = 0,
        times: int | None = None,
        hold: threading.Event | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (all if None) with this response,
        after sleeping ``delay`` seconds (and, with ``hold``, once that event is set: at most
        10 s). Finite replies are used first, then the standing one.
        ``path`` excludes the query string; ``"*"`` matches any path."""
        canned = Canned(status, encode_body(body), dict(headers or {}), delay, times, hold)
        self._canned.add(path, canned)

    @property
    def received(self) -> list[Received]:
        """Everything received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def requests(self, path: str | None = None) -> list[Received]:
        """Received requests, optionally only those to ``path``."""
        return [r for r in self.received if path is None or r.path == path]

    def wait(self, count: int = 1, timeout: float = 5) -> list[Received]:
        """Block until at least ``count`` requests arrived; returns all of them.

        Raises AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} request(s) within {timeout}s, "
                        f"got {len(self._received)}: "
                        f"{[f'{r.method} {r.path}' for r in self._received]}"
                    )
                self._changed.wait(min(remaining, 0.05))
            return list(self._received)

    def reset(self) -> None:
        """Forget received requests and programmed replies."""
        with self._lock:
            self._received.clear()
        self._canned.clear()

    def _handle(self, handler: Handler) -> None:
        body = handler.read_body()
        split = urllib.parse.urlsplit(handler.path)
        received = Received(
            method=handler.command,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
            headers=headers_from(handler.headers),
            body=body,
            time=time.time(),
            raw_query=split.query,
        )
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()
        canned = self._canned.take(split.path, "*")
        if canned is None:
            handler.respond(200, b'{"ok": true}')
            return
        if canned.delay > 0:
            time.sleep(canned.delay)
        if canned.hold is not None:
            canned.hold.wait(10)
        handler.respond(canned.status, canned.body, canned.headers)
