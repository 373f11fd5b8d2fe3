"""The REST API's request and response bodies; the OpenAPI document is built from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

SLACK_CHANNEL = r"^[CDG][A-Z0-9]{2,31}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error, as RFC 9457 `application/problem+json`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: dict[str, str] | None = Field(
        None, description="Per-field problems, by input identifier (or `service`, `body`)"
    )


class Permission(BaseModel):
    allowed: bool
    reason: str | None = Field(None, description="Why not, when not allowed")


class ActionSummary(BaseModel):
    id: str
    name: str
    description: str
    category: str | None
    scope: str = Field(description="`global`, or `service` (a run names a service)")
    services: list[str] = Field(description="Services it may run on (service scope)")
    needs_approval: bool
    agents: bool = Field(description="Offered to agents over MCP")
    can_run: Permission


class ActionDetail(ActionSummary):
    inputs_schema: dict[str, Any] = Field(description="JSON Schema of `inputs` for a run")


class ActionList(BaseModel):
    actions: list[ActionSummary]


class OptionItem(BaseModel):
    value: str
    label: str


class OptionList(BaseModel):
    options: list[OptionItem]


class RunRequest(Body):
    inputs: dict[str, Any] = Field(default_factory=dict, description="By input identifier")
    service: str | None = Field(None, max_length=64, description="For service-scoped actions")
    channel: str | None = Field(
        None, pattern=SLACK_CHANNEL, description="Where to post; none: the user's DM"
    )
    thread_ts: str | None = Field(
        None,
        pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$",
        description="With `channel`: post the run's status message and result in that thread",
    )

    @model_validator(mode="after")
    def _thread_needs_channel(self) -> RunRequest:
        if self.thread_ts and not self.channel:
            raise ValueError("thread_ts needs the channel the thread is in")
        return self


class Approval(BaseModel):
    approver: str
    approved: bool
    comment: str
    at: datetime


class Attempt(BaseModel):
    attempt: int | None
    status: int | None = Field(None, description="The receiver's HTTP status")
    error: str | None = None
    duration_ms: float | None = None
    at: datetime


class Link(BaseModel):
    text: str
    url: str


class RunOut(BaseModel):
    id: str
    action: str
    status: str
    user: str
    service: str | None
    channel: str | None
    via: str | None = Field(None, description="`api` or `mcp` when not asked in Slack")
    inputs: dict[str, Any] = Field(description="As stored: secret inputs redacted")
    created_at: datetime
    finished_at: datetime | None
    result: str = Field(description="The result text, once there is one")
    approvals: list[Approval]
    attempts: list[Attempt]
    links: list[Link]


class RunPage(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")
