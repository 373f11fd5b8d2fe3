"""CI backends end to end over real HTTP: a GitHub Actions workflow or a GitLab pipeline
dispatched from Slack and followed to its end, against fake CI APIs on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.testing.github import FakeGitHub
from bot.testing.gitlab import FakeGitLab
from tests.conftest import Bot, Modals, start_bot
from tests.support import texts

GITHUB_TOKEN = "ghp_fake-token-for-tests"
GITLAB_TOKEN = "glpat-fake-token-for-tests"

CONFIG = """
teams:
  - {id: ops, name: Ops, members: [U0DEV], channel: C0OPS}
services:
  - {id: checkout, name: Checkout, owner: ops}
actions:
  - id: rollback
    name: Roll back
    owner: ops
    scope: service
    timeout_after: {timeout}
    backend:
      github_workflow:
        repo: "acme/{{ service.id }}"
        workflow: rollback.yml
        ref: main
        inputs: {service: "{{ service.id }}", version: "{{ manualInputs.version }}"}
    inputs:
      - {identifier: version, displayName: Version, type: text_input, required: true}
  - id: templated
    name: Templated
    owner: ops
    backend:
      github_workflow: {repo: acme/checkout, workflow: rollback.yml}
    response_template: |
      CI said {{ ci.conclusion }} ({{ response.status }}) for run {{ ci.run_id }} at {{ ci.url }};
      jobs: {% for job in ci.jobs %}{{ job.name }}={{ job.conclusion }} {% endfor %}
  - id: grant
    name: Grant access
    owner: ops
    approval: {approvers: {users: [U0SRE1]}, channel: C0APPROVE}
    backend:
      github_workflow: {repo: acme/checkout, workflow: grant.yml, inputs: {who: "{{ user.id }}"}}
    expires:
      after: 1s
      backend:
        gitlab_pipeline: {project: acme/deploy, variables: {REVOKE: "{{ user.id }}", OF: "{{ run.parent_id }}"}}
  - id: missing
    name: Missing workflow
    owner: ops
    backend:
      github_workflow: {repo: acme/checkout, workflow: nope.yml}
  - id: pipeline
    name: Pipeline
    owner: ops
    backend:
      gitlab_pipeline:
        project: acme/deploy
        ref: main
        variables: {SERVICE: checkout, WHO: "{{ user.id }}"}
"""


def config(timeout: str = "1h") -> str:
    return CONFIG.replace("{timeout}", timeout)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(token=GITHUB_TOKEN).start()
    fake.workflow("acme/checkout", "rollback.yml", inputs=["service", "version", "actions_run_id"])
    yield fake
    fake.stop()


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab(token=GITLAB_TOKEN).start()
    fake.project("acme/deploy")
    yield fake
    fake.stop()


def ci_settings(github: FakeGitHub, gitlab: FakeGitLab, **more: Any) -> dict[str, Any]:
    return {
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "GITLAB_API_URL": gitlab.api_url,
        "GITLAB_TOKEN": GITLAB_TOKEN,
        "CI_POLL_INITIAL_SECONDS": 0.1,
        "CI_POLL_MAX_SECONDS": 0.4,
        **more,
    }


@pytest.fixture
def bot(tmp_path: Path, github: FakeGitHub, gitlab: FakeGitLab) -> Iterator[Bot]:
    yield from start_bot(tmp_path, config(), **ci_settings(github, gitlab))


def run(bot: Bot, action: str, answers: dict[str, Any] | None = None, user: str = "U0DEV") -> None:
    view = bot.open_form(action, user_id=user)
    if action == "rollback" and "service" not in (answers or {}):
        answers = {"service": "checkout", **(answers or {})}
    response = bot.submit(view, answers or {}, user_id=user)
    assert response.status_code == 200, response.text


def wait_run(bot: Bot, status: str | None = None, count: int = 1, timeout: float = 15) -> list:
    """The runs, once ``count`` of them reached ``status`` (default: any final one)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = bot.store.runs()
        done = [
            r
            for r in runs
            if (r.status == status if status else r.final)
            and not (r.final and bot.store.pending_jobs(r.id))
        ]
        if len(done) >= count:
            return done
        assert time.monotonic() < deadline, f"runs: {[(r.id, r.status) for r in runs]}"
        time.sleep(0.05)


def thread(bot: Bot, channel: str = "C0CHAN") -> str:
    status = bot.slack.messages(channel)[0]
    said = bot.slack.thread(channel, status["ts"])
    return "\n".join(m.get("text", "") + "\n" + texts(m.get("blocks") or []) for m in said)


def status_updates(bot: Bot) -> list[str]:
    return [texts(c.params.get("blocks") or []) for c in bot.slack.calls("chat.update")]


def test_workflow_dispatched_followed_and_reported(bot: Bot, github: FakeGitHub) -> None:
    run(bot, "rollback", {"version": "1.2.3"})
    (done,) = wait_run(bot)
    assert done.status == "SUCCESS"
    dispatches = github.called("POST", "/dispatches")
    # This server refuses run details (as older Enterprise Servers do): the bot sends the
    # correlation input instead, and finds the run by it.
    assert "return_run_details" in dispatches[0]["body"]
    assert dispatches[-1]["body"] == {
        "ref": "main",
        "inputs": {"service": "checkout", "version": "1.2.3", "actions_run_id": done.id},
    }
    assert dispatches[-1]["authorization"] == f"Bearer {GITHUB_TOKEN}"
    listed = github.called("GET", "/actions/workflows/rollback.yml/runs")
    assert listed[0]["query"]["event"] == ["workflow_dispatch"]
    assert listed[0]["query"]["created"][0].startswith(">=")
    (fake_run,) = github.runs.values()
    # The status message followed the run: queued, in progress with the job, linked.
    updates = "\n".join(status_updates(bot))
    assert "Queued in GitHub Actions" in updates
    assert "In progress in GitHub Actions: build › Run the script" in updates
    assert f"actions/runs/{fake_run.id}" in str(bot.slack.calls("chat.update")[-2].params)
    said = thread(bot)
    assert (
        f"Roll back succeeded in GitHub Actions: <https://github.example/acme/checkout/actions/runs/{fake_run.id}|run {fake_run.id}>"
        in said
    )
    assert "succeeded" in texts(bot.slack.messages("C0CHAN")[0]["blocks"])
    # Every API call is audited; the token never is.
    events = bot.store.events(done.id)
    kinds = [e.kind for e in events]
    assert "ci_request" in kinds and "ci_response" in kinds and "ci_completed" in kinds
    assert GITHUB_TOKEN not in str([e.detail for e in events])


def test_failed_run_links_the_failed_jobs(bot: Bot, github: FakeGitHub) -> None:
    github.plan("acme/checkout", "rollback.yml", conclusion="failure")
    run(bot, "rollback", {"version": "9"})
    (done,) = wait_run(bot)
    assert done.status == "FAILURE"
    (fake_run,) = github.runs.values()
    said = thread(bot)
    assert "Roll back failed (failure) in GitHub Actions" in said
    assert (
        f"Failed jobs: <https://github.example/acme/checkout/actions/runs/{fake_run.id}/job/{fake_run.id * 10 + 1}|deploy>"
        in said
    )
    assert "|build>" not in said.split("Failed jobs")[1]


def test_cancelled_in_ci(bot: Bot, github: FakeGitHub) -> None:
    github.plan("acme/checkout", "rollback.yml", conclusion="cancelled")
    run(bot, "rollback", {"version": "9"})
    (done,) = wait_run(bot)
    assert done.status == "CANCELLED"
    assert "Roll back was cancelled in GitHub Actions" in thread(bot)


def test_result_template_sees_ci(bot: Bot, github: FakeGitHub) -> None:
    github.plan("acme/checkout", "rollback.yml", conclusion="failure")
    run(bot, "templated")
    wait_run(bot)
    (fake_run,) = github.runs.values()
    said = thread(bot)
    assert f"CI said failure (failure) for run {fake_run.id}" in said
    assert "jobs: build=success deploy=failure" in said


def test_two_concurrent_dispatches_each_find_their_own_run(bot: Bot, github: FakeGitHub) -> None:
    run(bot, "rollback", {"version": "1"})
    run(bot, "rollback", {"version": "2"})
    done = wait_run(bot, "SUCCESS", count=2)
    for each in done:
        dispatched = [e for e in bot.store.events(each.id) if e.kind == "ci_completed"]
        ci_run = github.runs[int(dispatched[0].detail["ci"]["run_id"])]
        assert ci_run.params["actions_run_id"] == each.id
        assert ci_run.params["version"] == each.inputs["version"]
    assert {
        e.detail["ci"]["run_id"]
        for r in done
        for e in bot.store.events(r.id)
        if e.kind == "ci_completed"
    } == {str(i) for i in github.runs}


def test_cancel_from_slack_cancels_the_ci_run(bot: Bot, github: FakeGitHub) -> None:
    github.plan("acme/checkout", "rollback.yml", hold=True)
    run(bot, "rollback", {"version": "1"})
    (running,) = wait_run(bot, "RUNNING")
    deadline = time.monotonic() + 10
    while "In progress" not in "".join(status_updates(bot)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status = bot.slack.calls("chat.update")[-1].params
    buttons = [e for b in status["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["cancel_run", "run_details"]
    # Someone else may not; the requester may.
    bot.requests.block_action("cancel_run", value=running.id, user_id="U0OTHER")
    bot.slack.wait_for("response_url")
    assert not github.called("POST", "/cancel")
    bot.requests.block_action("cancel_run", value=running.id, user_id="U0DEV")
    (done,) = wait_run(bot)
    assert done.status == "CANCELLED"
    (fake_run,) = github.runs.values()
    assert github.called("POST", f"/actions/runs/{fake_run.id}/cancel")
    assert fake_run.conclusion == "cancelled"
    said = thread(bot)
    assert "<@U0DEV> asked GitHub Actions to cancel the run" in said
    assert "was cancelled in GitHub Actions" in said


def wait_called(fake: Any, method: str, fragment: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not fake.called(method, fragment):
        assert time.monotonic() < deadline, f"no {method} {fragment}"
        time.sleep(0.02)


def test_rate_limit_backs_off_until_reset(bot: Bot, github: FakeGitHub) -> None:
    # Enough reads in progress that the run can't finish before the limit runs out, even
    # on a busy machine.
    github.plan("acme/checkout", "rollback.yml", running_reads=8)
    run(bot, "rollback", {"version": "1"})
    wait_called(github, "POST", "/dispatches")
    # The limit is spent now, for 2 s: the next call is refused with a reset time. (Spending
    # it one call later would be racy: that call's own `remaining: 0` already tells a good
    # client to wait, so whether anything gets refused would depend on timing.)
    github.limit.run_out(after=0, reset_in=2.0, status=403)
    (done,) = wait_run(bot, timeout=20)
    assert done.status == "SUCCESS"
    refused = [i for i, r in enumerate(github.requests) if r.get("refused")]
    assert refused, "the spent limit refused nothing"
    reset = github.requests[refused[0]]["reset"]
    # Calls already on their way may be refused too; the first that goes through waited.
    later = [r for r in github.requests[refused[0] :] if not r.get("refused")]
    assert later and later[0]["at"] >= reset - 0.05
    waited = [e for e in bot.store.events(done.id) if e.kind == "ci_response"]
    assert 403 in [e.detail["status"] for e in waited]


def test_timed_out_when_the_run_takes_too_long(
    tmp_path: Path, github: FakeGitHub, gitlab: FakeGitLab
) -> None:
    github.plan("acme/checkout", "rollback.yml", hold=True)
    for bot in start_bot(tmp_path, config("1s"), **ci_settings(github, gitlab)):
        run(bot, "rollback", {"version": "1"})
        (done,) = wait_run(bot)
        assert done.status == "TIMED_OUT"
        assert "No final status from the CI run within 1 s" in thread(bot)


def test_restart_while_following(tmp_path: Path, github: FakeGitHub, gitlab: FakeGitLab) -> None:
    github.plan("acme/checkout", "rollback.yml", hold=True)
    first = start_bot(tmp_path, config(), **ci_settings(github, gitlab))
    bot = next(first)
    run(bot, "rollback", {"version": "1"})
    (running,) = wait_run(bot, "RUNNING")
    database = bot.runtime.settings.DATABASE_URL
    deadline = time.monotonic() + 10
    while not github.runs or next(iter(github.runs.values())).reads < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.close()  # the bot stops while the CI run goes on
    (fake_run,) = github.runs.values()
    github.finish(fake_run.id, "success")
    for again in start_bot(
        tmp_path, config(), DATABASE_URL=database, **ci_settings(github, gitlab)
    ):
        (done,) = wait_run(again)
        assert done.id == running.id and done.status == "SUCCESS"
        assert len(github.called("POST", "/dispatches")) == 2  # refused details, then once


def test_run_details_identify_the_run_without_listing(tmp_path: Path, gitlab: FakeGitLab) -> None:
    github = FakeGitHub(token=GITHUB_TOKEN, run_details=True).start()
    github.workflow("acme/checkout", "rollback.yml", inputs=["service", "version"])
    try:
        for bot in start_bot(tmp_path, config(), **ci_settings(github, gitlab)):
            run(bot, "rollback", {"version": "1"})
            (done,) = wait_run(bot)
            assert done.status == "SUCCESS"
            (dispatch,) = github.called("POST", "/dispatches")
            assert dispatch["body"]["return_run_details"] is True
            assert "actions_run_id" not in dispatch["body"]["inputs"]
    finally:
        github.stop()


def test_github_app_installation_token(tmp_path: Path, gitlab: FakeGitLab) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    github = FakeGitHub(token="", app_id="12345", public_key=public).start()
    github.workflow("acme/checkout", "rollback.yml")
    settings = ci_settings(github, gitlab, GITHUB_TOKEN="", GITHUB_APP_ID="12345")
    settings["GITHUB_APP_PRIVATE_KEY"] = pem.replace("\n", "\\n")  # as one env line
    try:
        for bot in start_bot(tmp_path, config(), **settings):
            run(bot, "rollback", {"version": "1"})
            run(bot, "rollback", {"version": "2"})
            assert all(r.status == "SUCCESS" for r in wait_run(bot, count=2))
            # One exchange, its token reused until shortly before it expires.
            assert len(github.called("POST", "/access_tokens")) == 1
            dispatch = github.called("POST", "/dispatches")[-1]
            assert dispatch["authorization"].startswith("Bearer ghs_")
            events = str([e.detail for r in bot.store.runs() for e in bot.store.events(r.id)])
            assert "ghs_" not in events and "PRIVATE KEY" not in events
    finally:
        github.stop()


def test_gitlab_pipeline(bot: Bot, gitlab: FakeGitLab) -> None:
    gitlab.plan("acme/deploy", conclusion="failure")
    run(bot, "pipeline")
    (done,) = wait_run(bot)
    assert done.status == "FAILURE"
    (create,) = gitlab.called("POST", "/pipeline")
    assert create["path"] == "/api/v4/projects/acme%2Fdeploy/pipeline"
    assert create["body"] == {
        "ref": "main",
        "variables": [{"key": "SERVICE", "value": "checkout"}, {"key": "WHO", "value": "U0DEV"}],
    }
    assert create["token"] == GITLAB_TOKEN
    (pipeline,) = gitlab.runs.values()
    said = thread(bot)
    assert (
        f"Pipeline failed (failure) in GitLab: <https://gitlab.example/acme/deploy/-/pipelines/{pipeline.id}|run {pipeline.id}>"
        in said
    )
    assert "|deploy>" in said
    assert GITLAB_TOKEN not in str([e.detail for e in bot.store.events(done.id)])


def test_gitlab_cancel_and_rate_limit(bot: Bot, gitlab: FakeGitLab) -> None:
    gitlab.plan("acme/deploy", hold=True)
    run(bot, "pipeline")
    (running,) = wait_run(bot, "RUNNING")
    gitlab.limit.run_out(after=0, reset_in=1.0, status=429, retry_after=True)
    wait_called(gitlab, "GET", "/jobs")
    refused = [r for r in gitlab.requests if r.get("refused")]
    assert len(refused) == 1
    bot.requests.block_action("cancel_run", value=running.id, user_id="U0DEV")
    (done,) = wait_run(bot)
    assert done.status == "CANCELLED"
    assert gitlab.called("POST", "/cancel")


def test_approval_then_dispatch_and_a_revert_that_is_a_pipeline(
    bot: Bot, github: FakeGitHub, gitlab: FakeGitLab
) -> None:
    github.workflow("acme/checkout", "grant.yml", inputs=["who", "actions_run_id"])
    run(bot, "grant")
    (waiting,) = wait_run(bot, "PENDING_APPROVAL")
    time.sleep(0.3)
    assert not github.called("POST", "/dispatches")  # nothing starts before approval
    response = bot.requests.block_action(
        "approve_run", value=waiting.id, user_id="U0SRE1", channel_id="C0APPROVE"
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 20
    while (
        not bot.store.children(waiting.id, "revert")
        or not bot.store.children(waiting.id, "revert")[0].final
    ):
        assert time.monotonic() < deadline, bot.store.runs()
        time.sleep(0.05)
    assert bot.store.get_run(waiting.id).status == "SUCCESS"
    assert github.called("POST", "/dispatches")[-1]["body"]["inputs"]["who"] == "U0DEV"
    (revert,) = bot.store.children(waiting.id, "revert")
    assert revert.status == "SUCCESS"
    (create,) = gitlab.called("POST", "/pipeline")
    assert create["body"]["variables"] == [
        {"key": "REVOKE", "value": "U0DEV"},
        {"key": "OF", "value": waiting.id},
    ]


def test_run_again_dispatches_again_with_the_same_inputs(bot: Bot, github: FakeGitHub) -> None:
    github.plan("acme/checkout", "rollback.yml", conclusion="failure")
    run(bot, "rollback", {"version": "7.0"})
    (first,) = wait_run(bot)
    modals = Modals.before(bot.slack)
    bot.requests.block_action("rerun", value=first.id, user_id="U0DEV")
    view = modals.opened()
    values = bot.requests.values_for(view, {}, use_initial=True)  # filled in: submit as is
    response = bot.requests.view_submission(view, values, user_id="U0DEV")
    assert response.status_code == 200 and "errors" not in response.text, response.text
    again = next(r for r in wait_run(bot, count=2) if r.id != first.id)
    assert again.parent_id == first.id
    bodies = [
        d["body"]["inputs"] for d in github.called("POST", "/dispatches") if "ref" in d["body"]
    ]
    legacy = [b for b in bodies if "actions_run_id" in b]
    assert [b["actions_run_id"] for b in legacy] == [first.id, again.id]
    assert all(b["version"] == "7.0" and b["service"] == "checkout" for b in legacy)
    assert len(github.runs) == 2


def test_a_dispatch_github_refuses_fails_the_run(bot: Bot, github: FakeGitHub) -> None:
    run(bot, "missing")
    (done,) = wait_run(bot)
    assert done.status == "FAILURE"
    assert (
        "Missing workflow could not be started in GitHub Actions: dispatching nope.yml in "
        "acme/checkout failed (HTTP 404: Not Found)" in thread(bot)
    )
    assert not github.runs


def test_a_run_github_does_not_identify_is_never_guessed(
    tmp_path: Path, gitlab: FakeGitLab
) -> None:
    github = FakeGitHub(token=GITHUB_TOKEN, ignores_run_details=True).start()
    github.workflow("acme/checkout", "rollback.yml")
    try:
        for bot in start_bot(tmp_path, config(), **ci_settings(github, gitlab)):
            run(bot, "rollback", {"version": "1"})
            (done,) = wait_run(bot)
            assert done.status == "FAILURE"
            assert "GitHub did not say which run it is" in thread(bot)
            assert len(github.called("POST", "/dispatches")) == 1  # not started twice
            assert not github.called("GET", "/runs")
    finally:
        github.stop()
