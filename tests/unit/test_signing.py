"""Webhook signatures, checked the way a receiver checks them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bot.webhooks import delivery
from bot.webhooks.signing import opslevel_content, opslevel_signature, standard_signature

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
RUN_ID = "baddecaf-cafe-badd-ecaf-123456789012"
BODY = b'{"service":"shopping-cart"}'


def build(**overrides: object) -> delivery.Request:
    arguments: dict[str, object] = {
        "method": "POST",
        "url": "https://hooks.example.com/run",
        "configured": {"Content-Type": "application/json"},
        "body": BODY,
        "secret": SECRET,
        "prefix": "X-Actions",
        "run_id": RUN_ID,
    }
    arguments.update(overrides)
    return delivery.build(**arguments)  # type: ignore[arg-type]


def receiver_hmac(secret: str, content: bytes) -> str:
    """How a receiver following OpsLevel's docs computes the expected signature."""
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def lowercased(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# --- OpsLevel's published vectors ------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "timing", "expected"),
    [
        (
            "somesecrethere",
            "1726164245",
            "sha256=89649e9d66e0f48c8a6e67fc12197d68dbcb91710391555fcf3a59d8757bf63b",
        ),
        (
            "OpslevelWebhookSecret",
            "123456",
            "sha256=ee9eac178fe5cd260ff1d6f9fedcc409c6389ea5718ec44c8e266c6128770233",
        ),
    ],
)
def test_opslevel_timing_only_vectors(secret: str, timing: str, expected: str) -> None:
    headers = {"X-OpsLevel-Timing": timing}
    assert opslevel_content(headers, b"") == f"X-OpsLevel-Timing:{timing}+".encode()
    assert opslevel_signature(secret, headers, b"") == expected


def test_opslevel_vector_with_headers_and_body() -> None:
    headers = {
        "X-OpsLevel-Timing": "1726164245",
        "Content-Type": "application/json",
        "X-OpsLevel-Action-Uuid": RUN_ID,
    }
    assert opslevel_content(headers, BODY) == (
        b"Content-Type:application/json,"
        b"X-OpsLevel-Action-Uuid:baddecaf-cafe-badd-ecaf-123456789012,"
        b'X-OpsLevel-Timing:1726164245+{"service":"shopping-cart"}'
    )
    assert opslevel_signature("somesecrethere", headers, BODY) == (
        "sha256=0936cf563a703ae5179712d1e7c80c2c2d6750d86afb314467b8700f75277d7b"
    )


# --- what build() sends ---------------------------------------------------------------


def test_built_request_verifies_with_standard_webhooks() -> None:
    request = build()

    assert Webhook(SECRET).verify(request.body, lowercased(request.headers)) == {
        "service": "shopping-cart"
    }
    assert request.method == "POST"
    assert request.url == "https://hooks.example.com/run"
    assert request.body == BODY


def test_standard_signature_fails_for_a_tampered_body() -> None:
    request = build()
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(b'{"service":"other"}', lowercased(request.headers))


def test_standard_signature_fails_for_another_secret() -> None:
    request = build()
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(request.body, lowercased(request.headers))


def test_standard_signature_matches_the_spec_by_hand() -> None:
    content = b"msg_1.1700000000." + BODY
    digest = hmac.new(bytes(range(32)), content, hashlib.sha256).digest()
    assert standard_signature(SECRET, "msg_1", 1700000000, BODY) == (
        "v1," + base64.b64encode(digest).decode()
    )


def test_built_request_carries_timing_and_run_id_and_a_matching_opslevel_signature() -> None:
    before = int(time.time())
    request = build()
    headers = request.headers

    assert headers["Content-Type"] == "application/json"
    assert headers["X-Actions-Action-Uuid"] == RUN_ID
    stamp = int(headers["X-Actions-Timing"])
    assert before <= stamp <= int(time.time())
    assert headers["webhook-timestamp"] == headers["X-Actions-Timing"]
    content = (
        f"Content-Type:application/json,X-Actions-Action-Uuid:{RUN_ID},X-Actions-Timing:{stamp}+"
    ).encode() + BODY
    assert headers["X-Actions-Signature"] == receiver_hmac(SECRET, content)


def test_header_names_are_exactly_these() -> None:
    assert set(build().headers) == {
        "Content-Type",
        "X-Actions-Timing",
        "X-Actions-Action-Uuid",
        "X-Actions-Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }


def test_opslevel_prefix_gives_opslevels_header_names() -> None:
    request = build(prefix="X-OpsLevel", timestamp=1726164245)
    headers = request.headers

    assert {k for k in headers if k.startswith("X-")} == {
        "X-OpsLevel-Timing",
        "X-OpsLevel-Action-Uuid",
        "X-OpsLevel-Signature",
    }
    assert headers["X-OpsLevel-Timing"] == "1726164245"
    content = (
        b"Content-Type:application/json,"
        b"X-OpsLevel-Action-Uuid:baddecaf-cafe-badd-ecaf-123456789012,"
        b"X-OpsLevel-Timing:1726164245+" + BODY
    )
    assert headers["X-OpsLevel-Signature"] == receiver_hmac(SECRET, content)


def test_webhook_id_is_stable_per_run_while_signatures_change() -> None:
    first = build(timestamp=1700000000).headers
    second = build(timestamp=1700000060).headers
    other_run = build(timestamp=1700000000, run_id="00000000-0000-0000-0000-000000000001").headers

    assert first["webhook-id"] == second["webhook-id"]
    assert first["webhook-id"].startswith("msg_")
    assert first["webhook-id"] != other_run["webhook-id"]
    assert first["webhook-signature"] != second["webhook-signature"]
    assert first["X-Actions-Signature"] != second["X-Actions-Signature"]


def test_signature_covers_configured_headers() -> None:
    one = build(configured={"Content-Type": "application/json", "X-Tenant": "a"}, timestamp=1)
    two = build(configured={"Content-Type": "application/json", "X-Tenant": "b"}, timestamp=1)

    assert one.headers["X-Actions-Signature"] != two.headers["X-Actions-Signature"]
    # The Standard Webhooks signature covers only id, timestamp and body.
    assert one.headers["webhook-signature"] == two.headers["webhook-signature"]


def test_configured_headers_are_signed_by_their_configured_names_in_code_point_order() -> None:
    configured = {"x-lower": "1", "Authorization": "Bearer t", "Z-Upper": "2"}
    request = build(configured=configured, body=b"{}", timestamp=1700000000)

    content = (
        "Authorization:Bearer t,"
        f"X-Actions-Action-Uuid:{RUN_ID},"
        "X-Actions-Timing:1700000000,"
        "Z-Upper:2,"
        "x-lower:1+{}"
    ).encode()
    assert request.headers["X-Actions-Signature"] == receiver_hmac(SECRET, content)
    # Names are sent as configured, not normalised.
    assert request.headers["x-lower"] == "1"
    assert request.headers["Z-Upper"] == "2"


def test_configured_header_cannot_replace_the_signature_headers() -> None:
    request = build(
        configured={"X-Actions-Signature": "sha256=forged", "webhook-id": "msg_forged"},
        timestamp=1700000000,
    )
    assert request.headers["X-Actions-Signature"] != "sha256=forged"
    assert request.headers["webhook-id"] == "msg_" + RUN_ID.replace("-", "")
