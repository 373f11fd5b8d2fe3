"""How a run ended, in terms a person and a template can use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """How a run ended, in terms a person and a template can use."""

    ok: bool
    message: str  # the rendered response template, or a plain explanation
    status: int | None = None  # HTTP status, when the receiver answered
    error: str | None = None  # template, invalid_payload, timeout, connection, http_status…
    duration_ms: float | None = None
    links: list[dict[str, str]] = field(default_factory=list)
    log: str | None = None
    final_status: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


@dataclass(frozen=True)
class RequestPreview:
    """What a run will send, as approvers may see it: secrets already redacted."""

    method: str
    url: str
    body: str
    problem: str = ""  # why nothing can be shown (the template failed)
