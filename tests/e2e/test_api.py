"""The REST API over real HTTP: tokens, each endpoint, the same refusals as Slack,
approvals decided in Slack, idempotency, the rate limit and cancel."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.testing.workspace import User
from tests.conftest import Bot, Modals, start_bot
from tests.support import API_CONFIG as CONFIG
from tests.support import click, request_message, texts, token, wait


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG, API_TOKEN_KEY="api-token-key-for-tests")


def client(bot: Bot, value: str, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=bot.url, headers={"Authorization": f"Bearer {value}", **headers}, timeout=10
    )


def start(api: httpx.Client, action: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return api.post(f"/api/v1/actions/{action}/runs", json=body, headers=headers)


LOCK = {"inputs": {"reason": "migration", "minutes": 30}, "service": "checkout-api"}


def test_token_is_shown_once_and_only_its_hash_is_stored(bot: Bot) -> None:
    value = token(bot)
    assert value.startswith("act_") and len(value) >= 4 + 43
    row = bot.store.tokens()[0]
    assert value not in row.hash and len(row.hash) == 64
    events = bot.store.events(kind="token_created")
    assert events and value not in str(events[0].detail) and events[0].detail["name"] == "ci"


def test_missing_or_bad_token_is_401_problem(bot: Bot) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer act_" + "x" * 43},
        {"Authorization": "Basic Zm9v"},
    ):
        response = httpx.get(f"{bot.url}/api/v1/actions", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


def test_actions_list_says_who_may_run_what(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        listed = {a["id"]: a for a in api.get("/api/v1/actions").json()["actions"]}
        assert "slack-only" not in listed  # api: false
        assert listed["lock-deploys"]["can_run"] == {"allowed": True, "reason": None}
        assert listed["admin-only"]["can_run"] == {
            "allowed": False,
            "reason": "only admins can run this action",
        }
        detail = api.get("/api/v1/actions/lock-deploys").json()
        schema = detail["inputs_schema"]
        assert schema["required"] == ["reason"]
        assert schema["properties"]["minutes"] == {
            "title": "Minutes",
            "type": "integer",
            "minimum": 1,
            "maximum": 120,
        }
        assert schema["properties"]["reason"]["maxLength"] == 40
        assert api.get("/api/v1/actions/nope").status_code == 404
        assert api.get("/api/v1/actions/slack-only").status_code == 404


def test_run_posts_in_channel_and_reaches_the_receiver(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        body = {**LOCK, "channel": "C0CHAN", "inputs": {**LOCK["inputs"], "token": "s3cr3t-v"}}
        response = start(api, "lock-deploys", body)
        assert response.status_code == 202, response.text
        run = response.json()
        assert run["status"] == "PENDING" and run["via"] == "api"
        assert run["inputs"]["token"] != "s3cr3t-v"  # secrets never come back
        sent = bot.receiver.wait(1)[0]
        assert sent.json() == {"service": "checkout-api", "reason": "migration", "minutes": 30}
        wait(lambda: api.get(f"/api/v1/runs/{run['id']}").json()["status"] == "SUCCESS")
        done = api.get(f"/api/v1/runs/{run['id']}").json()
        assert done["attempts"][0]["status"] == 200 and done["finished_at"]
    requested = bot.store.events(run["id"], kind="requested")[0].detail
    assert requested["via"] == "api" and requested["token"] == "ci"
    status = bot.slack.messages("C0CHAN")[0]
    shown = texts(status["blocks"])
    assert "requested via API (token *ci*) by <@U0DEV>" in shown
    assert "s3cr3t-v" not in str(bot.slack.calls())


def test_run_in_a_thread_posts_its_status_and_result_there(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        alone = start(api, "lock-deploys", {**LOCK, "thread_ts": "1700000000.000100"})
        assert alone.status_code == 422 and "thread_ts" in alone.text
        body = {**LOCK, "channel": "C0CHAN", "thread_ts": "1700000000.000100"}
        run = start(api, "lock-deploys", body).json()
        wait(lambda: api.get(f"/api/v1/runs/{run['id']}").json()["status"] == "SUCCESS")
    posts = [c.params for c in bot.slack.calls("chat.postMessage")]
    assert posts and all(p.get("thread_ts") == "1700000000.000100" for p in posts)


def test_run_without_channel_goes_to_the_users_dm(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        assert start(api, "lock-deploys", LOCK).status_code == 202
    wait(lambda: bot.slack.calls("chat.postMessage"), what="the status message")
    assert bot.slack.calls("chat.postMessage")[0].params["channel"] == "U0DEV"


def test_refusals_match_slack(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        denied = start(api, "admin-only", {})
        assert denied.status_code == 403
        assert denied.json()["detail"] == "only admins can run this action"
        elsewhere = start(api, "in-ops", {"channel": "C0CHAN"})
        assert elsewhere.status_code == 403 and "<#C0OPS>" in elsewhere.json()["detail"]
        invalid = start(
            api, "lock-deploys", {"service": "checkout-api", "inputs": {"minutes": 500, "x": 1}}
        )
        assert invalid.status_code == 422
        errors = invalid.json()["errors"]
        assert errors["reason"] == "Reason is required."
        assert errors["minutes"] == "At most 120."
        assert errors["x"] == "This action has no such input."
        no_service = start(api, "lock-deploys", {"inputs": {"reason": "r"}})
        assert no_service.status_code == 422 and "service" in no_service.json()["errors"]
        assert start(api, "slack-only", {}).status_code == 404
    refused = bot.store.events(kind="refused")
    assert any(e.detail["step"] == "api" for e in refused)
    assert bot.receiver.received == []


def test_malformed_bodies_are_4xx_problems(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        url = "/api/v1/actions/lock-deploys/runs"
        bad = api.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
        assert api.post(url, json=[1, 2]).status_code == 422
        assert api.post(url, json={"inputs": {}, "extra": 1}).status_code == 422
        assert api.post(url, json={"channel": "not a channel"}).status_code == 422
        huge = api.post(url, content=b'{"inputs": {"reason": "' + b"x" * 70_000 + b'"}}')
        assert (
            huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"
        )


def test_scopes_are_enforced(bot: Bot) -> None:
    with client(bot, token(bot, scopes=["actions:read"])) as api:
        assert api.get("/api/v1/actions").status_code == 200
        refused = start(api, "lock-deploys", LOCK)
        assert refused.status_code == 403 and "runs:write" in refused.json()["detail"]
        assert api.get("/api/v1/runs").status_code == 403


def test_idempotency_key(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        first = start(api, "lock-deploys", LOCK, **{"Idempotency-Key": "job-42"})
        again = start(api, "lock-deploys", LOCK, **{"Idempotency-Key": "job-42"})
        assert first.status_code == 202 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        other = {**LOCK, "inputs": {"reason": "other"}}
        conflict = start(api, "lock-deploys", other, **{"Idempotency-Key": "job-42"})
        assert conflict.status_code == 409
    assert len(bot.store.runs()) == 1


def test_rate_limit_is_429_with_retry_after(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        for _ in range(3):
            assert start(api, "lock-deploys", LOCK).status_code == 202
        limited = start(api, "lock-deploys", LOCK)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "3 times in the last minute" in limited.json()["detail"]


def test_list_runs_is_keyset_paged_and_filtered(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        ids = [start(api, "lock-deploys", LOCK).json()["id"] for _ in range(3)]
        ids.append(start(api, "prod-deploy", {}).json()["id"])
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/v1/runs", params=params).json()
            seen += [r["id"] for r in page["runs"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == 4
        only = api.get("/api/v1/runs", params={"action": "prod-deploy"}).json()["runs"]
        assert [r["id"] for r in only] == [ids[3]]
        waiting = api.get("/api/v1/runs", params={"status": "PENDING_APPROVAL"}).json()["runs"]
        assert [r["id"] for r in waiting] == [ids[3]]
        assert api.get("/api/v1/runs", params={"cursor": "@@"}).status_code == 422
        assert api.get("/api/v1/runs", params={"since": "yesterday"}).status_code == 422
    with client(bot, token(bot, user="U0OWNER", name="other")) as other:
        assert other.get("/api/v1/runs").json()["runs"] == []  # not theirs
        assert other.get(f"/api/v1/runs/{ids[0]}").status_code == 404


def test_approval_started_via_api_is_approved_in_slack(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        response = start(api, "prod-deploy", {"channel": "C0CHAN"})
        run = response.json()
        assert response.status_code == 202 and run["status"] == "PENDING_APPROVAL"
        request = request_message(bot)
        assert "requested via API (token *ci*) by <@U0DEV>" in texts(request["blocks"])
        time.sleep(0.2)
        assert bot.receiver.received == []
        click(bot, "approve_run", run["id"], "U0SRE1")
        bot.receiver.wait(1)
        wait(lambda: api.get(f"/api/v1/runs/{run['id']}").json()["status"] == "SUCCESS")
        approvals = api.get(f"/api/v1/runs/{run['id']}").json()["approvals"]
        assert [(a["approver"], a["approved"]) for a in approvals] == [("U0SRE1", True)]


def test_cancel_and_withdraw(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        run = start(api, "prod-deploy", {}).json()
        with client(bot, token(bot, user="U0OWNER", name="o")) as other:
            assert other.post(f"/api/v1/runs/{run['id']}/cancel").status_code == 404
        cancelled = api.post(f"/api/v1/runs/{run['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "WITHDRAWN"
        again = api.post(f"/api/v1/runs/{run['id']}/cancel")
        assert again.status_code == 409
    assert bot.receiver.received == []


def test_revoked_expired_and_departed_tokens_stop_working(bot: Bot) -> None:
    value = token(bot)
    with client(bot, value) as api:
        assert api.get("/api/v1/actions").status_code == 200
        row = bot.store.tokens()[0]
        assert row.last_used_at is not None
        assert bot.store.events(kind="token_used")
        bot.store.revoke_token(row.id, "U0DEV")
        assert api.get("/api/v1/actions").status_code == 401
    assert bot.store.events(kind="token_revoked")[0].detail["name"] == "ci"
    gone = token(bot, user="U0GONE", name="gone")
    bot.slack.users["U0GONE"] = User("U0GONE", "gone", "Gone", deleted=True)
    with client(bot, gone) as api:
        assert api.get("/api/v1/actions").status_code == 401


def test_cli_creates_a_token(bot: Bot, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": bot.runtime.settings.DATABASE_URL,
        "API_TOKEN_KEY": "api-token-key-for-tests",
        "PATH": "/usr/bin:/bin",
    }
    made = subprocess.run(
        [sys.executable, "-m", "bot", "token", "create", "--user", "U0DEV", "--name", "ci",
         "--scopes", "actions:read,runs:read", "--expires", "30d"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    value = made.stdout.strip()
    with client(bot, value) as api:
        assert api.get("/api/v1/actions").status_code == 200
        assert start(api, "lock-deploys", LOCK).status_code == 403
    too_long = subprocess.run(
        [sys.executable, "-m", "bot", "token", "create", "--user", "U0DEV", "--name", "x",
         "--expires", "2y"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert too_long.returncode == 2 and "at most one year" in too_long.stderr


def test_openapi_document_is_served(bot: Bot) -> None:
    spec = httpx.get(f"{bot.url}/api/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/actions/{action_id}/runs" in spec["paths"]
    assert "RunOut" in spec["components"]["schemas"]


def says(bot: Bot, command: str, text: str, user: str) -> dict:
    before = len(bot.slack.calls("response_url"))
    assert bot.requests.command(command, text=text, user_id=user).status_code == 200
    return bot.slack.wait_for("response_url", count=before + 1)[-1].params


def test_token_lifecycle_in_slack(bot: Bot) -> None:
    modals = Modals.before(bot.slack)
    bot.requests.command("/actions", text="token", user_id="U0DEV")
    view = modals.opened()
    assert view["callback_id"] == "token_modal"
    refused = bot.submit(view, {"token_name": "laptop", "token_scopes": []})
    assert refused.json()["response_action"] == "errors"
    answer = bot.submit(
        view,
        {
            "token_name": "laptop",
            "token_scopes": ["actions:read", "runs:read"],
            "token_expiry": "30d",
        },
    )
    shown = texts(answer.json()["view"]["blocks"])
    value = next(w.strip("`") for w in shown.split() if w.strip("`").startswith("act_"))
    assert bot.store.tokens()[0].scopes == ["actions:read", "runs:read"]
    with client(bot, value) as api:
        assert api.get("/api/v1/actions").status_code == 200
    mine = says(bot, "/actions", "tokens", "U0DEV")
    listed = texts(mine["blocks"])
    assert "laptop" in listed and "last used" in listed and value not in listed
    # Someone else can't revoke it; its owner can.
    row = bot.store.tokens()[0]
    before = len(bot.slack.calls("response_url"))
    bot.requests.block_action("revoke_token", value=row.id, user_id="U0OWNER")
    answer = bot.slack.wait_for("response_url", count=before + 1)[-1].params
    assert "can't revoke" in answer["text"]
    bot.requests.block_action("revoke_token", value=row.id, user_id="U0DEV")
    wait(lambda: bot.store.tokens()[0].revoked_at is not None, what="the revocation")
    with client(bot, value) as api:
        assert api.get("/api/v1/actions").status_code == 401
    # Admins see every token and may revoke any.
    other = token(bot, user="U0OWNER", name="owner-ci")
    everyone = texts(says(bot, "/actions-admin", "tokens", "U0ADMIN")["blocks"])
    assert "owner-ci" in everyone and "<@U0OWNER>" in everyone and "laptop" in everyone
    refusal = says(bot, "/actions-admin", "tokens", "U0DEV")
    assert "only for the bot's admins" in refusal.get("text", "") + texts(
        refusal.get("blocks") or []
    )
    owner_row = next(t for t in bot.store.tokens() if t.name == "owner-ci")
    bot.requests.block_action("revoke_token", value=owner_row.id, user_id="U0ADMIN")
    wait(lambda: bot.store.get_token(owner_row.id).revoked_at is not None, what="admin revoke")
    with client(bot, other) as api:
        assert api.get("/api/v1/actions").status_code == 401


def test_odd_filters_are_422_not_500(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        for params in (
            {"since": "0001-01-01T00:00:00+01:00"},
            {"limit": "0"},
            {"status": "NOPE"},
            {"cursor": "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwgIngiXQ"},
        ):
            response = api.get("/api/v1/runs", params=params)
            assert response.status_code == 422, params
            assert response.headers["content-type"] == "application/problem+json"


def test_input_options(bot: Bot) -> None:
    with client(bot, token(bot)) as api:
        url = "/api/v1/actions/prod-deploy/inputs/region/options"
        assert api.get(url, params={"q": "east"}).json() == {
            "options": [{"value": "us-east", "label": "us-east"}]
        }
        assert len(api.get(url).json()["options"]) == 2
        missing = api.get("/api/v1/actions/prod-deploy/inputs/nope/options")
        assert missing.status_code == 404
        schema = api.get("/api/v1/actions/prod-deploy").json()["inputs_schema"]
        assert schema["properties"]["region"]["enum"] == ["eu-west", "us-east"]
        wrong = start(api, "prod-deploy", {"inputs": {"region": "mars"}})
        assert wrong.status_code == 422
        assert wrong.json()["errors"] == {"region": "Choose one of the listed options."}
