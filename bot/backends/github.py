"""GitHub Actions: dispatch a workflow, find its run, follow it, cancel it.

`workflow_dispatch` answers 204 with no run id unless the server supports
`return_run_details` (GitHub.com since 2026-02). Older servers (GitHub Enterprise Server)
reject that parameter; then the dispatch carries the bot's run id as the input
`actions_run_id`, the workflow shows it in its `run-name`, and the run is the one, among
the workflow's runs created since the dispatch, whose title contains that id. Timing
alone never identifies a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.backends.api import Answer, Api, Audit, CiError, problem
from bot.backends.config import Target
from bot.backends.github_auth import GitHubAuth
from bot.backends.state import CiJob, CiState, text_or_none
from bot.kinds import CiStatus

CORRELATION_INPUT = "actions_run_id"
PER_PAGE = 100
MAX_PAGES = 5


class Unfollowable(CiError):
    """Dispatched, but the run cannot be identified: it is not started again."""


@dataclass
class Dispatched:
    ci_run_id: str | None  # known at once when the server returns run details
    url: str | None
    correlate: bool  # find the run by the correlation input in its title


class GitHub:
    def __init__(self, api: Api, auth: GitHubAuth) -> None:
        self.api = api
        self.auth = auth

    def _path(self, repo: str, workflow: str) -> str:
        return f"/repos/{repo}/actions/workflows/{workflow}"

    async def dispatch(self, target: Target, run_id: str, audit: Audit) -> Dispatched:
        if not self.auth.configured:
            raise CiError("no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID and "
                          "GITHUB_APP_PRIVATE_KEY")  # fmt: skip
        headers = await self.auth.headers(target.project)
        path = f"{self._path(target.project, target.workflow)}/dispatches"
        body: dict[str, Any] = {"ref": target.ref, "inputs": target.params}
        answer = await self.api.call(
            "POST", path, headers, body={**body, "return_run_details": True}, audit=audit
        )
        if answer.status == 200 and isinstance(answer.body, dict):
            found = answer.body.get("workflow_run_id")
            if found:
                return Dispatched(str(found), answer.body.get("html_url"), False)
        if answer.status in (400, 422) and "return_run_details" in str(answer.body):
            body["inputs"] = {**target.params, CORRELATION_INPUT: run_id}
            answer = await self.api.call("POST", path, headers, body=body, audit=audit)
            if answer.status == 204:
                return Dispatched(None, None, True)
            if answer.status == 422 and CORRELATION_INPUT in str(answer.body):
                raise CiError(
                    f"the workflow does not declare the input {CORRELATION_INPUT}, which "
                    "this GitHub server needs to identify the run (see the README)",
                    422,
                )
        if answer.status in (200, 204):  # started, but which run is it? Never guess.
            raise Unfollowable(
                "the workflow was started, but GitHub did not say which run it is, so its "
                f"outcome cannot be followed; see the workflow's runs in {target.project}"
            )
        raise problem(answer, f"dispatching {target.workflow} in {target.project}")

    async def runs_since(self, repo: str, workflow: str, since: str, audit: Audit) -> list[dict]:
        """The workflow's dispatched runs created since ``since`` (ISO time), all pages."""
        headers = await self.auth.headers(repo)
        found: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            params = {
                "event": "workflow_dispatch",
                "created": f">={since}",
                "per_page": PER_PAGE,
                "page": page,
            }
            path = f"{self._path(repo, workflow)}/runs"
            answer = await self.api.call("GET", path, headers, params=params, audit=audit)
            runs = _listed(answer, "listing workflow runs", "workflow_runs")
            found += runs
            if len(runs) < PER_PAGE or 'rel="next"' not in answer.headers.get("link", ""):
                break
        return found

    async def run(self, repo: str, ci_run_id: str, audit: Audit) -> dict:
        headers = await self.auth.headers(repo)
        answer = await self.api.call(
            "GET", f"/repos/{repo}/actions/runs/{ci_run_id}", headers, audit=audit
        )
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise problem(answer, f"reading workflow run {ci_run_id}")
        return answer.body

    async def jobs(self, repo: str, ci_run_id: str, audit: Audit) -> list[dict]:
        headers = await self.auth.headers(repo)
        path = f"/repos/{repo}/actions/runs/{ci_run_id}/jobs"
        answer = await self.api.call("GET", path, headers, params={"per_page": 100}, audit=audit)
        return _listed(answer, "listing the run's jobs", "jobs")

    async def cancel(self, repo: str, ci_run_id: str, audit: Audit) -> None:
        headers = await self.auth.headers(repo)
        path = f"/repos/{repo}/actions/runs/{ci_run_id}/cancel"
        answer = await self.api.call("POST", path, headers, audit=audit)
        if answer.status not in (202, 409):  # 409: it has already finished
            raise problem(answer, f"cancelling workflow run {ci_run_id}")

    async def check(self, repo: str, workflow: str) -> list[str]:
        """Problems with dispatching ``workflow`` in ``repo`` (`check --online`)."""
        headers = await self.auth.headers(repo)
        answer = await self.api.call("GET", self._path(repo, workflow), headers)
        if answer.status != 200:
            return [str(problem(answer, f"reading workflow {workflow} in {repo}"))]
        if isinstance(answer.body, dict) and answer.body.get("state") not in (None, "active"):
            return [f"workflow {workflow} in {repo} is {answer.body.get('state')}"]
        answer = await self.api.call("GET", f"/repos/{repo}", headers)
        permissions = answer.body.get("permissions") if isinstance(answer.body, dict) else None
        if isinstance(permissions, dict) and not (
            permissions.get("push") or permissions.get("admin")
        ):
            return [f"the credentials cannot dispatch workflows in {repo} (no write access)"]
        return []


def _listed(answer: Answer, what: str, key: str) -> list[dict]:
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise problem(answer, what)
    items = answer.body.get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def match(runs: list[dict], run_id: str) -> dict | None:
    """The run whose title (its `run-name`) carries our run id; never the newest by time."""
    for run in runs:
        title = f"{run.get('display_title') or ''} {run.get('name') or ''}"
        if run_id in title:
            return run
    return None


def state_of(run: dict, jobs: list[dict] | None = None) -> CiState:
    raw = str(run.get("status") or "")
    status = {"completed": CiStatus.COMPLETED, "in_progress": CiStatus.IN_PROGRESS}.get(
        raw, CiStatus.QUEUED
    )
    listed = [
        CiJob(text_or_none(j.get("name")) or "", text_or_none(j.get("conclusion")),
              text_or_none(j.get("html_url")) or "", text_or_none(j.get("status")) or "")
        for j in jobs or []
    ]  # fmt: skip
    return CiState(
        run_id=text_or_none(run.get("id")) or "",
        url=text_or_none(run.get("html_url")) or "",
        status=status,
        conclusion=text_or_none(run.get("conclusion")) if status == CiStatus.COMPLETED else None,
        current=_current(jobs or []),
        jobs=listed,
        started_at=text_or_none(run.get("run_started_at") or run.get("created_at")),
        finished_at=text_or_none(run.get("updated_at")) if status == CiStatus.COMPLETED else None,
    )


def _current(jobs: list[dict]) -> str | None:
    for job in jobs:
        if job.get("status") == "in_progress":
            listed = job.get("steps")
            steps: list[Any] = listed if isinstance(listed, list) else []
            step = next(
                (
                    text_or_none(s.get("name"))
                    for s in steps
                    if isinstance(s, dict) and s.get("status") == "in_progress"
                ),
                None,
            )
            name = text_or_none(job.get("name")) or "a job"
            return f"{name} › {step}" if step else name
    return None
