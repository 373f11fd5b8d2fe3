"""Actions, their inputs, services and teams: the shape of the config file and its lookups.

The pydantic models are the config schema and the domain objects at once, so a field
exists in exactly one place. Unknown keys are errors (``extra="forbid"``).
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from bot.kinds import DeliveryErrorKind

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9]{2,}$")]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
InputType = Literal[
    "text_input",
    "text_area",
    "dropdown",
    "multi_select",
    "number",
    "checkbox",
    "checkboxes",
    "radio",
    "date",
    "time",
    "datetime",
    "user",
    "users",
    "channel",
    "email",
    "url",
    "secret",
    "duration",  # 30m, 2h: free text, or choices from `values`
]
CHOICE_TYPES = {"dropdown", "multi_select", "checkboxes", "radio"}
MULTI_TYPES = {"multi_select", "checkboxes", "users"}
TEXT_TYPES = {"text_input", "text_area", "email", "url", "secret"}


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = 3650 * 86400  # ten years: far past any timeout, and safe to add to a date
TOO_LONG = "a duration must be at most 3650d (ten years)"


def parse_duration(value: Any) -> float:
    """`90s`, `30m`, `1h30m`, `250ms` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m or 2h")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(TOO_LONG) from None
    else:
        text = str(value).strip().lower().replace(" ", "")
        parts = _DURATION.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration such as 30s, 15m or 2h")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    if not seconds <= MAX_DURATION:  # also NaN and infinity: they overflow date arithmetic
        raise ValueError(TOO_LONG)
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]

_RATE = re.compile(r"^([1-9][0-9]{0,5})/([smh])$")
_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(value: Any) -> tuple[int, float]:
    """`5/m` → (5, 60.0): at most 5 runs in any 60 seconds (`N/s`, `N/m`, `N/h`)."""
    found = _RATE.match(str(value).replace(" ", "")) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not a rate such as 5/m, 1/s or 100/h")
    return int(found[1]), _PER[found[2]]


def _rate_text(value: Any) -> Any:
    parse_rate(value)
    return value


Rate = Annotated[str, BeforeValidator(_rate_text)]


def _scalar_to_str(value: Any) -> Any:
    """YAML turns `true`, `1` and `1.5` into non-strings; tags and options are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Member(Model):
    """A team member written as a mapping: `{id: U…, manager: U…}`."""

    id: SlackId
    manager: SlackId | None = None  # for `approval.approvers.manager`


def _member_kind(value: Any) -> str:
    return "Member" if isinstance(value, dict | Member) else "str"


# One branch per entry, so a wrong entry gets one error (the tags are hidden from paths).
MemberEntry = Annotated[
    Annotated[SlackId, Tag("str")] | Annotated[Member, Tag("Member")],
    Discriminator(_member_kind),
]


class Team(Model):
    id: Slug
    name: str = Field(min_length=1, max_length=75)
    # Ids, or `{id, manager}`; after validation, ids only (the managers go to `managers`).
    members: list[MemberEntry] = []
    channel: SlackId | None = None
    managers: dict[SlackId, SlackId] = Field({}, exclude=True)

    @model_validator(mode="after")
    def _members(self) -> Team:
        ids = [m.id if isinstance(m, Member) else m for m in self.members]
        found = {m.id: m.manager for m in self.members if isinstance(m, Member) and m.manager}
        # Frozen: set once here, while the model is being built.
        object.__setattr__(self, "members", ids)
        object.__setattr__(self, "managers", {**self.managers, **found})
        return self

    @property
    def member_ids(self) -> list[str]:
        """The members' Slack ids (after validation every entry is one)."""
        return [m.id if isinstance(m, Member) else m for m in self.members]


class Link(Model):
    title: str = Field(min_length=1, max_length=75)
    url: Annotated[str, StringConstraints(pattern=r"^https?://")]


class OnCall(Model):
    schedule: str = Field(min_length=1, max_length=64)  # a PagerDuty schedule id


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
    system: str | None = None
    type: str | None = None
    tags: dict[str, str] = {}
    annotations: dict[str, str] = {}
    links: list[Link] = []
    channel: SlackId | None = None
    on_call: OnCall | None = None  # its PagerDuty schedule, for `user.on_call`

    @field_validator("tags", "annotations", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): _scalar_to_str(v) for k, v in value.items()}
        return value

    def matches(self, rules: dict[str, Any] | None) -> bool:
        """An action's `filter`: every field must match; a list means any of its values."""
        for key, wanted in (rules or {}).items():
            if key == "tags":
                if not all(_fits(self.tags.get(k), v) for k, v in wanted.items()):
                    return False
            elif not _fits(getattr(self, key, None), wanted):
                return False
        return True


def _fits(actual: Any, wanted: Any) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    return any(_scalar_to_str(actual) == _scalar_to_str(option) for option in options)


FILTER_FIELDS = {
    "id",
    "owner",
    "tier",
    "lifecycle",
    "language",
    "framework",
    "product",
    "system",
    "type",
    "channel",
    "tags",
}


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


class Binding(Model):
    """Options from the catalog (services, teams) or Slack's own user list."""

    resource: Literal["services", "teams", "users"]


class RemoteOptions(Model):
    """Options fetched from a URL (signed like webhooks, cached briefly)."""

    url: str = Field(min_length=1)
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = {}
    timeout: float = Field(5.0, gt=0, le=30)
    cache: Duration = 30.0


class Input(Model):
    """One manual input, in OpsLevel's manual-inputs format (plus more types)."""

    identifier: Identifier
    displayName: str = Field(min_length=1, max_length=2000)
    type: InputType
    description: str | None = Field(None, max_length=2000)
    required: bool = False
    # A value of the input's type, or a Liquid template over user, service and inputs.
    defaultValue: Any = None
    placeholder: str | None = Field(None, max_length=150)
    maxLength: int | None = Field(None, ge=1, le=3000)
    minLength: int | None = Field(None, ge=0, le=3000)
    pattern: str | None = None
    # Said instead of the regex when a value doesn't match: "Use a ticket key like OPS-12".
    patternHint: str | None = Field(None, min_length=1, max_length=300)
    example: str | None = Field(None, min_length=1, max_length=150)  # a value that matches
    # Options: a list, or a Liquid template rendering a JSON list or one option per line.
    values: list[Option] | str = Field([], max_length=5000)
    binding: Binding | None = None
    values_from: RemoteOptions | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    dependsOn: list[Identifier] = []
    visible: bool | str = True

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"value": v} if not isinstance(v, dict) else v for v in value]
        return value

    @property
    def static_values(self) -> list[Option]:
        return self.values if isinstance(self.values, list) else []

    @property
    def has_options(self) -> bool:
        return bool(self.values or self.binding or self.values_from)

    def option(self, value: str) -> Option | None:
        return next((o for o in self.static_values if o.value == value), None)


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


class Approvers(Model):
    """Who may approve: named people, and sources resolved when a run is submitted."""

    teams: list[Slug] = []
    users: list[SlackId] = []
    usergroups: list[SlackId] = []
    service_owners: bool = False  # the owner team of the run's service
    on_call: OnCall | None = None  # whoever is on call now (PagerDuty)
    manager: bool = False  # the requester's manager

    @property
    def dynamic(self) -> bool:
        return self.service_owners or self.on_call is not None or self.manager


class AutoApprove(Model):
    when: str = Field(min_length=1)  # Liquid: true approves the run without a person


def _texts(value: Any) -> Any:
    """YAML numbers and booleans in a mapping of inputs or variables become their text."""
    if isinstance(value, dict):
        return {str(k): _scalar_to_str(v) for k, v in value.items()}
    return value


class GithubWorkflow(Model):
    """Dispatch a GitHub Actions workflow and follow its run (`workflow_dispatch`)."""

    repo: str = Field(min_length=1, max_length=200)  # owner/name; Liquid allowed
    workflow: Annotated[str, BeforeValidator(_scalar_to_str)] = Field(min_length=1)  # file or id
    ref: str = Field("main", min_length=1)  # Liquid allowed
    inputs: Annotated[dict[str, str], BeforeValidator(_texts)] = Field({}, max_length=25)


class GitlabPipeline(Model):
    """Create a GitLab pipeline and follow it."""

    project: Annotated[str, BeforeValidator(_scalar_to_str)] = Field(min_length=1)  # path or id
    ref: str = Field("main", min_length=1)
    variables: Annotated[dict[str, str], BeforeValidator(_texts)] = {}


class Backend(Model):
    """A CI system that runs the action and reports its outcome: exactly one of these."""

    github_workflow: GithubWorkflow | None = None
    gitlab_pipeline: GitlabPipeline | None = None

    @model_validator(mode="after")
    def _one(self) -> Backend:
        if (self.github_workflow is None) == (self.gitlab_pipeline is None):
            raise ValueError("expected exactly one of github_workflow and gitlab_pipeline")
        return self


def _one_target(owner: Any) -> None:
    if owner.webhook is None and owner.backend is None:
        raise ValueError("webhook: missing (or a backend: with a CI workflow or pipeline)")
    if owner.webhook is not None and owner.backend is not None:
        raise ValueError("backend: expected exactly one of webhook: and backend:, not both")


class Approval(Model):
    """A second pair of eyes: the run waits until enough approvers say yes."""

    required: bool = True
    when: str | None = None  # Liquid: true means approval is needed; absent: always
    approvers: Approvers
    auto_approve: list[AutoApprove] = Field([], max_length=20)
    count: int = Field(1, ge=1, le=10)
    allow_self_approval: bool = False
    expires_after: Duration = 4 * 3600.0
    channel: SlackId | None = None  # where requests go; none: a DM to each approver
    # `required`: runs an agent (MCP) starts wait for approval even when `required` is false.
    agents: Literal["required"] | None = None


class Expiry(Model):
    """A time-limited action: after `after`, the revert webhook undoes it."""

    after: str = Field(min_length=1)  # a duration, or a Liquid template giving one
    max: Duration = 8 * 3600.0
    # The requester's DM offering Extend comes this long before the revert; null: none.
    warn_before: Duration | None = 600.0
    webhook: Webhook | None = None
    backend: Backend | None = None  # the revert may be a workflow or pipeline, too

    @model_validator(mode="after")
    def _target(self) -> Expiry:
        _one_target(self)
        return self


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
            if error in (DeliveryErrorKind.TIMEOUT, DeliveryErrorKind.CONNECTION):
                return error in self.on
            if status == 429:
                return "429" in self.on
            return status is not None and status >= 500 and "5xx" in self.on
        if error == DeliveryErrorKind.CONNECTION or status in (429, 502, 503, 504):
            return True
        if error == DeliveryErrorKind.TIMEOUT or (status is not None and status >= 500):
            return idempotent
        return False

    def delay_for(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), before jitter."""
        if self.backoff == "fixed":
            return self.delay
        return min(self.max_delay, self.delay * 2 ** (attempt - 1))


class Access(Model):
    """Who may run an action besides admins: any listed team, user or Slack user group."""

    teams: list[Slug] = []
    users: list[SlackId] = []
    usergroups: list[SlackId] = []


AccessRule = Literal["everyone", "admins", "service_owners"]


class Confirm(Model):
    """Slack's confirmation dialog before a one-click action runs; blanks get defaults."""

    title: str | None = Field(None, min_length=1, max_length=100)
    text: str | None = Field(None, min_length=1, max_length=300)
    confirm: str | None = Field(None, min_length=1, max_length=30)
    deny: str | None = Field(None, min_length=1, max_length=30)


class Next(Model):
    """A chain's next step: an action started after this one, with inputs rendered from
    the finished run's context (its request and `response`)."""

    action: Slug
    inputs: dict[str, str] = {}


class Concurrency(Model):
    """At most `limit` runs with the same rendered key in flight, across all replicas."""

    key: str = Field(min_length=1, max_length=200)  # Liquid, rendered with the request
    limit: int = Field(1, ge=1, le=100)
    when_busy: Literal["queue", "refuse"] = "queue"
    group: Slug | None = None  # actions of one group share their keys (deploy, rollback)

    def scope(self, action_id: str) -> str:
        """The namespace of this action's keys."""
        return f"group:{self.group}" if self.group else f"action:{action_id}"


class Action(Model):
    id: Slug
    name: str = Field(min_length=1, max_length=75)
    description: str = Field("", max_length=300)
    owner: Slug
    scope: Literal["global", "service"] = "global"
    access: AccessRule | Access = "everyone"
    published: bool = True
    category: str | None = Field(None, max_length=75)
    # One-click actions ask first: `true`, the dialog's text, or {title, text, confirm, deny}.
    confirm: Confirm | None = None
    # scope: service only: which services the action applies to, by their fields.
    filter: dict[str, Any] | None = None
    channels: list[SlackId] = []  # where it may run; empty: anywhere
    webhook: Webhook | None = None
    backend: Backend | None = None  # a CI workflow or pipeline, followed to its end
    inputs: list[Input] = Field([], max_length=40)
    response_template: str | None = None
    retry: RetryPolicy = RetryPolicy()
    # The receiver answers at once and reports back later on the callback URL.
    is_async: bool = Field(False, alias="async")
    timeout_after: Duration = 3600.0  # async: no final status by then → TIMED_OUT
    approval: Approval | None = None
    expires: Expiry | None = None
    rate_limit: Rate | None = None  # runs per user; None: the RUN_RATE_LIMIT default
    api: bool = True  # may run through the REST API (tokens)
    agents: bool = False  # offered to agents over MCP: admins opt actions in deliberately
    concurrency: Concurrency | None = None
    # Started from a Slack message: input identifier → Liquid over `message.*`.
    from_message: dict[str, str] | None = None
    on_success: Next | None = None
    on_failure: Next | None = None  # also a run that timed out
    # Its receiver may get the receiver check's requests (`receiver-check`) without --force.
    conformance_ok: bool = False

    @field_validator("confirm", mode="before")
    @classmethod
    def _confirm(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _target(self) -> Action:
        _one_target(self)
        return self

    @property
    def needs_approval(self) -> bool:
        return self.approval is not None and self.approval.required

    def needs_approval_for(self, agent: bool) -> bool:
        """Approval for one run: agents may be held to it when people are not."""
        if agent and self.approval is not None and self.approval.agents == "required":
            return True
        return self.needs_approval

    def next_after(self, status: str) -> Next | None:
        """The chain's next step after a run that ended with ``status``, if any."""
        if status == "SUCCESS":
            return self.on_success
        if status in ("FAILURE", "TIMED_OUT"):
            return self.on_failure
        return None

    def input(self, identifier: str) -> Input | None:
        return next((i for i in self.inputs if i.identifier == identifier), None)


class Admins(Model):
    users: list[SlackId] = []
    usergroups: list[SlackId] = []
    workspace_admins: bool = False  # Slack workspace admins and owners are admins here too


class ScheduleSpec(Model):
    """A run started by the clock, as its owner (`as`): recurring (`cron`) or once (`at`)."""

    id: Slug
    action: Slug
    cron: str | None = Field(None, min_length=1, max_length=100)  # five fields
    at: datetime | None = None  # once; without a zone, in `timezone`
    timezone: str = "UTC"
    inputs: dict[str, Any] = {}
    service: Slug | None = None
    owner: SlackId = Field(alias="as")
    channel: SlackId | None = None  # where runs and notices go; none: the owner's DM
    misfire_grace: Duration = 600.0  # a firing missed by more than this is skipped


class CatalogFile(Model):
    """The whole config file."""

    version: Literal[1] = 1
    admins: Admins = Admins()
    catalog: list[str] = []  # Backstage descriptor files or globs, relative to this file
    teams: list[Team] = []
    services: list[Service] = []
    actions: list[Action] = []
    schedules: list[ScheduleSpec] = []


class Catalog:
    """The validated config with lookups by id."""

    def __init__(self, document: CatalogFile, source: str = "") -> None:
        self.document = document
        self.source = source
        self.admins = document.admins
        self.teams = {t.id: t for t in document.teams}
        self.services = {s.id: s for s in document.services}
        self.actions = {a.id: a for a in document.actions}
        self.slack_ids: set[str] = set()  # actions created in Slack (the rest: the file)
        # Derived lookups, computed once per catalog: a click must not scan 2,000 services.
        self._services_for: dict[str, list[Service]] = {}
        self.usergroups: frozenset[str] | None = None  # see access.usergroups_in_use

    def action(self, action_id: str) -> Action | None:
        return self.actions.get(action_id)

    def team(self, team_id: str) -> Team | None:
        return self.teams.get(team_id)

    def service(self, service_id: str) -> Service | None:
        return self.services.get(service_id)

    def owner_of(self, action: Action) -> Team:
        return self.teams[action.owner]  # owners are checked at load time

    def services_for(self, action: Action) -> list[Service]:
        """The services a service-scoped action applies to (its filter), by name."""
        if action.scope != "service":
            return []
        if action.id not in self._services_for:
            found = [s for s in self.services.values() if s.matches(action.filter)]
            self._services_for[action.id] = sorted(found, key=lambda s: s.name.lower())
        return self._services_for[action.id]

    def actions_for(self, service: Service) -> list[Action]:
        return [
            a for a in self.actions.values() if a.scope == "service" and service.matches(a.filter)
        ]

    def find_service(self, text: str) -> Service | None:
        """A service by id, by name, or by a close match of either (`/actions checkout`)."""
        wanted = text.strip().lower()
        if not wanted:
            return None
        for service in self.services.values():
            if wanted in (service.id, service.name.lower()):
                return service
        names = {s.id: s for s in self.services.values()}
        names.update({s.name.lower(): s for s in self.services.values()})
        close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.75)
        if close:
            return names[close[0]]
        starts = [s for key, s in names.items() if key.startswith(wanted) and len(wanted) >= 3]
        return starts[0] if len({s.id for s in starts}) == 1 else None

    def for_channel(self, channel_id: str | None) -> Service | Team | None:
        """The team whose channel this is, else the service whose channel it is.

        The team wins: a team's channel is often also one of its services' channels, and
        there the team's whole list of services is what people expect.
        """
        if not channel_id:
            return None
        team = next((t for t in self.teams.values() if t.channel == channel_id), None)
        if team is not None:
            return team
        return next((s for s in self.services.values() if s.channel == channel_id), None)

    def find_team(self, text: str) -> Team | None:
        """A team by `#channel` as typed (`<#C0PAY|payments>`, `#payments`): its channel id,
        or its id or name as a channel name would spell it."""
        match = re.fullmatch(r"<#([A-Z0-9]+)(?:\|[^>]*)?>|#([\w.-]+)", text.strip())
        if match is None:
            return None
        channel_id, name = match.groups()
        for team in self.teams.values():
            slug = "-".join(re.sub(r"[^\w]+", " ", team.name.lower()).split())
            if (channel_id and team.channel == channel_id) or name in (team.id, slug):
                return team
        return None

    def services_of(self, team_id: str) -> list[Service]:
        return sorted(
            (s for s in self.services.values() if s.owner == team_id), key=lambda s: s.name.lower()
        )

    def teams_of(self, user_id: str) -> set[str]:
        return {t.id for t in self.teams.values() if user_id in t.members}
