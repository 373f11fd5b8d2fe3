"""One delivery attempt: build the signed request, send it, capture what came back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from opentelemetry.trace import SpanKind

from bot import tracing
from bot.webhooks.signing import sign
from bot.webhooks.transport import BlockedAddress

BODY_CAP = 64 * 1024  # what the audit log keeps of a response body


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str
    duration_ms: float
    truncated: bool = False


@dataclass
class DeliveryError(Exception):
    """The request could not be completed; ``kind`` says how."""

    kind: str  # blocked | timeout | connection | protocol
    message: str
    duration_ms: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def build(
    *,
    method: str,
    url: str,
    configured: dict[str, str],
    body: bytes,
    secret: str | list[str],
    prefix: str,
    run_id: str,
    timestamp: int | None = None,
) -> Request:
    """A request with the configured headers plus both signatures.

    The Standard Webhooks id is derived from the run id, so it is the same on every
    attempt of a run: receivers can deduplicate with it.
    """
    msg_id = "msg_" + run_id.replace("-", "")
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = sign(
        secret=secret,
        prefix=prefix,
        run_id=run_id,
        msg_id=msg_id,
        timestamp=stamp,
        configured=configured,
        body=body,
    )
    return Request(method=method, url=url, headers={**configured, **signed}, body=body)


async def send(
    client: httpx.AsyncClient,
    request: Request,
    timeout: float,
    *,
    attempt: int = 1,
    propagate: bool = True,
) -> Response:
    """Send once; never follows redirects; raises DeliveryError when nothing came back.

    Traced as an HTTP client span; ``propagate`` adds its ``traceparent`` to the request.
    """
    if not tracing.enabled():
        return await _send(client, request, request.headers, timeout)
    with tracing.span(
        request.method, kind=SpanKind.CLIENT, attributes=_client_attributes(request, attempt)
    ) as span:
        headers = dict(request.headers)
        if propagate:
            tracing.inject(headers)  # unsigned, like every header added after signing
        try:
            response = await _send(client, request, headers, timeout)
        except DeliveryError as exc:
            tracing.failed(span, exc.kind, exc.message)
            raise
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 400:
            tracing.failed(span, str(response.status))
        return response


def _client_attributes(request: Request, attempt: int) -> dict[str, str | int]:
    """HTTP client semantic conventions; no path or query, which may hold secrets."""
    url = urlsplit(request.url)
    attributes: dict[str, str | int] = {
        "http.request.method": request.method,
        "server.address": url.hostname or "",
        "url.scheme": url.scheme,
    }
    try:
        port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    except ValueError:  # an invalid port: _send says so
        port = None
    if port:
        attributes["server.port"] = port
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
    return attributes


async def _send(
    client: httpx.AsyncClient, request: Request, headers: dict[str, str], timeout: float
) -> Response:
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        async with client.stream(
            request.method,
            request.url,
            headers=headers,
            content=request.body or None,
            timeout=timeout,
        ) as response:
            data = await _read_capped(response)
    except BlockedAddress as exc:
        raise DeliveryError("blocked", str(exc), elapsed()) from None
    except httpx.TimeoutException:
        raise DeliveryError("timeout", f"no response within {timeout:g} s", elapsed()) from None
    except httpx.InvalidURL as exc:
        raise DeliveryError("invalid_url", f"invalid URL: {exc}", elapsed()) from None
    except httpx.UnsupportedProtocol:
        raise DeliveryError("invalid_url", "the URL must start with http:// or https://") from None
    except (httpx.ConnectError, httpx.NetworkError) as exc:
        raise DeliveryError("connection", f"could not connect: {exc}", elapsed()) from None
    except httpx.HTTPError as exc:
        raise DeliveryError("protocol", f"{type(exc).__name__}: {exc}", elapsed()) from None
    text = data[:BODY_CAP].decode(response.charset_encoding or "utf-8", "replace")
    return Response(
        status=response.status_code,
        headers=dict(response.headers),
        text=text,
        duration_ms=elapsed(),
        truncated=len(data) > BODY_CAP,
    )


async def _read_capped(response: httpx.Response) -> bytes:
    """Read at most one byte past the cap: a huge body must not fill our memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > BODY_CAP:
            break
    return b"".join(chunks)
