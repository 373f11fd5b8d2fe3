"""Where the audit log is streamed: each sink is configured by one URL in `AUDIT_SINKS`.

- ``https+splunk-hec://host:8088/services/collector?token_env=SPLUNK_TOKEN`` — Splunk HTTP
  Event Collector; optional ``index=``, ``source=``, ``sourcetype=``.
- ``https://siem.example.com/ingest?secret_env=AUDIT_SINK_SECRET`` — JSON lines over HTTP;
  with ``secret_env`` (a ``whsec_…`` secret) each request is signed as a Standard Webhook.
- ``syslog+tcp://host:514`` or ``syslog+tls://host:6514?ca_file=/etc/ssl/siem.pem`` —
  RFC 5424 with structured data, octet-counted framing (RFC 6587 / RFC 5425); optional
  ``facility=`` (default 13, log audit).
- ``file:///var/log/actions/audit.jsonl?max_bytes=104857600&backups=10`` — JSON lines,
  rotated by size with the standard library's RotatingFileHandler.

Sinks are configured by the operator, so they are trusted: unlike webhook URLs, they may be
on private networks. Secrets are never in the URL itself, only the names of the variables
holding them. Plain ``http://`` (and ``http+splunk-hec://``) is accepted for loopback only,
so a token never crosses a network in clear text.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import logging.handlers
import os
import socket
import ssl
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from bot.webhooks.signing import standard_signature

Record = dict[str, Any]
APP_NAME = "slack-actions"
SD_ID = "audit@32473"  # 32473: the enterprise number RFC 5612 reserves for examples
TIMEOUT = 10.0
HEC_FIELDS = ("index", "source", "sourcetype")  # options of the HEC sink, sent per event


class SinkError(Exception):
    """A sink refused the events or could not be reached; they are sent again later."""


class Sink(Protocol):
    name: str  # the URL without its query: a metric label, never a secret

    async def send(self, records: list[Record]) -> None: ...

    async def aclose(self) -> None: ...


def parse(url: str, client: httpx.AsyncClient, environ: Mapping[str, str] = os.environ) -> Sink:
    """A sink from its URL; ValueError says what is wrong with it."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    name = urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
    if parts.port:
        name = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port}", parts.path, "", ""))
    if parts.username or parts.password:
        raise ValueError(f"{name}: put credentials in a variable (token_env=…), not in the URL")
    scheme = parts.scheme
    if scheme in ("https+splunk-hec", "http+splunk-hec"):
        token = _secret(name, "token_env", options, environ)
        if not token:
            raise ValueError(f"{name}: token_env=NAME is required (the variable with the token)")
        url = _endpoint(parts, scheme.split("+")[0], ("token_env", *HEC_FIELDS))
        return HecSink(name, url, token, options, client)
    if scheme in ("https", "http"):
        secret = _secret(name, "secret_env", options, environ)
        if secret and not secret.startswith("whsec_"):
            raise ValueError(f"{name}: the secret_env variable must hold a whsec_… secret")
        return HttpSink(name, _endpoint(parts, scheme, ("secret_env",)), secret, client)
    if scheme in ("syslog+tcp", "syslog+tls"):
        if not parts.hostname:
            raise ValueError(f"{name}: expected syslog+tcp://host:port")
        tls = scheme == "syslog+tls"
        facility = int(options.get("facility", "13"))
        if not 0 <= facility <= 23:
            raise ValueError(f"{name}: facility is 0 to 23")
        port = parts.port or (6514 if tls else 514)
        return SyslogSink(name, parts.hostname, port, tls, options.get("ca_file"), facility)
    if scheme == "file":
        if not parts.path or parts.hostname not in (None, "", "localhost"):
            raise ValueError(f"{name}: expected file:///absolute/path.jsonl")
        max_bytes = int(options.get("max_bytes", str(100 * 1024 * 1024)))
        return FileSink(name, Path(parts.path), max_bytes, int(options.get("backups", "10")))
    raise ValueError(
        f"{name or url!r}: unknown sink; use https+splunk-hec://, https://, syslog+tcp://, "
        "syslog+tls:// or file://"
    )


def _secret(name: str, key: str, options: Mapping[str, str], environ: Mapping[str, str]) -> str:
    variable = options.get(key)
    if variable is None:
        return ""
    value = environ.get(variable, "")
    if not value:
        raise ValueError(f"{name}: {key}={variable}, but {variable} is not set")
    return value


def _endpoint(parts: Any, scheme: str, ours: tuple[str, ...]) -> str:
    """The URL to POST to: our own options removed, http only for loopback."""
    if scheme == "http" and not _loopback(parts.hostname or ""):
        raise ValueError(f"{parts.hostname}: use https (plain http is for loopback only)")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ours])
    return urlunsplit((scheme, parts.netloc, parts.path or "/", query, ""))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _post(client: httpx.AsyncClient, name: str, url: str, body: bytes, headers: dict) -> None:
    try:
        response = await client.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise SinkError(f"{name}: {type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        raise SinkError(f"{name} answered {response.status_code}: {response.text[:200]}")


class HecSink:
    """Splunk HTTP Event Collector: one JSON event object per line, `Splunk <token>` auth."""

    def __init__(
        self, name: str, url: str, token: str, options: Mapping[str, str], client: httpx.AsyncClient
    ) -> None:
        self.name, self.url, self.token, self.client = name, url, token, client
        self.fields = {
            "host": socket.gethostname(),
            "source": options.get("source", APP_NAME),
            "sourcetype": options.get("sourcetype", "_json"),
            **({"index": options["index"]} if options.get("index") else {}),
        }

    def event(self, record: Record) -> dict[str, Any]:
        return {"time": _epoch(record["at"]), **self.fields, "event": record}

    async def send(self, records: list[Record]) -> None:
        body = "\n".join(json.dumps(self.event(r), ensure_ascii=False) for r in records)
        headers = {"Authorization": f"Splunk {self.token}", "Content-Type": "application/json"}
        await _post(self.client, self.name, self.url, body.encode("utf-8"), headers)

    async def aclose(self) -> None:
        return None


class HttpSink:
    """JSON lines over HTTP, signed as a Standard Webhook when a secret is configured."""

    def __init__(self, name: str, url: str, secret: str, client: httpx.AsyncClient) -> None:
        self.name, self.url, self.secret, self.client = name, url, secret, client

    async def send(self, records: list[Record]) -> None:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        headers = {"Content-Type": "application/x-ndjson"}
        if self.secret:
            # The same id on every attempt of these events, so receivers can drop a repeat.
            msg_id = f"audit_{records[0]['seq']}_{records[-1]['seq']}"
            stamp = int(time.time())
            headers |= {
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": standard_signature(self.secret, msg_id, stamp, body),
            }
        await _post(self.client, self.name, self.url, body, headers)

    async def aclose(self) -> None:
        return None


class SyslogSink:
    """RFC 5424 over TCP or TLS, one connection per batch, octet-counted frames."""

    def __init__(
        self, name: str, host: str, port: int, tls: bool, ca_file: str | None, facility: int
    ) -> None:
        self.name, self.host, self.port, self.facility = name, host, port, facility
        self.context: ssl.SSLContext | None = None
        if tls:
            self.context = ssl.create_default_context(cafile=ca_file)
        self.hostname = socket.gethostname()[:255] or "-"

    async def send(self, records: list[Record]) -> None:
        data = b"".join(frame(message(r, self.facility, self.hostname)) for r in records)
        try:
            await asyncio.wait_for(self._write(data), TIMEOUT)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise SinkError(f"{self.name}: {type(exc).__name__}: {exc}") from exc

    async def _write(self, data: bytes) -> None:
        _reader, writer = await asyncio.open_connection(
            self.host,
            self.port,
            ssl=self.context,
            server_hostname=self.host if self.context else None,
        )
        try:
            writer.write(data)
            await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    async def aclose(self) -> None:
        return None


def message(record: Record, facility: int, hostname: str) -> bytes:
    """One RFC 5424 message: header, the event's identity as structured data, JSON body."""
    msgid = "".join(c if 33 <= ord(c) <= 126 else "_" for c in str(record["kind"]))[:32] or "-"
    params = {
        "id": record["id"],
        "seq": record["seq"],
        "hash": record["hash"],
        "kind": record["kind"],
        "run": record["run_id"],
        "action": record["action_id"],
        "actor": record["actor"],
    }
    sd = " ".join(f'{k}="{_sd_escape(str(v))}"' for k, v in params.items() if v is not None)
    header = f"<{facility * 8 + 6}>1 {record['at']} {hostname} {APP_NAME} - {msgid}"
    body = json.dumps(record, ensure_ascii=False).encode("utf-8")
    return f"{header} [{SD_ID} {sd}] ".encode() + b"\xef\xbb\xbf" + body


def frame(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


class _StrictRotatingHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose write errors reach the caller (logging would print and go on)."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise


class FileSink:
    """JSON lines in a local file, rotated by size; flushed and synced before it counts."""

    def __init__(self, name: str, path: Path, max_bytes: int, backups: int) -> None:
        self.name, self.path, self.max_bytes, self.backups = name, path, max_bytes, backups
        self._handler: _StrictRotatingHandler | None = None

    async def send(self, records: list[Record]) -> None:
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
        try:
            await asyncio.to_thread(self._write, lines)
        except OSError as exc:
            await self.aclose()  # reopen next time (the directory may come back)
            raise SinkError(f"{self.name}: {exc}") from exc

    def _write(self, lines: list[str]) -> None:
        if self._handler is None:
            self._handler = _StrictRotatingHandler(
                self.path, maxBytes=self.max_bytes, backupCount=self.backups,
                encoding="utf-8", delay=True,
            )  # fmt: skip
        for line in lines:
            self._handler.emit(logging.makeLogRecord({"msg": line, "args": None}))
        stream = self._handler.stream
        if stream is not None:  # None only if nothing was opened, so nothing written
            stream.flush()
            os.fsync(stream.fileno())

    async def aclose(self) -> None:
        if self._handler is not None:
            self._handler.close()
            self._handler = None


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
