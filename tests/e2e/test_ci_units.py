"""The CI backends' pure parts: rate-limit headers, hostile API answers, correlation, the
App's JWT."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.backends.api import Api, wait_from
from bot.backends.follower import Listings
from bot.backends.github import GitHub, match
from bot.backends.github import state_of as github_state
from bot.backends.github_auth import GitHubAuth, app_jwt
from bot.backends.gitlab import state_of as gitlab_state
from bot.kinds import CiStatus, RunStatus
from bot.testing.github import FakeGitHub


def test_wait_from_rate_limit_headers() -> None:
    now = 1_000_000.0
    assert wait_from({"Retry-After": "30"}, now) == 30.0
    assert wait_from({"retry-after": formatdate(now + 90, usegmt=True)}, now) == 90.0
    assert wait_from({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(now + 42)}, now) == 42
    assert wait_from({"RateLimit-Remaining": "0", "RateLimit-Reset": str(now + 7)}, now) == 7
    assert (
        wait_from({"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(now + 42)}, now) is None
    )
    assert wait_from({"Retry-After": "nan"}, now) is None
    assert wait_from({"Retry-After": "99999999"}, now) == 3600.0
    assert wait_from({"Retry-After": "soon"}, now) is None


def test_hostile_answers_do_not_crash_and_read_as_text() -> None:
    junk = {
        "id": {"x": 1},
        "status": ["completed"],
        "conclusion": {"a": 1},
        "html_url": 7,
        "run_started_at": "not a time",
    }
    state = github_state(junk, [{"status": "in_progress", "name": None, "steps": "x"}, {}])
    assert state.status == CiStatus.QUEUED and state.run_id == "" and state.duration is None
    assert state.current == "a job"
    done = github_state({"id": 1, "status": "completed", "conclusion": ["x"]})
    assert done.conclusion is None and done.run_status == RunStatus.FAILURE
    pipeline = gitlab_state({"id": 5, "status": {"x": 1}}, [{"status": ["failed"], "name": 3}])
    assert pipeline.status == CiStatus.QUEUED and pipeline.jobs[0].name == "3"


def test_conclusions_map_to_run_statuses() -> None:
    for conclusion, status in [
        ("success", RunStatus.SUCCESS),
        ("skipped", RunStatus.SUCCESS),
        ("failure", RunStatus.FAILURE),
        ("cancelled", RunStatus.CANCELLED),
        ("timed_out", RunStatus.TIMED_OUT),
        ("startup_failure", RunStatus.FAILURE),
    ]:
        state = github_state({"id": 1, "status": "completed", "conclusion": conclusion})
        assert state.run_status == status
    assert gitlab_state({"id": 1, "status": "canceled"}).conclusion == "cancelled"
    assert gitlab_state({"id": 1, "status": "failed"}).run_status == RunStatus.FAILURE
    assert gitlab_state({"id": 1, "status": "manual"}).status == CiStatus.IN_PROGRESS


def test_correlation_matches_the_id_never_the_newest() -> None:
    runs = [
        {"id": 3, "display_title": "Roll back checkout [other-run]"},
        {"id": 2, "display_title": "Roll back checkout"},
        {"id": 1, "display_title": "Roll back checkout [run-abc]"},
    ]
    assert match(runs, "run-abc") == runs[2]
    assert match(runs, "run-missing") is None


def test_app_jwt_is_rs256_with_iat_exp_iss() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    token = app_jwt("777", pem)
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], issuer="777")
    assert claims["iat"] <= time.time() - 59 and claims["exp"] - claims["iat"] == 600


def test_concurrent_runs_share_one_listing_per_tick() -> None:
    async def scenario(fake: FakeGitHub) -> list[int]:
        async with httpx.AsyncClient(trust_env=False) as client:
            api = Api(client, fake.url, "GitHub")
            github = GitHub(api, GitHubAuth(api, token="t"))
            listings = Listings(tick=0.5)
            since = "2020-01-01T00:00:00Z"
            audit = _no_audit
            found = await asyncio.gather(
                *(listings.runs(github, "acme/app", "ship.yml", since, audit) for _ in range(8))
            )
            await asyncio.sleep(0.6)  # the next tick lists again
            await listings.runs(github, "acme/app", "ship.yml", since, audit)
            return [len(runs) for runs in found]

    with FakeGitHub(token="t") as fake:
        fake.workflow("acme/app", "ship.yml")
        for _ in range(3):
            fake.new_run("acme/app", "ship.yml", "main", {})
        assert asyncio.run(scenario(fake)) == [3] * 8
        assert len(fake.called("GET", "/workflows/ship.yml/runs")) == 2


async def _no_audit(kind: str, detail: dict) -> None:
    return None
