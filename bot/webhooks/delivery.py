"""One delivery attempt: build the signed request, send it, capture what came back."""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from opentelemetry.trace import SpanKind

from bot import tracing
from bot.kinds import DeliveryErrorKind
from bot.webhooks.signing import sign
from bot.webhooks.transport import BlockedAddress

BODY_CAP = 64 * 1024  # what the audit log keeps of a response body
INFLATE_STEP = 64 * 1024  # most bytes one decompression step may produce
DECODED = ("gzip", "x-gzip", "deflate")  # what we inflate ourselves, in bounded steps


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

    kind: DeliveryErrorKind
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
        # One wall-clock deadline for the whole exchange: httpx's timeouts are per
        # operation, so a receiver dripping its answer a byte at a time would never trip them.
        async with (
            asyncio.timeout(timeout),
            client.stream(
                request.method,
                request.url,
                headers=headers,
                content=request.body or None,
                timeout=timeout,
            ) as response,
        ):
            data = await _read_capped(response)
    except BlockedAddress as exc:
        raise DeliveryError(DeliveryErrorKind.BLOCKED, str(exc), elapsed()) from None
    except (TimeoutError, httpx.TimeoutException):
        raise DeliveryError(
            DeliveryErrorKind.TIMEOUT, f"no complete response within {timeout:g} s", elapsed()
        ) from None
    except httpx.InvalidURL as exc:
        raise DeliveryError(
            DeliveryErrorKind.INVALID_URL, f"invalid URL: {exc}", elapsed()
        ) from None
    except httpx.UnsupportedProtocol:
        raise DeliveryError(
            DeliveryErrorKind.INVALID_URL, "the URL must start with http:// or https://"
        ) from None
    except (httpx.ConnectError, httpx.NetworkError) as exc:
        raise DeliveryError(
            DeliveryErrorKind.CONNECTION, f"could not connect: {exc}", elapsed()
        ) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(
            DeliveryErrorKind.PROTOCOL, f"{type(exc).__name__}: {exc}", elapsed()
        ) from None
    except zlib.error as exc:
        message = f"the response body could not be decompressed ({exc})"
        raise DeliveryError(DeliveryErrorKind.PROTOCOL, message, elapsed()) from None
    return Response(
        status=response.status_code,
        headers=dict(response.headers),
        text=decode_text(data[:BODY_CAP], response.charset_encoding),
        duration_ms=elapsed(),
        truncated=len(data) > BODY_CAP,
    )


def decode_text(data: bytes, charset: str | None) -> str:
    """The body as text; an unknown charset (or one that is no text encoding) means UTF-8."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError):  # "x-klingon", "base64", "idna" (strict only)
        return data.decode("utf-8", "replace")


async def _read_capped(response: httpx.Response) -> bytes:
    """Read at most one step past the cap, counted after decompression.

    httpx inflates each received chunk in one go, so a few KiB of nested gzip could grow
    to gigabytes before we see a byte. Inflating ourselves, in bounded steps, lets us stop
    at the cap.
    """
    chunks: list[bytes] = []
    size = 0
    async with contextlib.aclosing(_decoded(response)) as decoded:
        async for chunk in decoded:
            chunks.append(chunk)
            size += len(chunk)
            if size > BODY_CAP:
                break
    return b"".join(chunks)


async def _decoded(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    codings = [c.strip().lower() for c in response.headers.get("Content-Encoding", "").split(",")]
    # Undone last-applied first; an encoding we did not ask for is passed through as is.
    inflaters = [_Inflater(c) for c in reversed(codings) if c in DECODED]
    async for raw in response.aiter_raw():
        for piece in _through(raw, inflaters):
            yield piece
    for i, inflater in enumerate(inflaters):  # what zlib still holds: a few bytes at most
        for piece in _through(inflater.flush(), inflaters[i + 1 :]):
            yield piece


def _through(data: bytes, inflaters: list[_Inflater]) -> Iterator[bytes]:
    if not inflaters:
        yield data
        return
    for piece in inflaters[0].feed(data):
        yield from _through(piece, inflaters[1:])


class _Inflater:
    """One content coding, inflated at most INFLATE_STEP bytes at a time."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding != "deflate"
        self._raw = False  # "deflate" is zlib-wrapped per the RFC, raw in practice
        self._started = False
        self._z = self._new()

    def _new(self) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self._z.eof:
            try:
                out = self._z.decompress(data, INFLATE_STEP)
            except zlib.error:
                if self._gzip or self._raw or self._started:
                    raise
                self._raw = True
                self._z = self._new()
                continue
            self._started = True
            data = self._z.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        return self._z.flush()
