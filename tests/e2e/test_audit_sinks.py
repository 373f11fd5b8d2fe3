"""Streaming the audit log: loopback sinks (Splunk HEC, JSON lines over HTTP, TCP syslog, a
rotated file) through an outage and back, with nothing lost, reordered or leaked."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook

from bot.audit import sinks
from bot.audit.stream import JOB, AuditStream
from bot.redaction import Redactor
from bot.settings import Settings, SettingsError
from bot.store import Job, Store, migrate
from bot.testing.http import headers_from
from tests.conftest import (
    CONFIG,
    TRACKER_TOKEN,
    WEBHOOK_SECRET,
    Bot,
    database_url,
    free_port,
    start_bot,
)
from tests.fakes import Received, Receiver

SPLUNK_TOKEN = "splunk-hec-token-0a1b2c3d"
SINK_SECRET = "whsec_c2luay1zZWNyZXQtZm9yLXRlc3RzLTEyMzQ1Njc4"
SECRET_INPUT = "sk_live_secret_input_987654321"

SINK_CONFIG = (
    CONFIG
    + """
  - id: rotate-key
    name: Rotate key
    owner: payments
    webhook:
      url: {receiver}/rotate
      payload: '{"key": {{ manualInputs.key | json }}}'
    inputs:
      - {identifier: key, displayName: New key, type: secret}
"""
)


class SyslogListener:
    """A TCP (or TLS) syslog collector: octet-counted RFC 5424 frames, kept in order."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.context = context
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None

    def start(self) -> SyslogListener:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.close()
            self._server = None

    def _accept(self) -> None:
        server = self._server
        while server is not None:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> None:
        if self.context:
            connection = self.context.wrap_socket(connection, server_side=True)
        data = b""
        with connection:
            while chunk := connection.recv(65536):
                data += chunk
        while data:
            length, _, rest = data.partition(b" ")
            size = int(length)
            with self._lock:
                self.messages.append(rest[:size])
            data = rest[size:]

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            messages = list(self.messages)
        return [parse_syslog(m) for m in messages]


SYSLOG = re.compile(
    rb"<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) slack-actions - (?P<msgid>\S+) "
    rb"\[audit@32473 (?P<sd>(?:[^\]\\]|\\.)*)\] \xef\xbb\xbf(?P<msg>.*)",
    re.DOTALL,
)


def parse_syslog(message: bytes) -> dict[str, Any]:
    found = SYSLOG.fullmatch(message)
    assert found, message[:200]
    record = json.loads(found["msg"])
    params = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found["sd"].decode()))
    assert found["pri"] == b"110"  # facility 13 (log audit), severity 6 (informational)
    assert found["ts"].decode() == record["at"] and found["msgid"].decode() == record["kind"]
    assert params["id"] == str(record["id"]) and params["hash"] == record["hash"]
    assert params["seq"] == str(record["seq"])
    return record


class Collector(Receiver):
    """A fake HEC and JSON-lines endpoint: down (503) while ``down``; keeps what it accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0
        self.accepted: list[Received] = []

    def _handle(self, handler: Any) -> None:
        body = handler.read_body()
        split = urlsplit(handler.path)
        with self._lock:  # decide and record together: nothing accepted goes unrecorded
            ok = not self.down
            if ok:
                self.accepted.append(Received(
                    method=handler.command, path=split.path, query=dict(parse_qsl(split.query)),
                    headers=headers_from(handler.headers), body=body, time=time.time(),
                    raw_query=split.query))  # fmt: skip
            else:
                self.refused += 1
        if ok:
            handler.respond(200, b'{"text":"Success","code":0}')
        else:
            handler.respond(503, b'{"text":"Server is busy","code":9}')

    def taken(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.accepted if r.path == path]


def hec_records(receiver: Collector) -> list[dict[str, Any]]:
    """Events the fake HEC accepted, in order."""
    out = []
    for request in receiver.taken("/services/collector"):
        assert request.headers["Authorization"] == f"Splunk {SPLUNK_TOKEN}"
        for line in request.body.decode().splitlines():
            wrapped = json.loads(line)
            assert wrapped["source"] == "slack-actions" and wrapped["sourcetype"] == "_json"
            assert wrapped["time"] == datetime.fromisoformat(wrapped["event"]["at"]).timestamp()
            out.append(wrapped["event"])
    return out


def http_records(receiver: Collector) -> list[dict[str, Any]]:
    out = []
    for request in receiver.taken("/ingest"):
        assert request.headers["Content-Type"] == "application/x-ndjson"
        Webhook(SINK_SECRET).verify(request.body, dict(request.headers), json_parse=False)
        out.extend(json.loads(line) for line in request.body.decode().splitlines())
    return out


def file_records(path: Path) -> list[dict[str, Any]]:
    """Every line of the file and its rotated copies, oldest first."""
    backups = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    lines = [line for p in [*backups, path] if p.exists() for line in p.read_text().splitlines()]
    return [json.loads(line) for line in lines]


def first_copies(records: list[dict[str, Any]]) -> list[int]:
    """Seqs in the order first received (a resent batch repeats; that's at-least-once)."""
    seen: dict[int, None] = {}
    for record in records:
        seen.setdefault(record["seq"], None)
    return list(seen)


def wait_until(check: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def metric(bot: Bot, name: str, sink: str) -> float:
    page = httpx.get(f"{bot.url}/metrics", trust_env=False).text
    found = re.search(rf'{name}\{{sink="{re.escape(sink)}"\}} (\S+)', page)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
def hec() -> Iterator[Collector]:
    receiver = Collector().start()
    yield receiver
    receiver.stop()


def test_sinks_survive_an_outage_without_loss_reorder_or_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hec: Collector
) -> None:
    monkeypatch.setenv("ACTIONS_SECRET_TRACKER_TOKEN", TRACKER_TOKEN)
    monkeypatch.setenv("SPLUNK_TOKEN", SPLUNK_TOKEN)
    monkeypatch.setenv("AUDIT_SINK_SECRET", SINK_SECRET)
    syslog = SyslogListener(free_port())
    audit_file = tmp_path / "logs" / "audit.jsonl"  # its directory is missing: an outage
    hec.down = True
    urls = {
        "hec": f"http+splunk-hec://127.0.0.1:{hec.port}/services/collector?token_env=SPLUNK_TOKEN",
        "http": f"http://127.0.0.1:{hec.port}/ingest?secret_env=AUDIT_SINK_SECRET",
        "syslog": f"syslog+tcp://127.0.0.1:{syslog.port}",
        "file": f"file://{audit_file}?max_bytes=3000&backups=100",
    }
    names = {
        "hec": f"http+splunk-hec://127.0.0.1:{hec.port}/services/collector",
        "http": f"http://127.0.0.1:{hec.port}/ingest",
        "syslog": f"syslog+tcp://127.0.0.1:{syslog.port}",
        "file": f"file://{audit_file}",
    }
    bots = start_bot(tmp_path, SINK_CONFIG, AUDIT_SINKS=" ".join(urls.values()))
    bot = next(bots)
    try:
        bot.submit(bot.open_form("create-ticket"), {"title": f"leak {TRACKER_TOKEN}"})
        bot.submit(bot.open_form("rotate-key"), {"key": SECRET_INPUT})
        bot.slack.wait_for("chat.update", count=2)
        for name in names.values():  # every sink failed, and its lag shows it
            wait_until(lambda n=name: metric(bot, "actions_audit_sink_errors_total", n) >= 1,
                       what=f"an error counted for {name}")  # fmt: skip
            wait_until(lambda n=name: metric(bot, "actions_audit_sink_lag_events", n) > 0,
                       what=f"lag shown for {name}")  # fmt: skip
        assert not hec.accepted and not syslog.records() and not audit_file.exists()
        assert hec.refused >= 2

        # The sinks come back; more events are written meanwhile.
        hec.down = False
        syslog.start()
        audit_file.parent.mkdir()
        for n in range(3):
            bot.submit(bot.open_form("create-ticket"), {"title": f"after {n}"})
        bot.slack.wait_for("chat.update", count=5)
        bot.store.seal_all()  # as the bot does every half second
        events = bot.store.events()
        stored = [e.seq for e in sorted(events, key=lambda e: e.seq)]
        got: dict[str, Callable[[], list[dict[str, Any]]]] = {
            "hec": lambda: hec_records(hec),
            "http": lambda: http_records(hec),
            "syslog": syslog.records,
            "file": lambda: file_records(audit_file),
        }
        for key, read in got.items():
            wait_until(lambda r=read: set(stored) <= {x["seq"] for x in r()}, what=key)
        by_seq = {e.seq: e for e in events}
        for key, read in got.items():
            records = read()
            order = first_copies(records)
            assert order[: len(stored)] == stored, key  # in chain order, none missing
            for record in records:
                event = by_seq.get(record["seq"])
                if event is not None:
                    assert (record["id"], record["hash"]) == (event.id, event.hash), key
            text = json.dumps(records)
            assert TRACKER_TOKEN not in text and SECRET_INPUT not in text, key
            assert SPLUNK_TOKEN not in text and "[REDACTED]" in text, key
        assert len(list(audit_file.parent.glob("audit.jsonl.*"))) >= 1  # it rotated
        for name in names.values():
            wait_until(lambda n=name: metric(bot, "actions_audit_sink_lag_events", n) == 0,
                       what=f"lag back to 0 for {name}")  # fmt: skip
    finally:
        syslog.stop()
        next(bots, None)


def test_http_sink_signs_each_batch_as_a_standard_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hec: Collector
) -> None:
    monkeypatch.setenv("AUDIT_SINK_SECRET", SINK_SECRET)
    url = f"http://127.0.0.1:{hec.port}/ingest?secret_env=AUDIT_SINK_SECRET&tenant=7"
    store, stream = stream_to(tmp_path, [url], Redactor([TRACKER_TOKEN]))
    # Stored before this secret was configured: redacted on the way out, as exports are.
    store.record("admin", {"n": 1, "note": f"token {TRACKER_TOKEN}"})
    store.seal_all()
    assert run(stream.deliver(*stream.sinks.values())) is False
    request = hec.taken("/ingest")[0]
    assert request.query == {"tenant": "7"}  # our option stays ours
    assert request.headers["webhook-id"] == "audit_1_1"
    assert (
        TRACKER_TOKEN not in request.body.decode() and "token [REDACTED]" in request.body.decode()
    )
    Webhook(SINK_SECRET).verify(request.body, dict(request.headers), json_parse=False)
    forged = request.body.replace(b'"n": 1', b'"n": 2')
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(SINK_SECRET).verify(forged, dict(request.headers), json_parse=False)
    store.close()


def test_syslog_over_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = SyslogListener(free_port(), context).start()
    try:
        store, stream = stream_to(
            tmp_path, [f"syslog+tls://127.0.0.1:{listener.port}?ca_file={cert}"]
        )
        store.record("admin", {"who": 'quote " and ] bracket'}, actor="U0ADMIN")
        store.seal_all()
        run(stream.deliver(*stream.sinks.values()))
        wait_until(lambda: len(listener.records()) == 1, what="the TLS syslog message")
        assert listener.records()[0]["detail"] == {"who": 'quote " and ] bracket'}
        store.close()
    finally:
        listener.stop()


def test_one_delivery_job_per_sink_however_many_replicas_start(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    migrate(url)
    stores = [Store(url) for _ in range(4)]
    start = threading.Barrier(len(stores))
    added: list[bool] = []

    def open_sink(store: Store) -> None:
        start.wait()
        added.append(
            store.open_sink("file:///x.jsonl", Job(kind=JOB, data={"sink": "file:///x.jsonl"}))
        )

    threads = [threading.Thread(target=open_sink, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(added) == [False, False, False, True]
    assert len(stores[0].pending_jobs(kind=JOB)) == 1
    for store in stores:
        store.close()


def test_sink_urls_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    client = httpx.AsyncClient()
    monkeypatch.setenv("SPLUNK_TOKEN", SPLUNK_TOKEN)
    bad = {
        "ftp://x/y": "unknown sink",
        "https+splunk-hec://splunk.example.com/services/collector": "token_env=NAME is required",
        "https+splunk-hec://s.example.com/c?token_env=NOPE_NOT_SET": "NOPE_NOT_SET is not set",
        "http://siem.example.com/in": "plain http is for loopback only",
        "https://user:pw@siem.example.com/in": "not in the URL",
        "https://siem.example.com/in?secret_env=SPLUNK_TOKEN": "whsec_",
        "syslog+tcp://h:514?facility=30": "facility is 0 to 23",
    }
    for url, message in bad.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            sinks.parse(url, client)
    hec = sinks.parse("https+splunk-hec://splunk.example.com/services/collector"
                      "?token_env=SPLUNK_TOKEN&index=sec", client)  # fmt: skip
    assert hec.name == "https+splunk-hec://splunk.example.com/services/collector"
    assert (
        isinstance(hec, sinks.HecSink)
        and hec.url == "https://splunk.example.com/services/collector"
    )


def test_a_bad_sink_stops_start_up_with_a_reason(tmp_path: Path) -> None:
    from bot.config import load_file
    from bot.runtime import Runtime

    config = tmp_path / "actions.yml"
    config.write_text("actions: []\n")
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
        WEBHOOK_SIGNING_SECRET=WEBHOOK_SECRET,
        AUDIT_SINKS="syslog+udp://h:514",
    )
    with pytest.raises(SettingsError, match="AUDIT_SINKS: 'syslog\\+udp://h:514': unknown sink"):
        Runtime(settings, load_file(config, {}))


# --- helpers for sinks driven without a whole bot ------------------------------------------


def stream_to(
    tmp_path: Path, urls: list[str], redact: Redactor | None = None
) -> tuple[Store, AuditStream]:
    url = database_url(tmp_path)
    migrate(url)
    store = Store(url)
    client = httpx.AsyncClient(trust_env=False)
    return store, AuditStream(store, [sinks.parse(u, client) for u in urls], redact or Redactor())


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
