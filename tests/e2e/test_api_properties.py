"""Property-based tests of the REST API against the OpenAPI document it serves
(Schemathesis): whatever a client sends, no 5xx, and every answer matches the document.
Bounded: a few examples per operation, so it runs in `make test`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Bot, start_bot
from tests.support import API_CONFIG as CONFIG
from tests.support import token


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bot, str]]:
    for bot in start_bot(
        tmp_path_factory.mktemp("api"),
        CONFIG,
        API_TOKEN_KEY="api-token-key-for-tests",
        RUN_RATE_LIMIT="1000/m",
    ):
        yield bot, token(bot)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def operations(bot: Bot) -> list[Any]:
    loaded = schemathesis.openapi.from_url(f"{bot.url}/api/openapi.json")
    return [result.ok() for result in loaded.get_all_operations()]


def test_every_operation_is_covered(served: tuple[Bot, str]) -> None:
    bot, _ = served
    assert len(operations(bot)) == 7


@pytest.mark.parametrize("index", range(7))
def test_api_conforms_to_its_openapi_document(index: int, served: tuple[Bot, str]) -> None:
    bot, value = served
    operation = operations(bot)[index]

    @settings(
        max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def conforms(case: Any) -> None:
        case.call_and_validate(
            base_url=bot.url, headers={"Authorization": f"Bearer {value}"}, checks=CHECKS
        )

    conforms()
