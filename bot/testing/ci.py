"""What the fake GitHub and GitLab share: runs that move on as they are read, and a rate
limit that runs out on request.

A run is `queued` for its first read, `in_progress` for the next reads, then `completed`
with the conclusion its workflow is set to, unless it is held (the test ends it).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.testing.http import Handler, HTTPDouble, encode_body

JOB_NAMES = ("build", "deploy")


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Plan:
    """How runs of one workflow or project go."""

    conclusion: str = "success"
    queued_reads: int = 1
    running_reads: int = 2
    hold: bool = False  # stay in progress until the test calls finish()


@dataclass
class FakeRun:
    id: int
    project: str
    workflow: str
    ref: str
    params: dict[str, str]
    plan: Plan
    created: float = field(default_factory=time.time)
    reads: int = 0
    status: str = "queued"
    conclusion: str | None = None
    title: str = ""
    finished: float | None = None

    def read(self) -> None:
        """Every read moves an unheld run along its plan."""
        self.reads += 1
        if self.status == "completed":
            return
        if self.reads > self.plan.queued_reads:
            self.status = "in_progress"
        if not self.plan.hold and self.reads > self.plan.queued_reads + self.plan.running_reads:
            self.end(self.plan.conclusion)

    def end(self, conclusion: str) -> None:
        if self.status != "completed":
            self.status, self.conclusion, self.finished = "completed", conclusion, time.time()

    def job_states(self) -> list[tuple[str, str, str | None]]:
        """(name, status, conclusion) of the run's two jobs."""
        if self.status == "queued":
            return [(name, "queued", None) for name in JOB_NAMES]
        if self.status == "in_progress":
            return [("build", "in_progress", None), ("deploy", "queued", None)]
        last = self.conclusion
        first = "success" if last in ("success", "failure") else last
        return [("build", "completed", first), ("deploy", "completed", last)]


class Limit:
    """A rate limit: ``remaining`` calls, then refusals until ``reset``."""

    def __init__(self) -> None:
        self.total = 5000
        self.remaining = 5000
        self.reset = time.time() + 3600
        self.status = 403
        self.retry_after: float | None = None

    def run_out(self, after: int, reset_in: float, status: int = 403, retry_after: bool = False):
        self.remaining, self.reset, self.status = after, time.time() + reset_in, status
        self.retry_after = reset_in if retry_after else None

    def take(self) -> bool:
        """Count a call; False when it must be refused."""
        if time.time() >= self.reset:
            self.remaining, self.reset, self.retry_after = self.total, time.time() + 3600, None
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class FakeCi(HTTPDouble):
    """Base of the two fakes: runs, plans, a request log and a rate limit."""

    remaining_header = "x-ratelimit-remaining"
    reset_header = "x-ratelimit-reset"
    limit_header = "x-ratelimit-limit"

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.runs: dict[int, FakeRun] = {}
        self.plans: dict[tuple[str, str], Plan] = {}
        self.requests: list[dict[str, Any]] = []
        self.limit = Limit()
        self._ids = itertools.count(9000)

    def plan(self, project: str, workflow: str = "", **how: Any) -> Plan:
        with self.lock:
            plan = self.plans[(project, workflow)] = Plan(**how)
            return plan

    def finish(self, run_id: int | str, conclusion: str) -> None:
        with self.lock:
            self.runs[int(run_id)].end(conclusion)

    def new_run(self, project: str, workflow: str, ref: str, params: dict[str, str]) -> FakeRun:
        plan = self.plans.get((project, workflow)) or Plan()
        run = FakeRun(next(self._ids), project, workflow, ref, params, plan)
        self.runs[run.id] = run
        return run

    def called(self, method: str, fragment: str = "") -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method and fragment in r["path"]]

    def answer(
        self, handler: Handler, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        limits = {
            self.limit_header: str(self.limit.total),
            self.remaining_header: str(max(self.limit.remaining, 0)),
            self.reset_header: str(int(self.limit.reset)),
        }
        data = b"" if status == 204 else encode_body(body)
        handler.respond(status, data, {**limits, **(headers or {})})

    def limited(self, handler: Handler) -> bool:
        """Refuse the call (and say so) when the rate limit is spent."""
        if self.limit.take():
            return False
        extra = {}
        if self.limit.retry_after is not None:
            extra["Retry-After"] = str(max(int(self.limit.reset - time.time()) + 1, 1))
        message = {"message": "API rate limit exceeded"}
        self.requests[-1] |= {"refused": True, "reset": self.limit.reset}
        self.answer(handler, self.limit.status, message, extra)
        return True
