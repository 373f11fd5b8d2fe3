"""SSRF guard for outbound webhook HTTP.

Webhook URLs come from configuration that end users can influence, so a request must never
reach loopback, private or otherwise internal addresses (cloud metadata services, admin
panels, databases) unless the operator opts in.

The check lives in the httpcore network backend rather than in a pre-flight URL check,
because only there do resolution and connection happen together: the name is resolved
exactly once, every resolved address is vetted, and the socket is opened to those vetted
addresses. A second lookup (DNS rebinding) therefore cannot swap in an internal address.
The connection keeps the hostname as its origin, so the Host header, TLS SNI and
certificate verification all still use the name, not the IP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import cast

import httpcore
import httpx

__all__ = [
    "BlockedAddress",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "build_client",
    "is_blocked",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_PRIVATE_ENV = "WEBHOOK_ALLOW_PRIVATE_NETWORKS"
USER_AGENT = "slack-actions/0.1"

# Same defaults as httpx's own transport.
_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class BlockedAddress(httpx.ConnectError):
    """The webhook target resolved to an address we refuse to connect to.

    Subclasses httpx.ConnectError so generic "could not connect" handling still works,
    while callers that want to tell users "this URL is not allowed" can catch it first.
    """

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        super().__init__(
            f"webhook target {host} resolves to {address}, {_describe(reason)}; "
            f"set {ALLOW_PRIVATE_ENV}=1 to allow private networks"
        )


def _describe(reason: str) -> str:
    if reason == "shared address space":
        return "an address in the shared (carrier-grade NAT) address space"
    if reason == "not globally routable":
        return "an address that is not globally routable"
    article = "an" if reason[0] in "aeiou" else "a"
    return f"{article} {reason} address"


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Ranges checked explicitly, in order, before falling back to ipaddress's flags. Several of
# these are "global" according to Python (it varies between patch releases), but they
# either embed an IPv4 address that a gateway will translate or tunnel to (NAT64, 6to4,
# Teredo, IPv4-compatible) and so can smuggle an internal target, or are special-purpose.
_EXPLICIT: tuple[tuple[str, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]], ...] = (
    # Linux routes connections to 0.0.0.0 (and the rest of 0/8 on some stacks) to the host.
    ("unspecified", _nets("0.0.0.0/8", "::/128")),
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("link-local", _nets("169.254.0.0/16", "fe80::/10")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    ("shared address space", _nets("100.64.0.0/10")),
    # fec0::/10 is deprecated site-local, which Python does not flag at all.
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")),
    ("reserved", _nets("240.0.0.0/4", "::/96")),
    (
        "not globally routable",
        _nets("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "192.88.99.0/24"),
    ),
)


def is_blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Return a short reason why `ip` must not be contacted, or None if it is allowed."""
    # ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d through a dual-stack socket.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # A scope id ("fe80::1%eth0") does not change what the address is.
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        ip = ipaddress.IPv6Address(ip.packed)

    for reason, networks in _EXPLICIT:
        if any(ip.version == net.version and ip in net for net in networks):
            return reason

    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        # Documentation, benchmarking, IETF protocol assignments, broadcast and the like.
        return "not globally routable"
    return None


def _display(ip: IPAddress) -> str:
    # Python prints ::ffff:127.0.0.1 as ::ffff:7f00:1, which hides the IPv4 it points at.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend that resolves once, vets every address, then dials those addresses.

    Requires asyncio (it resolves through the running loop). ``allow`` lists the only
    (address, port) pairs let through although blocked: the playground's own callback.
    """

    def __init__(
        self,
        inner: httpcore.AsyncNetworkBackend | None = None,
        allow: Iterable[tuple[str, int]] = (),
    ) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()
        self._allow = {(ipaddress.ip_address(a), p) for a, p in allow}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        # One deadline for resolution plus all connection attempts, so a host with many
        # addresses cannot multiply the configured connect timeout.
        deadline = None if timeout is None else loop.time() + timeout

        addresses = await self._resolve(host, port, deadline)

        # Reject if ANY address is blocked: otherwise an attacker could publish one public
        # and one internal record and win whenever the public one fails to connect.
        for address in addresses:
            reason = is_blocked(address)
            if reason is not None and (address, port) not in self._allow:
                raise BlockedAddress(host, _display(address), reason)

        failures: list[str] = []
        last_exc: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout(
                    f"timed out connecting to webhook target {host}:{port}"
                )
            try:
                # Dial the vetted IP literal itself; the inner backend must not see the name.
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failures.append(f"{address}: {str(exc) or type(exc).__name__}")
                last_exc = exc

        if deadline is not None and loop.time() >= deadline:
            raise httpcore.ConnectTimeout(
                f"timed out connecting to webhook target {host}:{port} ({'; '.join(failures)})"
            ) from last_exc
        raise httpcore.ConnectError(
            f"could not connect to webhook target {host}:{port} ({'; '.join(failures)})"
        ) from last_exc

    async def _resolve(self, host: str, port: int, deadline: float | None) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            # getaddrinfo also normalises odd IPv4 spellings (2130706433, 0x7f000001, 127.1)
            # into the address the kernel would actually use.
            async with asyncio.timeout_at(deadline):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out resolving webhook target {host}") from exc
        except socket.gaierror as exc:
            raise httpcore.ConnectError(
                f"could not resolve webhook target {host}: {exc.strerror or exc}"
            ) from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"could not resolve webhook target {host}: {exc}") from exc

        addresses: list[IPAddress] = []
        for family, _type, _proto, _canon, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = ipaddress.ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise httpcore.ConnectError(f"webhook target {host} resolved to no IP addresses")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # A local socket is exactly the kind of target this guard exists to keep out.
        raise httpcore.ConnectError("unix domain sockets are not allowed for webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore exception -> httpx exception. Looked up along the exception's MRO so the most
# specific mapping wins (ReadTimeout before TimeoutException).
_EXCEPTION_MAP: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


def _map_exception(exc: Exception) -> Exception | None:
    for cls in type(exc).__mro__:
        target = _EXCEPTION_MAP.get(cls)
        if target is not None:
            return target(str(exc))
    return None


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Errors while reading the body (e.g. ReadTimeout) must surface as httpx errors too.
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            mapped = _map_exception(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        # Returns the connection to the pool (or closes it) once the body is done with.
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool whose connections go through the SSRF guard."""

    def __init__(
        self,
        *,
        allow_private: bool,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | str | bool = True,
        allow: Iterable[tuple[str, int]] = (),
    ) -> None:
        limits = limits if limits is not None else _DEFAULT_LIMITS
        backend: httpcore.AsyncNetworkBackend = (
            httpcore.AnyIOBackend() if allow_private else GuardedNetworkBackend(allow=allow)
        )
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("GuardedTransport needs an async request body (use AsyncClient)")

        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            core_response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            # BlockedAddress is already an httpx error and has no mapping, so it passes
            # through unchanged.
            mapped = _map_exception(exc)
            if mapped is None:
                raise
            raise mapped from exc

        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            # The async pool always hands back an async body stream.
            stream=_ResponseStream(cast(AsyncIterable[bytes], core_response.stream)),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def build_client(
    *,
    allow_private: bool,
    timeout: float = 10.0,
    max_connections: int = 100,
    allow: Iterable[tuple[str, int]] = (),
) -> httpx.AsyncClient:
    """The one shared client for webhook delivery.

    Redirects are not followed (a 302 to an internal URL is returned, not fetched) and
    trust_env is off so an ambient HTTP(S)_PROXY cannot route around the guard. ``allow``:
    (address, port) pairs reachable although private (see GuardedNetworkBackend).
    """
    # As many connections as deliveries may be in flight, or the pool becomes the queue.
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=min(max_connections, 100),
    )
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private, limits=limits, allow=allow),
        follow_redirects=False,
        timeout=timeout,
        trust_env=False,
        # Only what delivery inflates in bounded steps (see delivery._read_capped).
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
    )
