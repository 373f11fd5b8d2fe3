"""`check --online`: does each backend's workflow or project exist, and may we dispatch?"""

from __future__ import annotations

from collections.abc import Iterator

from bot.backends.api import CiError
from bot.backends.follower import CiClients
from bot.catalog import Backend, Catalog
from bot.settings import Settings
from bot.webhooks.transport import build_client


def backends(catalog: Catalog) -> Iterator[tuple[str, Backend]]:
    """(path, backend) of every action and revert that dispatches to CI."""
    for index, action in enumerate(catalog.document.actions):
        if action.backend is not None:
            yield f"actions[{index}].backend", action.backend
        if action.expires is not None and action.expires.backend is not None:
            yield f"actions[{index}].expires.backend", action.expires.backend


def credential_problems(settings: Settings, catalog: Catalog) -> list[str]:
    """Backends whose system has no credentials in the environment."""
    found = []
    for path, backend in backends(catalog):
        if backend.github_workflow and not (settings.GITHUB_TOKEN or settings.GITHUB_APP_ID):
            found.append(
                f"{path}.github_workflow: set GITHUB_TOKEN, or GITHUB_APP_ID and "
                "GITHUB_APP_PRIVATE_KEY, to dispatch workflows"
            )
        if backend.gitlab_pipeline and not settings.GITLAB_TOKEN:
            found.append(f"{path}.gitlab_pipeline: set GITLAB_TOKEN to create pipelines")
    return found


async def check_online(settings: Settings) -> tuple[list[str], list[str]]:
    """(errors, notes) from asking each CI system about each backend."""
    from bot.config import load_file

    catalog = load_file(settings.ACTIONS_CONFIG, settings.template_secrets).catalog
    errors = credential_problems(settings, catalog)
    notes: list[str] = []
    if errors:
        return errors, notes
    async with build_client(allow_private=True, max_connections=4) as client:
        ci = CiClients(settings, client)
        for path, backend in backends(catalog):
            spec, pipeline = backend.github_workflow, backend.gitlab_pipeline
            where = f"{path}.{'github_workflow' if spec else 'gitlab_pipeline'}"
            project = spec.repo if spec else pipeline.project if pipeline else ""
            if "{" in project:
                notes.append(f"{where}: its repository is a template; checked when it runs")
                continue
            try:
                said = (
                    await ci.github.check(spec.repo, spec.workflow)
                    if spec
                    else await ci.gitlab.check(project)
                )
            except CiError as exc:
                said = [exc.message]
            errors += [f"{where}: {problem}" for problem in said]
            if not said:
                notes.append(f"{where}: ok ({project})")
    return errors, notes
