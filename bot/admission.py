"""Whether a run may start: one server-side check, whatever the way in.

One-click Run, a form's submission, Run again, Extend and an admin's test send all ask
`Admission.admit` with plain data and get `Admitted` (with the clean inputs) or `Refused`
(with a reason a person can act on). Every value of the request is untrusted: it may come
from a tampered Slack client. Nothing here knows Slack's payloads; a later API calls it
the same way.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot import inputs, options, policy, templates
from bot.access import Decision, Principal, can_control, decide_run, is_admin, sees_inputs
from bot.catalog import Action, Catalog, Option, Service, parse_rate
from bot.runs import expiry, locks
from bot.settings import Settings
from bot.store import Run, Store
from bot.store.models import utcnow

GONE = "This action no longer exists. Type `/actions` to see the current list."
NOT_OVER_API = "this action is not available through the API"
NOT_FOR_AGENTS = "this action is not offered to agents"
SERVICE = "service"  # the key of a service problem in `Refused.errors`
SERVICE_ERROR = "Choose one of the listed services."
SOLE_APPROVER = (
    "it needs approval, and you are its only approver: nobody else could approve it. "
    "Ask an admin to add another approver"
)


class Via(StrEnum):
    """The way a run is asked for; it decides which checks apply."""

    FORM = "form"  # a form's submission (also Run again)
    CLICK = "click"  # a one-click Run: no form, so no inputs
    EXTEND = "extend"  # an extension of a time-limited run, asked for approval
    TEST = "test"  # an admin's test send
    API = "api"  # the REST API, with a token
    MCP = "mcp"  # an agent, over MCP (through the API's checks, and its own)


class Lookups(Protocol):
    """What admission asks the chat platform (Slack's Directory implements it)."""

    async def principal(self, user_id: str, catalog: Catalog) -> Principal: ...

    async def profile(self, user_id: str) -> dict[str, Any]: ...

    async def channel(self, channel_id: str) -> bool | None: ...

    async def user_by_email(self, email: str) -> str | None: ...

    async def profile_field(self, user_id: str, field_id: str) -> str | None: ...


@dataclass(frozen=True)
class Request:
    action_id: str
    user_id: str
    via: Via = Via.FORM
    service_id: str | None = None
    channel_id: str | None = None  # where it was asked from; None: Home tab or a DM
    inputs: Mapping[str, Any] = field(default_factory=dict)  # raw values, as submitted
    parent_id: str | None = None  # the run an extension extends


@dataclass(frozen=True)
class Admitted:
    action: Action
    service: Service | None
    inputs: dict[str, Any]  # validated and converted
    needs_approval: bool
    plan: policy.Plan | None = None  # the approval resolved for this submission

    def __bool__(self) -> bool:
        return True


class Refusal(StrEnum):
    GONE = "gone"
    ACCESS = "access"
    FORM = "form"  # the action needs its form
    INPUTS = "inputs"  # see `errors`
    RATE_LIMIT = "rate_limit"  # see `retry_after`
    APPROVAL = "approval"  # nobody could approve it
    BUSY = "busy"  # its concurrency key is taken and the action refuses to queue


@dataclass(frozen=True)
class Refused:
    kind: Refusal
    reason: str  # a sentence for the user
    errors: dict[str, str] = field(default_factory=dict)  # by input identifier, or SERVICE
    retry_after: float | None = None  # seconds, for a rate limit

    def __bool__(self) -> bool:
        return False

    @property
    def decision(self) -> Decision:
        return Decision(False, self.reason)


class Admission:
    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Callable[[], Catalog],
        store: Store,
        lookups: Lookups,
        options: options.OptionSource,
        policy: policy.Policy | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.lookups = lookups
        self.options = options
        self.policy = policy

    async def admit(self, request: Request) -> Admitted | Refused:
        catalog = self.catalog()
        action = catalog.action(request.action_id)
        service = catalog.service(request.service_id) if request.service_id else None
        if action is None or (request.service_id and service is None):
            return Refused(Refusal.GONE, GONE)
        if request.via in (Via.API, Via.MCP) and not action.api:
            return Refused(Refusal.GONE, NOT_OVER_API)
        if request.via == Via.MCP and not action.agents:
            return Refused(Refusal.GONE, NOT_FOR_AGENTS)
        who = await self.lookups.principal(request.user_id, catalog)
        in_scope = service if service is not None and service.matches(action.filter) else None
        decision = await self._access(catalog, action, who, in_scope, request)
        if not decision:
            return Refused(Refusal.ACCESS, decision.reason)
        refused = _unfit(action, service, in_scope, request.via)
        if refused is None:  # (a Refused is falsy: compare with None)
            refused = await self._limited(action, request)
        if refused is not None:
            return refused
        if request.via == Via.EXTEND:  # its only input is the extension, checked by the flow
            return Admitted(action, None, {}, action.needs_approval)
        errors = {SERVICE: SERVICE_ERROR} if action.scope == "service" and in_scope is None else {}
        values, problems = await self._inputs(catalog, action, request, in_scope)
        errors.update(problems)
        if errors:
            return Refused(Refusal.INPUTS, _summary(action, errors), errors)
        busy = await busy_refusal(
            self.settings, self.store, catalog, action, request, values, in_scope
        )
        if busy is not None:
            return busy
        if request.via == Via.TEST or self.policy is None:  # a test asks nobody
            return Admitted(
                action, in_scope, values, action.needs_approval_for(request.via == Via.MCP)
            )
        return await plan_approval(self.policy, catalog, action, request, values, in_scope)

    async def may_open(
        self, action: Action, user_id: str, *, service: Service | None, channel: str | None
    ) -> Decision:
        """Whether ``user_id`` may open ``action``'s form here. Only a courtesy: what the
        form submits goes through `admit` again."""
        catalog = self.catalog()
        who = await self.lookups.principal(user_id, catalog)
        return decide_run(catalog, action, who, service=service, channel=channel)

    async def offered(self, user_id: str, channel: str) -> list[Action]:
        """The published actions ``user_id`` may run in ``channel``: a picker's list. What
        is picked goes through `admit` again."""
        catalog = self.catalog()
        who = await self.lookups.principal(user_id, catalog)
        return [
            a
            for a in catalog.actions.values()
            if a.published and decide_run(catalog, a, who, channel=channel).allowed
        ]

    async def rerun_values(self, run: Run, user_id: str) -> dict[str, Any] | None:
        """The inputs a Run again form starts from: the run's own, if ``user_id`` may see
        them (see `access.sees_inputs`); otherwise none."""
        catalog = self.catalog()
        who = await self.lookups.principal(user_id, catalog)
        return dict(run.inputs) if sees_inputs(catalog, who, run.user_id) else None

    async def _access(
        self,
        catalog: Catalog,
        action: Action,
        who: Principal,
        service: Service | None,
        request: Request,
    ) -> Decision:
        if request.via == Via.TEST and not is_admin(catalog, who):
            return Decision(False, "only admins can send tests")
        if request.via == Via.EXTEND:
            parent = await asyncio.to_thread(self.store.get_run, request.parent_id or "")
            if parent is None or parent.action_id != action.id or action.expires is None:
                return Decision(False, "that run can't be extended")
            return can_control(catalog, action, who, parent.user_id)
        return decide_run(
            catalog,
            action,
            who,
            service=service,
            channel=request.channel_id,
            check_channel=request.via != Via.TEST,  # a test posts nowhere
        )

    async def _limited(self, action: Action, request: Request) -> Refused | None:
        """Too many runs of this action by this user lately (counted in the database)."""
        count, window = parse_rate(action.rate_limit or self.settings.RUN_RATE_LIMIT)
        now = utcnow()
        started = await asyncio.to_thread(
            self.store.started_since,
            action.id,
            request.user_id,
            now - timedelta(seconds=window),
            count,
        )
        if len(started) < count:
            return None
        wait = max(1, math.ceil((started[-1] + timedelta(seconds=window) - now).total_seconds()))
        return Refused(
            Refusal.RATE_LIMIT,
            f"you have started {action.name} {count} times in the last "
            f"{_window(window)}; try again in {wait} s",
            retry_after=float(wait),
        )

    async def _inputs(
        self, catalog: Catalog, action: Action, request: Request, service: Service | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        raw = dict(request.inputs)
        user = await self._user(action, request.user_id)
        try:
            fields = inputs.resolve(catalog, action, values=raw, user=user, service=service)
        except templates.TemplateError as exc:
            first = action.inputs[0].identifier if action.inputs else SERVICE
            return {}, {first: f"This form could not be drawn: {exc}"}
        remote, errors = await self._remote(catalog, action, fields, raw, user, service)
        values, problems = inputs.validate(action, raw, fields, remote)
        errors = {**problems, **errors}
        errors.update(await self._pickers(action, values, errors))
        if not errors and action.expires is not None:
            errors.update(self._expiry(catalog, action, values, service))
        return values, errors

    async def _user(self, action: Action, user_id: str) -> dict[str, Any]:
        """The user as form templates see them; Slack is asked only if Liquid may use it."""
        profile: dict[str, Any] = {}
        if any(
            _liquid(i.values)
            or _liquid(i.visible)
            or _liquid(i.defaultValue)
            or i.values_from is not None
            for i in action.inputs
        ):
            profile = await self.lookups.profile(user_id)
        return {"id": user_id, "name": profile.get("name"), "email": profile.get("email")}

    async def _remote(
        self,
        catalog: Catalog,
        action: Action,
        fields: list[inputs.Field],
        raw: Mapping[str, Any],
        user: Mapping[str, Any],
        service: Service | None,
    ) -> tuple[dict[str, list[Option]], dict[str, str]]:
        """Options of the chosen `values_from` inputs, fetched for this user and form."""
        found: dict[str, list[Option]] = {}
        errors: dict[str, str] = {}
        for item in (f.input for f in fields if f.visible):
            if item.values_from is None or raw.get(item.identifier) in (None, "", []):
                continue
            try:
                found[item.identifier] = await self.options.allowed(
                    catalog, action, item, values=raw, user=user, service=service
                )
            except (options.OptionsError, templates.TemplateError):
                errors[item.identifier] = "The options could not be loaded; try again."
        return found, errors

    async def _pickers(
        self, action: Action, values: Mapping[str, Any], errors: Mapping[str, str]
    ) -> dict[str, str]:
        """People must be active accounts; channels must exist (Slack says so)."""
        found: dict[str, str] = {}
        for item in action.inputs:
            chosen = values.get(item.identifier)
            if item.identifier in errors or not chosen:
                continue
            ids = chosen if isinstance(chosen, list) else [chosen]
            if item.type in ("user", "users"):
                # At once: twenty people must not cost twenty round trips of Slack's 3 s.
                profiles = await asyncio.gather(*(self.lookups.profile(u) for u in ids))
                if any(p.get("deleted") for p in profiles):
                    found[item.identifier] = "That account is deactivated; choose someone else."
            elif item.type == "channel":
                known = await self.lookups.channel(str(chosen))
                if known is None:
                    found[item.identifier] = "Slack could not confirm that channel; try again."
                elif not known:
                    found[item.identifier] = "Choose a channel from the list."
        return found

    def _expiry(
        self, catalog: Catalog, action: Action, values: Mapping[str, Any], service: Service | None
    ) -> dict[str, str]:
        """A time-limited action's duration must be valid and within `max`: its revert
        is scheduled from it once the run succeeds."""
        context = templates.request_context(
            catalog=catalog, action=action, user={}, inputs=values, service=service, run_id=""
        )
        try:
            expiry.duration_of(action, context, self.settings.template_secrets)
        except (expiry.ExpiryError, templates.TemplateError) as exc:
            target = next((i.identifier for i in action.inputs if i.type == "duration"), None)
            if target is None:
                target = action.inputs[0].identifier if action.inputs else SERVICE
            return {target: f"Duration: {exc}."}
        return {}


async def plan_approval(
    policy_: policy.Policy,
    catalog: Catalog,
    action: Action,
    request: Request,
    values: dict[str, Any],
    service: Service | None,
) -> Admitted | Refused:
    """Resolve the approval plan; refuse a run nobody could ever approve."""
    try:
        plan = await policy_.plan(
            catalog,
            action,
            user_id=request.user_id,
            inputs=values,
            service=service,
            agent=request.via == Via.MCP,
        )
    except templates.TemplateError as exc:
        first = (str(exc).splitlines() or ["error"])[0]  # Liquid adds the source below
        reason = f"{action.name}'s approval rule could not be evaluated: {first}"
        return Refused(Refusal.APPROVAL, reason)
    if plan.waits and not policy.eligible(catalog, action, plan, request.user_id):
        # Refused now rather than left waiting for a decision nobody can make.
        alone = request.user_id in policy.candidates(catalog, action, plan)
        return Refused(
            Refusal.APPROVAL, SOLE_APPROVER if alone else policy.unapprovable(action, plan)
        )
    return Admitted(action, service, values, plan.waits, plan)


async def busy_refusal(
    settings: Settings,
    store: Store,
    catalog: Catalog,
    action: Action,
    request: Request,
    values: Mapping[str, Any],
    service: Service | None,
) -> Refused | None:
    """`when_busy: refuse`: say at once who holds the key (the delivery checks again:
    two replicas may admit one run each in the same moment)."""
    rule = action.concurrency
    if rule is None or rule.when_busy != "refuse" or request.via == Via.TEST:
        return None
    user = {"id": request.user_id}
    try:
        key, label = await locks.key_of(
            settings.template_secrets,
            catalog,
            action,
            rule,
            user=user,
            inputs=values,
            service=service,
        )
    except templates.TemplateError:
        return None  # the delivery reports it in the thread
    holders = await asyncio.to_thread(store.lock_holders, key)
    if len(holders) < rule.limit:
        return None
    who = locks.busy_text(holders, f"@{holders[0].user_name or holders[0].user_id}", label)
    return Refused(Refusal.BUSY, f"{label} is busy with {who}")


def _unfit(
    action: Action, service: Service | None, in_scope: Service | None, via: Via
) -> Refused | None:
    """Requests that no input can fix: the wrong service, a test or a click that can't be."""
    if via == Via.TEST and action.expires is not None:
        reason = "a time-limited action can't be sent as a test: nothing would revert it"
        return Refused(Refusal.ACCESS, reason)
    if action.scope == "global" and service is not None:
        return Refused(Refusal.GONE, f"{action.name} does not run on a service")
    if via == Via.CLICK and action.inputs:
        return Refused(Refusal.FORM, f"{action.name} needs its form: click Run to fill it in")
    if via == Via.CLICK and action.scope == "service" and in_scope is None:
        where = f"to {service.name}" if service else "without a service"
        return Refused(
            Refusal.INPUTS, f"{action.name} does not apply {where}", {SERVICE: SERVICE_ERROR}
        )
    return None


def _liquid(value: Any) -> bool:
    return isinstance(value, str) and "{" in value


def _window(seconds: float) -> str:
    return {1.0: "second", 60.0: "minute", 3600.0: "hour"}[seconds]


def _summary(action: Action, errors: Mapping[str, str]) -> str:
    names = {i.identifier: i.displayName for i in action.inputs}
    names[SERVICE] = "Service"
    parts = [f"{names.get(k, k)}: {v}" for k, v in errors.items()]
    return f"{action.name} can't run with these inputs. " + " ".join(parts)
