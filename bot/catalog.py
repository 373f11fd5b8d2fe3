"""Actions, their inputs, services and teams: the shape of the config file and its lookups.

The pydantic models are the config schema and the domain objects at once, so a field
exists in exactly one place. Unknown keys are errors (``extra="forbid"``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9]{2,}$")]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
InputType = Literal["text_input", "text_area", "dropdown"]


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """`90s`, `30m`, `1h30m`, `250ms` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m or 2h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        parts = _DURATION.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration such as 30s, 15m or 2h")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _scalar_to_str(value: Any) -> Any:
    """YAML turns `true`, `1` and `1.5` into non-strings; tags and options are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Team(Model):
    id: Slug
    name: str = Field(min_length=1, max_length=75)
    members: list[SlackId] = []
    channel: SlackId | None = None


class Link(Model):
    title: str = Field(min_length=1, max_length=75)
    url: Annotated[str, StringConstraints(pattern=r"^https?://")]


class Service(Model):
    id: Slug
    name: str = Field(min_length=1, max_length=75)
    owner: Slug
    description: str = Field("", max_length=300)
    tier: int | None = None
    lifecycle: str | None = None
    language: str | None = None
    framework: str | None = None
    product: str | None = None
    tags: dict[str, str] = {}
    links: list[Link] = []
    channel: SlackId | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): _scalar_to_str(v) for k, v in value.items()}
        return value


class Option(Model):
    value: str = Field(min_length=1, max_length=75)
    display: str | None = Field(None, min_length=1, max_length=75)

    @field_validator("value", "display", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _scalar_to_str(value)

    @property
    def label(self) -> str:
        return self.display or self.value


class Input(Model):
    """One manual input, in OpsLevel's manual-inputs format."""

    identifier: Identifier
    displayName: str = Field(min_length=1, max_length=2000)
    type: InputType
    description: str | None = Field(None, max_length=2000)
    required: bool = False
    defaultValue: str | None = None
    placeholder: str | None = Field(None, max_length=150)
    maxLength: int | None = Field(None, ge=1, le=3000)
    minLength: int | None = Field(None, ge=0, le=3000)
    pattern: str | None = None
    values: list[Option] = Field([], max_length=100)

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"value": v} if not isinstance(v, dict) else v for v in value]
        return value

    @field_validator("defaultValue", mode="before")
    @classmethod
    def _default(cls, value: Any) -> Any:
        return _scalar_to_str(value)

    def option(self, value: str) -> Option | None:
        return next((o for o in self.values if o.value == value), None)


class Webhook(Model):
    url: str = Field(min_length=1)
    method: Method = "POST"
    headers: dict[str, str] = {}
    payload: str = ""
    timeout: float = Field(10.0, gt=0, le=120)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name or not all(33 <= ord(c) < 127 and c != ":" for c in name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            if "\n" in text or "\r" in text:
                raise ValueError(f"header {name} contains a line break")
        return value

    def header(self, name: str) -> str | None:
        """A configured header, looked up case-insensitively."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


RetryOn = Literal["timeout", "connection", "5xx", "429"]


class RetryPolicy(Model):
    """When and how often a failed delivery is tried again."""

    attempts: int = Field(5, ge=1, le=20)
    backoff: Literal["exponential", "fixed"] = "exponential"
    on: list[RetryOn] | None = None  # None: the defaults below, by method
    delay: Duration = 5.0
    max_delay: Duration = 300.0

    def retries(self, method: str, *, status: int | None = None, error: str | None = None) -> bool:
        """Whether this failure is worth another attempt.

        Defaults: connection errors and 502/503/504/429 always; timeouts and other 5xx
        only for idempotent methods, since a POST may have been half done.
        """
        idempotent = method in ("GET", "PUT", "DELETE")
        if self.on is not None:
            if error in ("timeout", "connection"):
                return error in self.on
            if status == 429:
                return "429" in self.on
            return status is not None and status >= 500 and "5xx" in self.on
        if error == "connection" or status in (429, 502, 503, 504):
            return True
        if error == "timeout" or (status is not None and status >= 500):
            return idempotent
        return False

    def delay_for(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), before jitter."""
        if self.backoff == "fixed":
            return self.delay
        return min(self.max_delay, self.delay * 2 ** (attempt - 1))


class Action(Model):
    id: Slug
    name: str = Field(min_length=1, max_length=75)
    description: str = Field("", max_length=300)
    owner: Slug
    scope: Literal["global", "service"] = "global"
    access: Literal["everyone", "admins"] = "everyone"
    published: bool = True
    webhook: Webhook
    inputs: list[Input] = Field([], max_length=40)
    response_template: str | None = None
    retry: RetryPolicy = RetryPolicy()
    # The receiver answers at once and reports back later on the callback URL.
    is_async: bool = Field(False, alias="async")
    timeout_after: Duration = 3600.0  # async: no final status by then → TIMED_OUT

    def input(self, identifier: str) -> Input | None:
        return next((i for i in self.inputs if i.identifier == identifier), None)


class Admins(Model):
    users: list[SlackId] = []
    usergroups: list[SlackId] = []


class CatalogFile(Model):
    """The whole config file."""

    version: Literal[1] = 1
    admins: Admins = Admins()
    teams: list[Team] = []
    services: list[Service] = []
    actions: list[Action] = []


class Catalog:
    """The validated config with lookups by id."""

    def __init__(self, document: CatalogFile, source: str = "") -> None:
        self.document = document
        self.source = source
        self.admins = document.admins
        self.teams = {t.id: t for t in document.teams}
        self.services = {s.id: s for s in document.services}
        self.actions = {a.id: a for a in document.actions}

    def action(self, action_id: str) -> Action | None:
        return self.actions.get(action_id)

    def team(self, team_id: str) -> Team | None:
        return self.teams.get(team_id)

    def service(self, service_id: str) -> Service | None:
        return self.services.get(service_id)

    def owner_of(self, action: Action) -> Team:
        return self.teams[action.owner]  # owners are checked at load time
