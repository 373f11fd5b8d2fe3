"""Tests for the SSRF-guarded webhook transport.

Everything talks to a real HTTP server on 127.0.0.1; name lookups other than "localhost"
and IP literals go through a fake getaddrinfo so no test touches the network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest

from bot.webhooks import transport
from bot.webhooks.transport import (
    BlockedAddress,
    GuardedNetworkBackend,
    GuardedTransport,
    build_client,
    is_blocked,
)

BODY = b"hello from loopback"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    def _reply(self, status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: bytes) -> None:
        with self.server.lock:
            self.server.requests.append((self.command, self.path, list(self.headers.items()), body))

    def do_GET(self) -> None:
        self._record(b"")
        if self.path == "/redirect":
            self._reply(302, b"", [("Location", "/")])
        elif self.path == "/slow":
            time.sleep(1.0)
            self._reply(200, b"too late")
        else:
            self._reply(200, BODY, [("X-Test-Server", "yes"), ("X-Multi", "a"), ("X-Multi", "b")])

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._record(body)
        self._reply(201, body, [("Content-Type", "application/octet-stream")])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[tuple[str, str, list[tuple[str, str]], bytes]] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # Called for every accepted TCP connection: counts connections, not just requests.
        with self.lock:
            self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the slow handler writes to a socket the client already gave up on


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def run(coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(coro_fn())


async def _get(url: str, *, allow_private: bool, timeout: float = 5.0) -> httpx.Response:
    async with build_client(allow_private=allow_private, timeout=timeout) as client:
        return await client.get(url)


def _expect_blocked(url: str) -> BlockedAddress:
    async def go() -> BlockedAddress:
        async with build_client(allow_private=False) as client:
            with pytest.raises(BlockedAddress) as info:
                await client.get(url)
        return info.value

    return run(go)


def _assert_server_untouched(server: _Server) -> None:
    # The server accepts connections in order, so once a later, allowed request has been
    # answered, any earlier connection would already have been counted.
    response = run(lambda: _get(f"http://127.0.0.1:{server.port}/", allow_private=True))
    assert response.status_code == 200
    assert server.connections == 1
    assert len(server.requests) == 1


class FakeDNS:
    """Names in `table` resolve to its addresses; *.invalid fails; the rest is real."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.calls: list[str] = []


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    dns = FakeDNS()
    table, calls = dns.table, dns.calls
    real_getaddrinfo = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        calls.append(name)
        if name in table:
            infos = []
            for addr in table[name]:
                if ipaddress.ip_address(addr).version == 6:
                    infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (addr, port, 0, 0)))
                else:
                    infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, port)))
            return infos
        if name.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, port, *args, **kwargs)

    # asyncio's loop.getaddrinfo (used by both the guard and anyio) calls socket.getaddrinfo.
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return dns


# 1. Loopback in any spelling is refused before a connection is made.


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "http://2130706433:{port}/",
        "http://0x7f000001:{port}/",
    ],
)
def test_loopback_is_blocked_without_connecting(server: _Server, url: str) -> None:
    exc = _expect_blocked(url.format(port=server.port))

    assert exc.reason == "loopback"
    assert exc.address in {"127.0.0.1", "::1"}
    message = str(exc)
    assert exc.address in message
    assert "loopback" in message
    assert "WEBHOOK_ALLOW_PRIVATE_NETWORKS=1" in message
    _assert_server_untouched(server)


def test_ipv4_mapped_ipv6_loopback_is_blocked(server: _Server) -> None:
    try:
        socket.getaddrinfo("::ffff:127.0.0.1", server.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        pytest.skip("no IPv6 resolver support; covered by the is_blocked table")

    exc = _expect_blocked(f"http://[::ffff:127.0.0.1]:{server.port}/")

    assert exc.reason == "loopback"
    assert exc.address == "::ffff:127.0.0.1"
    _assert_server_untouched(server)


def test_blocked_message_names_host_address_and_reason(server: _Server) -> None:
    exc = _expect_blocked(f"http://localhost:{server.port}/")

    assert str(exc) == (
        f"webhook target localhost resolves to {exc.address}, a loopback address; "
        "set WEBHOOK_ALLOW_PRIVATE_NETWORKS=1 to allow private networks"
    )
    assert exc.host == "localhost"
    assert exc.request.url.host == "localhost"  # httpx attaches the request


def test_blocked_address_is_a_connect_error_but_distinguishable() -> None:
    assert issubclass(BlockedAddress, httpx.ConnectError)
    assert issubclass(BlockedAddress, httpx.TransportError)
    assert not issubclass(httpx.ConnectError, BlockedAddress)


def test_any_blocked_record_rejects_the_whole_name(server: _Server, fake_dns: FakeDNS) -> None:
    # A public record first must not let the internal one through as a fallback.
    fake_dns.table["mixed.example"] = ["8.8.8.8", "127.0.0.1"]

    exc = _expect_blocked(f"http://mixed.example:{server.port}/")

    assert exc.host == "mixed.example"
    assert exc.address == "127.0.0.1"
    _assert_server_untouched(server)


def test_resolves_once_and_dials_the_vetted_address(
    server: _Server, fake_dns: FakeDNS, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend loopback is public so the guarded path can reach the test server.
    monkeypatch.setattr(transport, "is_blocked", lambda ip: None)
    # ::1 is tried first and refused (server is IPv4 only), then 127.0.0.1 wins.
    fake_dns.table["hook.example"] = ["::1", "127.0.0.1"]

    response = run(lambda: _get(f"http://hook.example:{server.port}/", allow_private=False))

    assert response.status_code == 200
    assert response.content == BODY
    assert fake_dns.calls.count("hook.example") == 1
    # The name is kept as the origin: Host header (and SNI for https) use it, not the IP.
    _, _, headers, _ = server.requests[0]
    assert ("Host", f"hook.example:{server.port}") in headers


def test_unix_sockets_are_refused() -> None:
    async def go() -> None:
        await GuardedNetworkBackend().connect_unix_socket("/var/run/docker.sock")

    with pytest.raises(httpcore.ConnectError, match="unix"):
        run(go)


# 2. With private networks allowed the transport is a faithful HTTP client.


def test_allowed_private_request_reaches_server(server: _Server) -> None:
    response = run(lambda: _get(f"http://localhost:{server.port}/", allow_private=True))

    assert response.status_code == 200
    assert response.content == BODY
    assert response.headers["X-Test-Server"] == "yes"
    assert response.headers.get_list("X-Multi") == ["a", "b"]
    assert response.http_version == "HTTP/1.1"
    assert len(server.requests) == 1


def test_post_body_and_headers_arrive_unchanged(server: _Server) -> None:
    payload = bytes(range(256)) + b'\r\n\r\n{"ok": true}\x00'
    signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    async def go() -> httpx.Response:
        async with build_client(allow_private=True) as client:
            return await client.post(
                f"http://127.0.0.1:{server.port}/echo",
                content=payload,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Webhook-Id": "msg_2b0F3c",
                    "Webhook-Signature": signature,
                    "X-Custom-Header": 'a value ;=, with "quotes"',
                },
            )

    response = run(go)

    assert response.status_code == 201
    assert response.content == payload
    assert response.headers["Content-Type"] == "application/octet-stream"
    method, path, headers, body = server.requests[0]
    assert (method, path) == ("POST", "/echo")
    assert body == payload
    assert ("Webhook-Id", "msg_2b0F3c") in headers
    assert ("Webhook-Signature", signature) in headers
    assert ("Content-Type", "application/octet-stream") in headers
    assert ("User-Agent", "slack-actions/0.1") in headers
    assert ("Content-Length", str(len(payload))) in headers
    assert ("X-Custom-Header", 'a value ;=, with "quotes"') in headers


def test_httpcore_protocol_errors_become_httpx_errors(server: _Server) -> None:
    async def go() -> None:
        async with build_client(allow_private=True) as client:
            # h11 refuses header values with leading whitespace before sending anything.
            await client.get(f"http://127.0.0.1:{server.port}/", headers={"X-Bad": " x"})

    with pytest.raises(httpx.LocalProtocolError):
        run(go)


def test_redirect_is_returned_not_followed(server: _Server) -> None:
    response = run(lambda: _get(f"http://127.0.0.1:{server.port}/redirect", allow_private=True))

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert [path for _, path, _, _ in server.requests] == ["/redirect"]


def test_connections_are_reused_and_transport_closes(server: _Server) -> None:
    async def go() -> list[int]:
        transport_ = GuardedTransport(allow_private=True, limits=httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=transport_) as client:
            codes = []
            for _ in range(3):
                codes.append((await client.get(f"http://127.0.0.1:{server.port}/")).status_code)
        return codes

    assert run(go) == [200, 200, 200]
    assert len(server.requests) == 3
    assert server.connections == 1


# 3. Address classification.


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "192.88.99.1",
        # Beyond the required table.
        "127.0.0.1",
        "127.255.255.254",
        "0.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b:1::a00:1",
        "2001::1",
        "2001:db8::1",
        "::7f00:1",
        "fec0::1",
        "ff02::1",
        "fe80::1%1",
    ],
)
def test_is_blocked(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_is_allowed(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("fd00:ec2::254", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared address space"),
        ("2002:7f00:1::", "not globally routable"),
        ("192.0.2.1", "not globally routable"),
    ],
)
def test_is_blocked_reason(address: str, reason: str) -> None:
    assert is_blocked(ipaddress.ip_address(address)) == reason


# 4. Failures surface as ordinary httpx errors.


def test_slow_server_gives_read_timeout(server: _Server) -> None:
    with pytest.raises(httpx.ReadTimeout):
        run(lambda: _get(f"http://127.0.0.1:{server.port}/slow", allow_private=True, timeout=0.3))


def test_closed_port_gives_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there any more.

    with pytest.raises(httpx.ConnectError) as info:
        run(lambda: _get(f"http://127.0.0.1:{port}/", allow_private=True))
    assert not isinstance(info.value, BlockedAddress)


@pytest.mark.parametrize("allow_private", [False, True])
def test_unresolvable_name_gives_connect_error(fake_dns: FakeDNS, allow_private: bool) -> None:
    with pytest.raises(httpx.ConnectError) as info:
        run(lambda: _get("http://no-such-host.invalid/", allow_private=allow_private))
    assert not isinstance(info.value, BlockedAddress)
    if not allow_private:
        assert "no-such-host.invalid" in str(info.value)
