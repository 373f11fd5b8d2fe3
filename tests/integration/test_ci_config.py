"""The `backend:` block at load (errors name their path) and `check --online` against the
fake CI APIs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.config import ConfigError, validate
from bot.testing.github import FakeGitHub
from bot.testing.gitlab import FakeGitLab
from tests.support import run_bot


def document(**action: Any) -> dict[str, Any]:
    base = {"id": "roll", "name": "Roll back", "owner": "ops"}
    return {"teams": [{"id": "ops", "name": "Ops"}], "actions": [{**base, **action}]}


def errors_of(**action: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate(document(**action))
    return caught.value.errors


GITHUB = {"github_workflow": {"repo": "acme/deploy", "workflow": "rollback.yml"}}


def test_a_backend_instead_of_a_webhook_loads() -> None:
    loaded = validate(
        document(
            backend={
                "github_workflow": {
                    "repo": "acme/{{ manualInputs.repo }}",
                    "workflow": 1234,
                    "ref": "main",
                    "inputs": {"version": "{{ manualInputs.version }}", "dry_run": True},
                }
            },
            inputs=[
                {"identifier": "repo", "displayName": "Repo", "type": "text_input"},
                {"identifier": "version", "displayName": "Version", "type": "text_input"},
            ],
            response_template="{{ ci.conclusion }} {{ ci.url }} {{ response.status }}",
        )
    )
    spec = loaded.catalog.action("roll").backend.github_workflow
    assert spec.workflow == "1234" and spec.inputs["dry_run"] == "true"


def test_exactly_one_of_webhook_and_backend() -> None:
    both = errors_of(webhook={"url": "https://x.example"}, backend=GITHUB)
    assert both == ["actions[0].backend: expected exactly one of webhook: and backend:, not both"]
    two = errors_of(
        backend={**GITHUB, "gitlab_pipeline": {"project": "acme/deploy"}},
    )
    assert two == [
        "actions[0].backend: expected exactly one of github_workflow and gitlab_pipeline"
    ]


def test_backend_errors_name_their_path() -> None:
    bad = errors_of(
        backend={
            "github_workflow": {
                "repo": "not-a-repo",
                "workflow": "rollback",
                "inputs": {"bad name": "x", "ok": "{{ manualInputs.nope }}"},
            }
        }
    )
    assert bad == [
        "actions[0].backend.github_workflow.repo: expected owner/name, got 'not-a-repo'",
        "actions[0].backend.github_workflow.workflow: expected a workflow file name "
        "(deploy.yml) or id",
        "actions[0].backend.github_workflow.inputs.bad name: not a valid input name",
        "actions[0].backend.github_workflow.inputs.ok: unknown variable manualInputs.nope",
    ]
    assert errors_of(backend={"gitlab_pipeline": {"project": "a/b", "variables": {"1X": "y"}}}) == [
        "actions[0].backend.gitlab_pipeline.variables.1X: not a valid variable name"
    ]
    assert errors_of(backend={"github_workflow": {"repo": "a/b"}}) == [
        "actions[0].backend.github_workflow.workflow: missing"
    ]


def test_ci_is_only_for_backend_results() -> None:
    assert errors_of(
        webhook={"url": "https://x.example"}, response_template="{{ ci.conclusion }}"
    ) == ["actions[0].response_template: unknown variable ci.conclusion"]


def test_a_revert_may_be_a_backend() -> None:
    expires = {"after": "1h", "backend": {"gitlab_pipeline": {"project": "acme/deploy"}}}
    loaded = validate(document(webhook={"url": "https://x.example"}, expires=expires))
    assert loaded.catalog.action("roll").expires.backend.gitlab_pipeline.project == "acme/deploy"


CONFIG = """
teams: [{id: ops, name: Ops}]
actions:
  - id: roll
    name: Roll back
    owner: ops
    backend: {github_workflow: {repo: acme/deploy, workflow: rollback.yml}}
  - id: gone
    name: Gone
    owner: ops
    backend: {github_workflow: {repo: acme/deploy, workflow: missing.yml}}
  - id: pipe
    name: Pipe
    owner: ops
    backend: {gitlab_pipeline: {project: acme/deploy}}
"""


def test_check_online(tmp_path: Path) -> None:
    config = tmp_path / "actions.yml"
    config.write_text(CONFIG)
    with FakeGitHub(token="ghp_x") as github, FakeGitLab(token="glpat-x") as gitlab:
        github.workflow("acme/deploy", "rollback.yml")
        gitlab.project("acme/deploy")
        env = {
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": "ghp_x",
            "GITLAB_API_URL": gitlab.api_url,
            "GITLAB_TOKEN": "glpat-x",
        }
        offline = run_bot(tmp_path, "check", str(config), **env)
        assert offline.returncode == 0, offline.stderr
        assert not github.requests  # no --online: nothing asked
        online = run_bot(tmp_path, "check", "--online", str(config), **env)
        assert online.returncode == 2
        assert "actions[1].backend.github_workflow: reading workflow missing.yml in " in (
            online.stderr
        )
        assert "(HTTP 404: Not Found)" in online.stderr
        assert "online: actions[0].backend.github_workflow: ok (acme/deploy)" in online.stdout
        assert "online: actions[2].backend.gitlab_pipeline: ok (acme/deploy)" in online.stdout
        wrong = run_bot(tmp_path, "check", "--online", str(config), **{**env, "GITLAB_TOKEN": "no"})
        assert "actions[2].backend.gitlab_pipeline: reading project acme/deploy failed " in (
            wrong.stderr
        )
        assert "glpat-x" not in wrong.stderr + wrong.stdout
        bare = run_bot(tmp_path, "check", str(config))
        assert bare.returncode == 0
        assert "warning: actions[0].backend.github_workflow: set GITHUB_TOKEN" in bare.stderr


def test_readme_backend_example_is_valid() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## GitHub Actions and GitLab backends")[1].split("\n## ")[0]
    example, workflow = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[:2]
    actions = YAML(typ="safe", pure=True).load(example)
    teams = [{"id": "payments", "name": "Payments"}]
    services = [{"id": "checkout", "name": "Checkout", "owner": "payments"}]
    loaded = validate({"teams": teams, "services": services, "actions": actions})
    assert loaded.catalog.action("rollback").backend.github_workflow.repo == "acme/deploy"
    assert loaded.catalog.action("migrate").backend.gitlab_pipeline.project == "acme/deploy"
    # The workflow snippet declares the correlation input and shows it in its run-name.
    declared = YAML(typ="safe", pure=True).load(workflow)
    assert "actions_run_id" in declared["on"]["workflow_dispatch"]["inputs"]
    assert "inputs.actions_run_id" in declared["run-name"]
    for name in ("GITHUB_API_URL", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITLAB_TOKEN"):
        assert f"`{name}`" in section


def test_a_backend_is_not_async() -> None:
    assert errors_of(backend=GITHUB, **{"async": True}) == [
        "actions[0].async: a backend's run is followed by the bot; remove async"
    ]
