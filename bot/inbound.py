"""Reading requests from outside before anything trusts them: size caps, signatures, JSON.

A body is read while counting and refused as soon as it passes its cap, so a hostile
sender cannot make the process hold more than the cap. Signatures and tokens are checked
on the raw bytes; only then is JSON parsed, with a bound on nesting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

# Slack's largest payloads (a 100-block modal with its state, form-encoded) stay well under
# this; a 64 MiB body is refused after its first MiB.
SLACK_MAX_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # a callback is a small status object: a few levels are plenty
SLACK_TOLERANCE = 300  # seconds, as Slack's own verifier allows
_STAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds, ASCII digits only


class BodyTooLarge(Exception):
    """The body is longer than its cap; nothing past the cap was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


class MalformedJSON(ValueError):
    """The body is not JSON, or nests deeper than MAX_JSON_DEPTH."""


async def read_capped(request: Request, limit: int) -> bytes:
    """The request's body, or BodyTooLarge as soon as it passes ``limit`` bytes.

    A declared Content-Length above the cap is refused before reading; a chunked body is
    counted as it streams. The body is left on the request (Starlette's own cache), so a
    later ``request.body()`` (Bolt's adapter) gets it without reading again.
    """
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


def timestamp(value: str) -> int | None:
    """Unix seconds from a header, or None when it is not a plain number."""
    return int(value) if _STAMP.fullmatch(value) else None


def slack_signature_problem(secret: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why this request is not signed by Slack with ``secret``, or None when it is."""
    raw = headers.get("x-slack-request-timestamp", "")
    stamp = timestamp(raw)
    if stamp is None:
        return "missing or malformed X-Slack-Request-Timestamp"
    if abs(time.time() - stamp) > SLACK_TOLERANCE:
        return "stale X-Slack-Request-Timestamp"
    # Slack's scheme, over the bytes as received (any bytes: no decoding before the check).
    signed = b"v0:" + raw.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    offered = headers.get("x-slack-signature", "")
    if not hmac.compare_digest(expected.encode(), offered.encode("utf-8", "replace")):
        return "invalid X-Slack-Signature"
    return None


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, refusing (MalformedJSON) invalid text and deep nesting."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise MalformedJSON(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise MalformedJSON("body must be JSON") from None
    if depth(value) > MAX_JSON_DEPTH:
        raise MalformedJSON(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iteratively: no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item)
    return deepest
