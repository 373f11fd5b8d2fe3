"""An OTLP/HTTP trace endpoint on loopback, for the tests and the benchmarks."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Collector:
    """Decodes the export requests it receives and keeps them, with their paths."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.requests: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        received, lock = self.requests, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                with lock:
                    received.append((self.path, message))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def exports(self) -> int:
        return len(self.requests)

    @property
    def spans(self) -> int:
        """Spans received so far, over every export request."""
        with self._lock:
            return sum(
                len(scope.spans)
                for _, message in self.requests
                for resource in message.resource_spans
                for scope in resource.scope_spans
            )

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
