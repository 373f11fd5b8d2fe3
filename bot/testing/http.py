"""Loopback HTTP doubles: a threaded server on 127.0.0.1 and the pieces the doubles share."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class Headers(dict[str, str]):
    """A plain dict of headers as received (case preserved) with case-insensitive lookups."""

    def _find(self, key: object) -> str | None:
        if isinstance(key, str):
            if dict.__contains__(self, key):
                return key
            lowered = key.lower()
            for name in self:
                if name.lower() == lowered:
                    return name
        return None

    def get(self, key: str, default: Any = None) -> Any:
        name = self._find(key)
        return default if name is None else dict.__getitem__(self, name)

    def __getitem__(self, key: str) -> str:
        name = self._find(key)
        if name is None:
            raise KeyError(key)
        return dict.__getitem__(self, name)

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not None


def headers_from(message: Any) -> Headers:
    headers = Headers()
    for name, value in message.items():
        existing = dict.get(headers, name)
        headers[name] = value if existing is None else f"{existing}, {value}"
    return headers


@dataclass
class Canned:
    status: int
    body: bytes
    headers: dict[str, str]
    delay: float = 0.0
    remaining: int | None = None
    hold: threading.Event | None = None


class CannedResponses:
    """Per-key programmed answers: finite ones are used first, in order; then the standing one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finite: dict[str, deque[Canned]] = {}
        self._standing: dict[str, Canned] = {}

    def add(self, key: str, canned: Canned) -> None:
        with self._lock:
            if canned.remaining is None:
                self._standing[key] = canned
            elif canned.remaining > 0:
                self._finite.setdefault(key, deque()).append(canned)

    def take(self, *keys: str) -> Canned | None:
        with self._lock:
            for key in keys:
                queue = self._finite.get(key)
                if queue:
                    canned = queue[0]
                    assert canned.remaining is not None
                    canned.remaining -= 1
                    if canned.remaining <= 0:
                        queue.popleft()
                    return canned
            for key in keys:
                if key in self._standing:
                    return self._standing[key]
        return None

    def clear(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._finite.clear()
                self._standing.clear()
            else:
                self._finite.pop(key, None)
                self._standing.pop(key, None)


def encode_body(body: bytes | str | Mapping[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, default=str).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: Server

    def _dispatch(self) -> None:
        self.server.double._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def respond(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            names = set()
            for name, value in (headers or {}).items():
                names.add(name.lower())
                self.send_header(name, value)
            if "content-type" not in names:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, double: HTTPDouble) -> None:
        self.double = double
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class HTTPDouble:
    """Base class: an HTTP server on 127.0.0.1:<ephemeral> served from a daemon thread."""

    def __init__(self) -> None:
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind a fresh port and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        self._server = Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and drop open keep-alive connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, handler: Handler) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
