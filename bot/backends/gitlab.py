"""GitLab pipelines: create one (the API answers with its id), follow it, cancel it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.backends.api import Api, Audit, CiError, problem
from bot.backends.config import Target
from bot.backends.state import CiJob, CiState, text_or_none
from bot.kinds import CiStatus

RUNNING = {"running", "manual"}  # manual: waiting for someone to play a job
DONE = {"success", "failed", "canceled", "skipped"}
CONCLUSIONS = {"failed": "failure", "canceled": "cancelled"}


class GitLab:
    def __init__(self, api: Api, token: str) -> None:
        self.api = api
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token} if self.token else {}

    def _project(self, project: str) -> str:
        return f"/projects/{quote(project, safe='')}"

    async def dispatch(self, target: Target, audit: Audit) -> CiState:
        if not self.token:
            raise CiError("no GitLab credentials: set GITLAB_TOKEN")
        variables = [{"key": k, "value": v} for k, v in target.params.items()]
        body = {"ref": target.ref, "variables": variables}
        path = f"{self._project(target.project)}/pipeline"
        answer = await self.api.call("POST", path, self.headers, body=body, audit=audit)
        if answer.status != 201 or not isinstance(answer.body, dict):
            raise problem(answer, f"creating a pipeline in {target.project} on {target.ref}")
        return state_of(answer.body)

    async def pipeline(self, project: str, pipeline_id: str, audit: Audit) -> dict[str, Any]:
        path = f"{self._project(project)}/pipelines/{pipeline_id}"
        answer = await self.api.call("GET", path, self.headers, audit=audit)
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise problem(answer, f"reading pipeline {pipeline_id}")
        return answer.body

    async def jobs(self, project: str, pipeline_id: str, audit: Audit) -> list[dict]:
        path = f"{self._project(project)}/pipelines/{pipeline_id}/jobs"
        answer = await self.api.call(
            "GET", path, self.headers, params={"per_page": 100}, audit=audit
        )
        if answer.status != 200 or not isinstance(answer.body, list):
            raise problem(answer, f"listing the jobs of pipeline {pipeline_id}")
        return [job for job in answer.body if isinstance(job, dict)]

    async def cancel(self, project: str, pipeline_id: str, audit: Audit) -> None:
        path = f"{self._project(project)}/pipelines/{pipeline_id}/cancel"
        answer = await self.api.call("POST", path, self.headers, audit=audit)
        if answer.status not in (200, 201):
            raise problem(answer, f"cancelling pipeline {pipeline_id}")

    async def check(self, project: str) -> list[str]:
        answer = await self.api.call("GET", self._project(project), self.headers)
        if answer.status != 200 or not isinstance(answer.body, dict):
            return [str(problem(answer, f"reading project {project}"))]
        access = answer.body.get("permissions") or {}
        levels = [
            (access.get(k) or {}).get("access_level") or 0
            for k in ("project_access", "group_access")
            if isinstance(access.get(k), dict) or access.get(k) is None
        ]
        if access and max(levels, default=0) < 30:  # Developer (30) may run pipelines
            return [f"the token cannot run pipelines in {project} (needs Developer or more)"]
        return []


def state_of(pipeline: dict[str, Any], jobs: list[dict] | None = None) -> CiState:
    raw = text_or_none(pipeline.get("status")) or ""
    if raw in DONE:
        status = CiStatus.COMPLETED
    elif raw in RUNNING:
        status = CiStatus.IN_PROGRESS
    else:
        status = CiStatus.QUEUED
    listed = [
        CiJob(text_or_none(j.get("name")) or "", _conclusion(j.get("status")),
              text_or_none(j.get("web_url")) or "", text_or_none(j.get("status")) or "")
        for j in jobs or []
    ]  # fmt: skip
    current = next((j.name for j in listed if j.status == "running"), None)
    return CiState(
        run_id=text_or_none(pipeline.get("id")) or "",
        url=text_or_none(pipeline.get("web_url")) or "",
        status=status,
        conclusion=_conclusion(raw) if status == CiStatus.COMPLETED else None,
        current=current,
        jobs=listed,
        started_at=text_or_none(pipeline.get("started_at") or pipeline.get("created_at")),
        finished_at=text_or_none(pipeline.get("finished_at")),
    )


def _conclusion(raw: Any) -> str | None:
    if isinstance(raw, str) and raw in DONE:
        return CONCLUSIONS.get(raw, raw)
    return None
