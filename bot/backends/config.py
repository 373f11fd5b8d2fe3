"""The `backend:` block of an action: static checks at load, and rendering per run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import templates
from bot.catalog import Backend
from bot.kinds import CiProvider

REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
WORKFLOW = re.compile(r"^(\d+|[A-Za-z0-9_.-]+\.ya?ml)$")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INPUT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MAX_GITHUB_INPUTS = 24  # GitHub takes 25; one is kept for the run's correlation id


@dataclass
class Target:
    """A backend rendered for one run: where to dispatch and with what."""

    provider: CiProvider
    project: str  # GitHub owner/name, or a GitLab path or numeric id
    ref: str
    params: dict[str, str] = field(default_factory=dict)  # workflow inputs or variables
    workflow: str = ""  # GitHub only


def templates_of(backend: Backend) -> list[tuple[str, str]]:
    """(path, template) of every field that may use Liquid."""
    if backend.github_workflow is not None:
        spec = backend.github_workflow
        base = [("github_workflow.repo", spec.repo), ("github_workflow.ref", spec.ref)]
        return base + [(f"github_workflow.inputs.{k}", v) for k, v in spec.inputs.items()]
    assert backend.gitlab_pipeline is not None
    pipeline = backend.gitlab_pipeline
    base = [("gitlab_pipeline.project", pipeline.project), ("gitlab_pipeline.ref", pipeline.ref)]
    return base + [(f"gitlab_pipeline.variables.{k}", v) for k, v in pipeline.variables.items()]


def problems(backend: Backend) -> list[str]:
    """What is wrong with a backend block, each with its path under `backend.`."""
    found: list[str] = []
    if backend.github_workflow is not None:
        spec = backend.github_workflow
        if "{" not in spec.repo and not REPO.match(spec.repo):
            found.append(f"github_workflow.repo: expected owner/name, got {spec.repo!r}")
        if not WORKFLOW.match(spec.workflow):
            found.append(
                "github_workflow.workflow: expected a workflow file name (deploy.yml) or id"
            )
        if len(spec.inputs) > MAX_GITHUB_INPUTS:
            found.append(f"github_workflow.inputs: at most {MAX_GITHUB_INPUTS} inputs")
        found += [
            f"github_workflow.inputs.{k}: not a valid input name"
            for k in spec.inputs
            if not INPUT.match(k)
        ]
    if backend.gitlab_pipeline is not None:
        found += [
            f"gitlab_pipeline.variables.{k}: not a valid variable name"
            for k in backend.gitlab_pipeline.variables
            if not VARIABLE.match(k)
        ]
    return found


async def render(
    backend: Backend, context: Mapping[str, Any], secrets: Mapping[str, str]
) -> Target:
    """The backend for one run (raises templates.TemplateError)."""

    async def text(source: str) -> str:
        return (await templates.render(source, context, secrets)).strip()

    if backend.github_workflow is not None:
        spec = backend.github_workflow
        repo = await text(spec.repo)
        if not REPO.match(repo):
            raise templates.TemplateError(f"repo {repo!r} is not owner/name")
        inputs = {k: await text(v) for k, v in spec.inputs.items()}
        return Target(CiProvider.GITHUB, repo, await text(spec.ref), inputs, spec.workflow)
    assert backend.gitlab_pipeline is not None
    pipeline = backend.gitlab_pipeline
    variables = {k: await text(v) for k, v in pipeline.variables.items()}
    project = await text(pipeline.project)
    return Target(CiProvider.GITLAB, project, await text(pipeline.ref), variables)
