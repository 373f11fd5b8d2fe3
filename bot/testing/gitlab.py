"""A fake GitLab API (v4) on loopback: create a pipeline (201 with its id), read it and
its jobs, cancel it, read a project; `RateLimit-*` headers and 429 with Retry-After."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.testing.ci import FakeCi, FakeRun, iso
from bot.testing.http import Handler

PROJECT = r"/api/v4/projects/(?P<project>[^/]+)"
ROUTES = [
    ("POST", re.compile(PROJECT + r"/pipeline$"), "create"),
    ("GET", re.compile(PROJECT + r"/pipelines/(?P<id>\d+)$"), "get"),
    ("GET", re.compile(PROJECT + r"/pipelines/(?P<id>\d+)/jobs$"), "jobs"),
    ("POST", re.compile(PROJECT + r"/pipelines/(?P<id>\d+)/cancel$"), "cancel"),
    ("GET", re.compile(PROJECT + r"$"), "project"),
]
STATUS = {"queued": "pending", "in_progress": "running"}
CONCLUSION = {"failure": "failed", "cancelled": "canceled"}


class FakeGitLab(FakeCi):
    remaining_header = "RateLimit-Remaining"
    reset_header = "RateLimit-Reset"
    limit_header = "RateLimit-Limit"

    def __init__(self, *, token: str = "glpat-fake-token-for-tests") -> None:
        super().__init__()
        self.token = token
        self.projects: dict[str, int] = {}

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    def project(self, path: str, **how: Any) -> None:
        with self.lock:
            self.projects[path] = 500 + len(self.projects)
            self.plan(path, **how)

    def _handle(self, handler: Handler) -> None:
        # The project id is URL-encoded (acme%2Fdeploy): match on the raw path.
        parts = urlsplit(handler.path)
        body = handler.read_body()
        with self.lock:
            self.requests.append(
                {
                    "at": time.time(),
                    "method": handler.command,
                    "path": parts.path,
                    "body": json.loads(body) if body else None,
                    "token": handler.headers.get("PRIVATE-TOKEN", ""),
                }
            )
            for method, pattern, name in ROUTES:
                found = pattern.match(parts.path)
                if found and method == handler.command:
                    if self.limited(handler):
                        return
                    if handler.headers.get("PRIVATE-TOKEN") != self.token:
                        return self.answer(handler, 401, {"message": "401 Unauthorized"})
                    path = self._path(unquote(found["project"]))
                    if path is None:
                        return self.answer(handler, 404, {"message": "404 Project Not Found"})
                    args = {**found.groupdict(), "project": path}
                    return getattr(self, f"_{name}")(handler, args, body)
            self.answer(handler, 404, {"message": "404 Not Found"})

    def _path(self, given: str) -> str | None:
        if given in self.projects:
            return given
        return next((p for p, i in self.projects.items() if str(i) == given), None)

    def _create(self, handler: Handler, args: dict, raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        if not body.get("ref"):
            return self.answer(handler, 400, {"message": {"ref": ["is missing"]}})
        variables = {str(v["key"]): str(v["value"]) for v in body.get("variables") or []}
        run = self.new_run(args["project"], "", body["ref"], variables)
        self.answer(handler, 201, self._pipeline(run, created=True))

    def _find(self, handler: Handler, args: dict) -> FakeRun | None:
        run = self.runs.get(int(args["id"]))
        if run is None or run.project != args["project"]:
            self.answer(handler, 404, {"message": "404 Not found"})
            return None
        return run

    def _get(self, handler: Handler, args: dict, _b: bytes) -> None:
        if (run := self._find(handler, args)) is not None:
            run.read()
            self.answer(handler, 200, self._pipeline(run))

    def _jobs(self, handler: Handler, args: dict, _b: bytes) -> None:
        if (run := self._find(handler, args)) is not None:
            jobs = [
                {
                    "id": run.id * 10 + n,
                    "name": name,
                    "stage": name,
                    "status": self._status(status, conclusion),
                    "web_url": f"{self._web(run)}/-/jobs/{run.id * 10 + n}",
                }
                for n, (name, status, conclusion) in enumerate(run.job_states())
            ]
            self.answer(handler, 200, jobs)

    def _cancel(self, handler: Handler, args: dict, _b: bytes) -> None:
        if (run := self._find(handler, args)) is not None:
            run.end("cancelled")
            self.answer(handler, 200, self._pipeline(run))

    def _project(self, handler: Handler, args: dict, _b: bytes) -> None:
        access = {"project_access": {"access_level": 30}, "group_access": None}
        body = {"id": self.projects[args["project"]], "path_with_namespace": args["project"]}
        self.answer(handler, 200, {**body, "permissions": access})

    def _status(self, status: str, conclusion: str | None) -> str:
        if status == "completed":
            return CONCLUSION.get(conclusion or "", conclusion or "success")
        return STATUS.get(status, "created")

    def _web(self, run: FakeRun) -> str:
        return f"https://gitlab.example/{run.project}"

    def _pipeline(self, run: FakeRun, created: bool = False) -> dict[str, Any]:
        return {
            "id": run.id,
            "iid": run.id - 8999,
            "project_id": self.projects[run.project],
            "ref": run.ref,
            "status": "created" if created else self._status(run.status, run.conclusion),
            "source": "api",
            "web_url": f"{self._web(run)}/-/pipelines/{run.id}",
            "created_at": iso(run.created),
            "started_at": iso(run.created),
            "finished_at": iso(run.finished) if run.finished else None,
        }
