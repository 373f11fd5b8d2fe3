"""A CI run as the bot sees it, whichever system runs it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bot.kinds import CiStatus, RunStatus

# Conclusions in one vocabulary (GitHub's words; GitLab's `failed` and `canceled` map).
SUCCEEDED = frozenset({"success", "neutral", "skipped"})
ENDS = {"cancelled": RunStatus.CANCELLED, "timed_out": RunStatus.TIMED_OUT}


@dataclass
class CiJob:
    name: str
    conclusion: str | None
    url: str
    status: str = ""


@dataclass
class CiState:
    run_id: str
    url: str
    status: CiStatus
    conclusion: str | None = None
    current: str | None = None  # the job (and step) in progress, where the API says
    jobs: list[CiJob] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to now, while it runs)."""
        start, end = _time(self.started_at), _time(self.finished_at)
        if start is None or end is None:
            return None
        return max((end - start).total_seconds(), 0.0)

    @property
    def run_status(self) -> RunStatus:
        """The bot's run status for a completed CI run."""
        if self.conclusion in SUCCEEDED:
            return RunStatus.SUCCESS
        return ENDS.get(self.conclusion or "", RunStatus.FAILURE)

    def context(self) -> dict[str, Any]:
        """`ci.*` for the result template."""
        return {
            "conclusion": self.conclusion,
            "url": self.url,
            "run_id": self.run_id,
            "status": self.status.value,
            "duration": self.duration,
            "jobs": [{"name": j.name, "conclusion": j.conclusion, "url": j.url} for j in self.jobs],
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def text_or_none(value: Any) -> str | None:
    """A field of an API answer as text: APIs are trusted, their payloads are still checked."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:200]


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
