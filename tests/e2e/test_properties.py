"""Property-based tests over every parser of outside input.

Whatever arrives, the answer is a value or a refusal that says why: never an unexpected
exception, never a 5xx. The HTTP properties go through one real bot on loopback.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot import inbound
from bot.admin import QueryError, RunsQuery, parse_runs_query
from bot.catalog import MAX_DURATION, parse_duration
from bot.runs import retry_after
from bot.store import Run, RunStatus
from bot.webhooks import callbacks, render
from bot.webhooks.signing import standard_signature
from tests.conftest import SIGNING_SECRET, WEBHOOK_SECRET, Bot, start_bot
from tests.fakes import SlackRequests

CONFIG = """
admins: {users: [U0ADMIN]}
teams:
  - {id: ci, name: CI Team, members: [U0DEV], channel: C0CI}
actions:
  - id: pipeline
    name: Run pipeline
    owner: ci
    async: true
    timeout_after: 1h
    webhook: {url: "{receiver}/pipeline", payload: '{}'}
    inputs:
      - {identifier: why, displayName: Why, type: text_input}
"""

# --- strategies -----------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
# What a header can carry on the wire (latin-1 text, no DEL, no surrounding blanks).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
).map(str.strip)
numbers = st.integers(-(10**12), 10**12).map(str) | st.floats().map(repr)
unit = st.sampled_from(["ms", "s", "m", "h", "d", "x", ""])
duration_text = st.lists(st.tuples(numbers, unit), max_size=4).map(
    lambda ps: "".join(n + u for n, u in ps)
) | st.text(max_size=30)
slack_types = st.sampled_from(
    [
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "block_suggestion",
        "event_callback",
        "url_verification",
        "app_rate_limited",
    ]
)
slack_ids = st.sampled_from(["U0DEV", "U0ADMIN", "C0CHAN", "pipeline", "run_action", "", "x"])
slack_payloads = st.fixed_dictionaries(
    {"type": slack_types | st.text(max_size=10)},
    optional={
        "user": st.fixed_dictionaries({"id": slack_ids}) | json_values,
        "team": st.fixed_dictionaries({"id": st.just("T0TEAM")}) | json_values,
        "channel": st.fixed_dictionaries({"id": slack_ids}) | json_values,
        "actions": st.lists(
            st.fixed_dictionaries(
                {"action_id": slack_ids, "value": slack_ids, "type": st.just("button")}
            )
            | json_values,
            max_size=2,
        ),
        "view": st.fixed_dictionaries(
            {"callback_id": st.text(max_size=20), "private_metadata": st.text(max_size=40)},
            optional={"state": json_values, "id": slack_ids},
        )
        | json_values,
        "trigger_id": st.text(max_size=20),
        "response_url": st.just("http://127.0.0.1:9/r"),
        "event": json_values,
        "challenge": st.text(max_size=20),
    },
)
form_fields = st.dictionaries(
    st.sampled_from(["command", "text", "user_id", "channel_id", "team_id", "trigger_id"])
    | st.text(max_size=10),
    st.sampled_from(["/actions", "/actions-admin", "runs since:7d", "U0DEV"])
    | st.text(max_size=40),
    max_size=6,
)
slack_bodies = st.one_of(
    form_fields.map(urllib.parse.urlencode),
    slack_payloads.map(lambda p: urllib.parse.urlencode({"payload": json.dumps(p)})),
    json_values.map(lambda v: "payload=" + urllib.parse.quote(json.dumps(v))),
    st.binary(max_size=200),
)


# --- pure parsers ---------------------------------------------------------------------------


@given(st.text(max_size=60) | numbers | st.sampled_from(["nan", "inf", "-inf", "1e999"]))
def test_retry_after_is_none_or_a_bounded_finite_number(value: str) -> None:
    seconds = retry_after({"Retry-After": value})
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= 3600)


@given(st.datetimes(timezones=st.just(UTC)))
def test_retry_after_reads_http_dates(moment: datetime) -> None:
    seconds = retry_after({"retry-after": moment.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert seconds is not None and 0 <= seconds <= 3600


@given(duration_text | st.integers() | st.floats() | st.booleans() | st.none())
def test_a_duration_is_positive_and_usable_or_refused_with_a_reason(value: Any) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        assert str(exc)
        return
    assert 0 < seconds <= MAX_DURATION
    # Usable in date arithmetic, which is what every caller does with it.
    assert datetime.now(UTC) + timedelta(seconds=seconds) > datetime.now(UTC)


@given(st.lists(st.tuples(st.integers(1, 10_000), st.sampled_from(["s", "m", "h"])), min_size=1))
def test_a_duration_adds_up_its_parts(parts: list[tuple[int, str]]) -> None:
    total = sum(n * {"s": 1, "m": 60, "h": 3600}[u] for n, u in parts)
    text = "".join(f"{n}{u}" for n, u in parts)
    assert parse_duration(text) == total


filter_words = st.tuples(
    st.sampled_from(["action", "user", "status", "since", "who", ""]),
    st.sampled_from(["", "deploy", "@U0DEV", "<@U0DEV|dev>", "failure", "7d", "99999999999d"])
    | st.text(max_size=15),
).map(":".join)


@given(st.lists(filter_words, max_size=5).map(" ".join) | st.text(max_size=60))
def test_the_runs_query_parses_or_says_how_to_write_it(text: str) -> None:
    try:
        query = parse_runs_query(text)
    except QueryError as exc:
        assert str(exc)
        return
    assert isinstance(query, RunsQuery)
    assert query.status is None or query.status.lower() in {s.value.lower() for s in RunStatus}


@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_json_bodies_parse_within_the_depth_or_are_refused(body: bytes) -> None:
    try:
        value = inbound.parse_json(body)
    except inbound.MalformedJSON as exc:
        assert str(exc)
        return
    assert inbound.depth(value) <= inbound.MAX_JSON_DEPTH


@given(st.integers(1, 200))
def test_nesting_past_the_limit_is_refused(levels: int) -> None:
    body = b"[" * levels + b"]" * levels
    if levels <= inbound.MAX_JSON_DEPTH:
        assert inbound.depth(inbound.parse_json(body)) == levels
    else:
        with pytest.raises(inbound.MalformedJSON):
            inbound.parse_json(body)


@given(header_text, header_text, st.binary(max_size=100))
def test_slack_signature_check_never_raises(stamp: str, signature: str, body: bytes) -> None:
    headers = {"x-slack-request-timestamp": stamp, "x-slack-signature": signature}
    assert inbound.slack_signature_problem(SIGNING_SECRET, headers, body)


@given(st.binary(max_size=200))
def test_a_slack_signed_body_passes_the_check(body: bytes) -> None:
    stamp = str(int(time.time()))
    headers = {
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": SlackRequests.sign(SIGNING_SECRET, stamp, body),
    }
    assert inbound.slack_signature_problem(SIGNING_SECRET, headers, body) is None


@given(header_text, header_text, header_text, st.binary(max_size=100))
def test_webhook_signature_check_never_raises(
    msg_id: str, stamp: str, signature: str, body: bytes
) -> None:
    headers = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}
    assert callbacks.signature_ok(WEBHOOK_SECRET, headers, body) is False


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30))
def test_a_standard_signature_passes_the_check(msg_id: str) -> None:
    stamp = int(time.time())
    body = b'{"status": "running"}'
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1,bad " + standard_signature(WEBHOOK_SECRET, msg_id, stamp, body),
    }
    assert callbacks.signature_ok(WEBHOOK_SECRET, headers, body)


# --- through HTTP -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    path: Path = tmp_path_factory.mktemp("properties")
    yield from start_bot(path, CONFIG)


def refused_with_a_reason(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert response.text.strip(), "a refusal says why"


@given(body=slack_bodies, signed=st.booleans(), as_json=st.booleans())
def test_slack_bodies_never_get_a_5xx(
    bot: Bot, body: str | bytes, signed: bool, as_json: bool
) -> None:
    content_type = "application/json" if as_json else "application/x-www-form-urlencoded"
    response = bot.requests.raw(body, sign=signed, content_type=content_type)
    refused_with_a_reason(response)
    if not signed:
        assert response.status_code == 401


@given(event=json_values, kind=slack_types)
def test_slack_json_events_never_get_a_5xx(bot: Bot, event: Any, kind: str) -> None:
    body = json.dumps({"type": kind, "event": event, "team_id": "T0TEAM", "challenge": "c"})
    refused_with_a_reason(bot.requests.raw(body, content_type="application/json"))


@given(stamp=header_text, signature=header_text, body=st.binary(max_size=100))
def test_slack_headers_never_get_a_5xx(bot: Bot, stamp: str, signature: str, body: bytes) -> None:
    headers = {
        "X-Slack-Request-Timestamp": stamp.encode("latin-1"),
        "X-Slack-Signature": signature.encode("latin-1"),
    }
    response = httpx.post(bot.requests.events_url, content=body, headers=headers, trust_env=False)
    assert response.status_code == 401 and response.text


def new_run(bot: Bot) -> tuple[str, str]:
    """A running async run, straight in the store: (run id, its callback token)."""
    run = Run(action_id="pipeline", user_id="U0DEV", user_name="dev", status=RunStatus.RUNNING)
    bot.store.create_run(run, {"property": True})
    return run.id, render.callback_token(bot.runtime.settings, run.id)


callback_bodies = st.one_of(
    st.fixed_dictionaries(
        {"status": st.sampled_from(["running", "success", "failure"]) | json_values},
        optional={
            "message": json_values,
            "links": st.lists(
                st.fixed_dictionaries({"url": st.text(max_size=30), "text": json_values})
                | json_values,
                max_size=3,
            )
            | json_values,
            "data": json_values,
            "log": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)
tokens = st.sampled_from(["valid", "other"]) | header_text


@given(body=callback_bodies, token=tokens, where=st.sampled_from(["bearer", "header", "query"]))
def test_callbacks_never_get_a_5xx(bot: Bot, body: bytes, token: str, where: str) -> None:
    run_id, valid = new_run(bot)
    offered = {"valid": valid, "other": render.callback_token(bot.runtime.settings, "x")}.get(
        token, token
    )
    headers = {"Content-Type": b"application/json"}
    params = {}
    if where == "bearer":
        headers["Authorization"] = f"Bearer {offered}".strip().encode("latin-1")
    elif where == "header":
        headers["X-Actions-Callback-Token"] = offered.encode("latin-1")
    else:
        params["token"] = offered
    response = httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        content=body,
        headers=headers,
        params=params,
        trust_env=False,
    )
    refused_with_a_reason(response)
    if offered.strip() != valid:
        assert response.status_code == 401
    if response.status_code >= 400:
        assert response.json()["error"]


@given(
    msg_id=header_text, stamp=header_text | st.integers(0, 2**40).map(str), signature=header_text
)
def test_signed_callback_headers_never_get_a_5xx(
    bot: Bot, msg_id: str, stamp: str, signature: str
) -> None:
    run_id, token = new_run(bot)
    headers = {
        "Authorization": f"Bearer {token}",
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": signature,
    }
    response = httpx.post(
        f"{bot.url}/runs/{run_id}/callback",
        content=b'{"status": "running"}',
        headers={k: v.encode("latin-1") for k, v in headers.items()},
        trust_env=False,
    )
    assert response.status_code == 401 and response.json()["error"]


@given(run_id=st.text(max_size=40))
def test_callbacks_to_any_path_never_get_a_5xx(bot: Bot, run_id: str) -> None:
    assume(run_id.strip("/") == run_id and "/" not in run_id and run_id not in ("", ".", ".."))
    url = f"{bot.url}/runs/{urllib.parse.quote(run_id, safe='')}/callback"
    response = httpx.post(url, json={"status": "success"}, trust_env=False)
    refused_with_a_reason(response)


@given(st.lists(filter_words, max_size=4).map(" ".join))
@example("action:de\x00ploy")  # PostgreSQL refuses NUL in text
def test_a_parsed_runs_query_runs_against_the_database(bot: Bot, text: str) -> None:
    try:
        query = parse_runs_query(text)
    except QueryError:
        return
    found = bot.store.runs_page(
        action_id=query.action, user_id=query.user, status=query.status, since=query.since
    )
    assert all(query.status in (None, r.status) for r in found)
