"""Approval policies: whether a run needs approval, from whom, and whether a rule approves it.

Resolved once, at submission, into a `Plan` stored on the run: `approval.when` (Liquid over
the payload's context), the dynamic approvers (`service_owners`, `on_call`, `manager`) and
`approval.auto_approve`. A source that can't be resolved is named in the plan and the
others are asked; when nobody at all could decide, the run is refused at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bot import templates
from bot.access import approver_ids
from bot.catalog import Action, Approval, Catalog, Service
from bot.pagerduty import OnCallUser, PagerDuty, PagerDutyError

CONDITION_FALSE = "approval not required: condition false"
# Sources are asked while Slack waits for the form's answer (3 s in all): each gets this long.
SOURCE_DEADLINE = 1.5
FALSE_TEXTS = ("", "false", "no", "0", "nil", "none")
SOURCE_NAMES = {"service_owners": "service owners", "on_call": "on call", "manager": "manager"}


class People(Protocol):
    """What the policy asks the chat platform (Slack's Directory implements it)."""

    async def profile(self, user_id: str) -> dict[str, Any]: ...

    async def user_by_email(self, email: str) -> str | None: ...

    async def profile_field(self, user_id: str, field_id: str) -> str | None: ...


class SourceError(Exception):
    """A dynamic source gave nobody; the message says why, for the request and the audit."""


@dataclass(frozen=True)
class Plan:
    """What approval a run gets. ``needed`` False: it goes straight to delivery."""

    needed: bool
    approvers: list[str] = field(default_factory=list)  # resolved from dynamic sources
    sources: dict[str, list[str]] = field(default_factory=dict)  # source → user ids
    failed: dict[str, str] = field(default_factory=dict)  # source → why it gave nobody
    auto: str | None = None  # the `auto_approve` rule that matched
    skipped: bool = False  # `approval.when` was false

    @property
    def waits(self) -> bool:
        """The run waits for people (needed, and no rule approved it)."""
        return self.needed and self.auto is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Plan | None:
        if not data:
            return None
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def truthy(text: str) -> bool:
    return text.strip().lower() not in FALSE_TEXTS


def dynamic_approvers(run_plan: Mapping[str, Any] | None) -> list[str]:
    """The approvers a stored plan adds to the action's named ones."""
    plan = Plan.from_json(run_plan)
    return list(plan.approvers) if plan else []


class Schedules:
    """PagerDuty's answer for each schedule, asked at most once per submission: `user.on_call`
    and the `on_call` source share it, so a slow PagerDuty costs its deadline once."""

    def __init__(self, pagerduty: PagerDuty) -> None:
        self.pagerduty = pagerduty
        self._asked: dict[str, asyncio.Future[list[OnCallUser]]] = {}

    async def people(self, schedule: str) -> list[OnCallUser]:
        if schedule not in self._asked:
            self._asked[schedule] = asyncio.ensure_future(self.pagerduty.on_call(schedule))
        # Shielded: a caller giving up must not cancel the answer the other one awaits.
        return await asyncio.shield(self._asked[schedule])


class Policy:
    def __init__(
        self,
        *,
        pagerduty: PagerDuty,
        people: People,
        secrets: Mapping[str, str],
        manager_field: str = "",
    ) -> None:
        self.pagerduty = pagerduty
        self.people = people
        self.secrets = secrets
        self.manager_field = manager_field

    async def plan(
        self,
        catalog: Catalog,
        action: Action,
        *,
        user_id: str,
        inputs: Mapping[str, Any],
        service: Service | None,
        agent: bool = False,
    ) -> Plan:
        """The approval plan of one submission; TemplateError when a condition can't render.

        An agent's run under `approval.agents: required` always waits for a person: neither
        `when` nor `auto_approve` lets it through.
        """
        approval = action.approval
        forced = agent and approval is not None and approval.agents == "required"
        if approval is None or not (approval.required or forced):
            return Plan(needed=False)
        auto = None
        schedules = Schedules(self.pagerduty)
        if not forced and (approval.when or approval.auto_approve):
            context = await self.context(catalog, action, user_id, inputs, service, schedules)
            if approval.when and not await self._true(approval.when, context):
                return Plan(needed=False, skipped=True)
            for rule in approval.auto_approve:
                if await self._true(rule.when, context):
                    auto = rule.when
                    break
        sources, failed = await self.resolve(catalog, approval, user_id, service, schedules)
        found = [u for ids in sources.values() for u in ids]
        return Plan(
            needed=True,
            approvers=list(dict.fromkeys(found)),
            sources=sources,
            failed=failed,
            auto=auto,
        )

    async def context(
        self,
        catalog: Catalog,
        action: Action,
        user_id: str,
        inputs: Mapping[str, Any],
        service: Service | None,
        schedules: Schedules,
    ) -> dict[str, Any]:
        """The payload's context, plus `user.on_call` when a condition uses it."""
        profile = await self.people.profile(user_id)
        user = {"id": user_id, "name": profile.get("name"), "email": profile.get("email")}
        context = templates.request_context(
            catalog=catalog, action=action, user=user, inputs=inputs, service=service, run_id=""
        )
        approval = action.approval
        conditions = (
            [approval.when or ""] + [r.when for r in approval.auto_approve] if approval else []
        )
        if any("on_call" in text for text in conditions):
            email = user.get("email")
            context["user"]["on_call"] = await self.on_call(action, service, email, schedules)
        return context

    async def on_call(
        self, action: Action, service: Service | None, email: Any, schedules: Schedules
    ) -> bool:
        """Whether the requester is on call for the run's service or the listed schedule.

        Unknown (PagerDuty down, no email) counts as not on call: fail closed.
        """
        wanted = [service.on_call.schedule] if service and service.on_call else []
        if action.approval and action.approval.approvers.on_call:
            wanted.append(action.approval.approvers.on_call.schedule)
        if not email or not self.pagerduty.configured or not wanted:
            return False
        found = await asyncio.gather(
            *(schedules.people(s) for s in dict.fromkeys(wanted)), return_exceptions=True
        )
        mine = str(email).lower()
        return any(
            p.email.lower() == mine for people in found if isinstance(people, list) for p in people
        )

    async def _true(self, source: str, context: Mapping[str, Any]) -> bool:
        rendered = await templates.render(templates.condition(source), context, self.secrets)
        return truthy(rendered)

    async def resolve(
        self,
        catalog: Catalog,
        approval: Approval,
        user_id: str,
        service: Service | None,
        schedules: Schedules,
    ) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Each dynamic source's approvers, and why each failing one gave nobody."""
        rule = approval.approvers
        wanted = {
            "service_owners": rule.service_owners,
            "on_call": rule.on_call is not None,
            "manager": rule.manager,
        }
        names = [name for name, on in wanted.items() if on]
        calls = {
            "service_owners": lambda: self._owners(catalog, service),
            "on_call": lambda: self._on_call_users(approval, schedules),
            "manager": lambda: self._manager(catalog, user_id),
        }
        results = await asyncio.gather(
            *(_bounded(calls[n]()) for n in names), return_exceptions=True
        )
        sources: dict[str, list[str]] = {}
        failed: dict[str, str] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, SourceError):
                failed[name] = str(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                sources[name] = result
        return sources, failed

    async def _owners(self, catalog: Catalog, service: Service | None) -> list[str]:
        if service is None:
            raise SourceError("no service was chosen")
        team = catalog.team(service.owner)
        if team is None or not team.members:
            raise SourceError(f"the owner team of {service.name} has no members")
        return team.member_ids

    async def _on_call_users(self, approval: Approval, schedules: Schedules) -> list[str]:
        assert approval.approvers.on_call is not None
        schedule = approval.approvers.on_call.schedule
        try:
            people = await schedules.people(schedule)
        except PagerDutyError as exc:
            raise SourceError(str(exc)) from None
        if not people:
            raise SourceError(f"nobody is on call for schedule {schedule}")
        found = await asyncio.gather(*(self.people.user_by_email(p.email) for p in people))
        ids = [u for u in found if u]
        if not ids:
            raise SourceError(f"the people on call for {schedule} have no Slack account")
        return list(dict.fromkeys(ids))

    async def _manager(self, catalog: Catalog, user_id: str) -> list[str]:
        if self.manager_field:
            value = await self.people.profile_field(user_id, self.manager_field)
            if value and "@" in value:
                value = await self.people.user_by_email(value)
            if value:
                return [value]
        for team in catalog.teams.values():
            if user_id in team.managers:
                return [team.managers[user_id]]
        raise SourceError("no manager is known for the requester")


async def _bounded(call: Awaitable[list[str]]) -> list[str]:
    try:
        return await asyncio.wait_for(call, SOURCE_DEADLINE)
    except TimeoutError:
        raise SourceError(f"no answer within {SOURCE_DEADLINE:g} s") from None


def candidates(catalog: Catalog, action: Action, plan: Plan) -> set[str]:
    """Everyone named or resolved as an approver of this run (user groups aside)."""
    return set(approver_ids(catalog, action)) | set(plan.approvers)


def eligible(catalog: Catalog, action: Action, plan: Plan, requester: str) -> bool:
    """Whether someone other than the requester (or the requester, if allowed) can decide."""
    assert action.approval is not None
    people = candidates(catalog, action, plan)
    if not action.approval.allow_self_approval:
        people.discard(requester)
    return bool(people or action.approval.approvers.usergroups)


def unapprovable(action: Action, plan: Plan) -> str:
    """Why a run can't be approved by anyone: the reason a requester reads."""
    failures = "; ".join(f"{SOURCE_NAMES.get(k, k)}: {v}" for k, v in plan.failed.items())
    why = f" ({failures})" if failures else ""
    return f"no one could be found to approve it{why}; ask the action's owners"
