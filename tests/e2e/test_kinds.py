"""The vocabulary: what failed deliveries are called, and which statuses queries accept."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot import admin
from bot.kinds import DeliveryErrorKind, RunStatus
from bot.webhooks import delivery
from tests.conftest import free_port


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://example.test/x", DeliveryErrorKind.INVALID_URL),
        ("http://[::1/x", DeliveryErrorKind.INVALID_URL),
        (f"http://127.0.0.1:{free_port()}/x", DeliveryErrorKind.CONNECTION),
    ],
)
def test_delivery_errors_name_their_kind_from_the_vocabulary(
    url: str, kind: DeliveryErrorKind
) -> None:
    request = delivery.Request(method="POST", url=url, headers={}, body=b"{}")

    async def send() -> delivery.DeliveryError:
        async with httpx.AsyncClient() as client:
            with pytest.raises(delivery.DeliveryError) as raised:
                await delivery.send(client, request, 2.0)
        return raised.value

    error = asyncio.run(send())
    assert isinstance(error.kind, DeliveryErrorKind) and error.kind == kind


def test_every_run_status_is_a_query_filter() -> None:
    for status in RunStatus:
        assert admin.parse_runs_query(f"status:{status.lower()}").status == status
