"""What the follow job asks a CI system, once per tick per repository.

Many runs of one workflow are followed at once; each asks here, and the first to ask in
a tick lists the workflow's runs for all of them (GitHub), so polling costs one call per
workflow per tick however many runs wait.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.backends.api import Api, Audit
from bot.backends.github import GitHub, match
from bot.backends.github import state_of as github_state
from bot.backends.github_auth import GitHubAuth
from bot.backends.gitlab import GitLab
from bot.backends.gitlab import state_of as gitlab_state
from bot.backends.state import CiState
from bot.kinds import CiProvider, CiStatus
from bot.settings import Settings


@dataclass
class _Listing:
    since: str = ""
    fetched: float = 0.0
    runs: list[dict] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Listings:
    """A workflow's recent runs, fetched at most once per ``tick`` seconds."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self._by_workflow: dict[tuple[str, str], _Listing] = {}

    async def runs(
        self, github: GitHub, repo: str, workflow: str, since: str, audit: Audit
    ) -> list[dict]:
        listing = self._by_workflow.setdefault((repo.lower(), workflow), _Listing())
        async with listing.lock:
            fresh = time.monotonic() - listing.fetched < self.tick
            if not (fresh and listing.since and listing.since <= since):
                wanted = min(since, listing.since) if fresh and listing.since else since
                listing.runs = await github.runs_since(repo, workflow, wanted, audit)
                listing.since, listing.fetched = wanted, time.monotonic()
            return listing.runs


class CiClients:
    """The CI APIs, built once from the settings over one client."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        github_api = Api(client, settings.GITHUB_API_URL, "GitHub")
        auth = GitHubAuth(
            github_api,
            token=settings.GITHUB_TOKEN,
            app_id=settings.GITHUB_APP_ID,
            private_key=settings.GITHUB_APP_PRIVATE_KEY,
        )
        self.github = GitHub(github_api, auth)
        self.gitlab = GitLab(Api(client, settings.GITLAB_API_URL, "GitLab"), settings.GITLAB_TOKEN)
        self.listings = Listings(max(settings.CI_POLL_INITIAL_SECONDS / 2, 0.05))

    async def observe(self, follow: dict[str, Any], run_id: str, audit: Audit) -> CiState | None:
        """The CI run now; None while a GitHub run has not appeared in the list yet."""
        project, ci_run_id = str(follow["project"]), follow.get("ci_run_id")
        if follow["provider"] == CiProvider.GITLAB:
            pipeline = await self.gitlab.pipeline(project, str(ci_run_id), audit)
            state = gitlab_state(pipeline)
            if state.status != CiStatus.QUEUED:
                jobs = await self.gitlab.jobs(project, str(ci_run_id), audit)
                state = gitlab_state(pipeline, jobs)
            return state
        workflow = str(follow["workflow"])
        runs = await self.listings.runs(self.github, project, workflow, follow["since"], audit)
        if ci_run_id:
            found = next((r for r in runs if str(r.get("id")) == str(ci_run_id)), None)
            found = found or await self.github.run(project, str(ci_run_id), audit)
        else:
            found = match(runs, run_id)
            if found is None:
                return None
        state = github_state(found)
        if state.status != CiStatus.QUEUED:
            state = github_state(found, await self.github.jobs(project, state.run_id, audit))
        return state
