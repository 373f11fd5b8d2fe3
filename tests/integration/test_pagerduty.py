"""The PagerDuty client against the fake PagerDuty REST API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.pagerduty import PagerDuty, PagerDutyError
from bot.testing.pagerduty import TOKEN, FakePagerDuty
from bot.webhooks.transport import build_client


@pytest.fixture
def fake() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as server:
        yield server


def ask(fake: FakePagerDuty, schedule: str = "PSCHED1", token: str = TOKEN, **kw: object) -> list:
    async def go() -> list:
        client = build_client(allow_private=True)
        try:
            pd = PagerDuty(client, token, fake.url, **kw)  # type: ignore[arg-type]
            first = await pd.on_call(schedule)
            again = await pd.on_call(schedule)  # from the cache
            assert again == first
            return first
        finally:
            await client.aclose()

    return asyncio.run(go())


def people(n: int) -> list[dict[str, str]]:
    return [{"id": f"PU{i:04}", "name": f"P {i}", "email": f"p{i}@example.com"} for i in range(n)]


def test_pages_are_followed_and_users_carry_emails(fake: FakePagerDuty) -> None:
    fake.schedules["PSCHED1"] = people(150)
    found = ask(fake)
    assert [p.email for p in found] == [f"p{i}@example.com" for i in range(150)]
    assert [r["offset"] for r in fake.requests] == [["0"], ["100"]]  # then cached
    first = fake.requests[0]
    assert first["include[]"] == ["users"] and first["earliest"] == ["true"]
    assert first["schedule_ids[]"] == ["PSCHED1"]


def test_server_errors_are_retried(fake: FakePagerDuty) -> None:
    fake.schedules["PSCHED1"] = people(1)
    fake.fail(502, times=2)
    assert [p.id for p in ask(fake)] == ["PU0000"]
    assert len(fake.requests) == 3


def test_a_lasting_failure_says_so(fake: FakePagerDuty) -> None:
    fake.fail(500)
    with pytest.raises(PagerDutyError, match="PagerDuty answered HTTP 500"):
        ask(fake)
    assert len(fake.requests) == 3


def test_a_wrong_token_is_not_retried_and_not_shown(fake: FakePagerDuty) -> None:
    with pytest.raises(PagerDutyError) as raised:
        ask(fake, token="wrong-token-value")
    assert "HTTP 401: Unauthorized" in str(raised.value)
    assert "wrong-token-value" not in str(raised.value)
    assert len(fake.requests) == 1


def test_a_slow_answer_times_out(fake: FakePagerDuty) -> None:
    fake.fail(200, delay=1.0)
    with pytest.raises(PagerDutyError, match="did not answer"):
        ask(fake, timeout=0.2, attempts=1)


def test_no_token_means_not_set_up(fake: FakePagerDuty) -> None:
    with pytest.raises(PagerDutyError, match="PAGERDUTY_API_TOKEN"):
        ask(fake, token="")
    assert fake.requests == []
