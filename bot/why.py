"""Why may @dee run this? The rules that grant or refuse a run, in order.

`explain` is pure: access, channel, draft, then approval (who would be asked, or the rule
that would approve it), each a `Decision` built by the one access policy. `/actions-admin
why` and `python -m bot check --as` both print it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import templates
from bot.access import Decision, Principal, approver_ids, can_run, is_admin
from bot.catalog import Action, Catalog, Service
from bot.policy import CONDITION_FALSE, SOURCE_NAMES, Plan, Policy, eligible, unapprovable

RULES = ("access", "channel", "draft", "approval")


@dataclass(frozen=True)
class Step:
    rule: str  # one of RULES
    decision: Decision  # its reason says why, whether it grants or refuses


@dataclass(frozen=True)
class Explanation:
    action: Action
    user_id: str
    service: Service | None
    steps: list[Step]

    @property
    def allowed(self) -> bool:
        return all(step.decision for step in self.steps)

    def lines(self) -> list[str]:
        on = f" on {self.service.name}" if self.service else ""
        verdict = "may run" if self.allowed else "may not run"
        head = f"<@{self.user_id}> {verdict} {self.action.name} ({self.action.id}){on}."
        marks = {True: "✓", False: "✗"}
        return [head] + [
            f"{marks[bool(s.decision)]} {s.rule}: {s.decision.reason}" for s in self.steps
        ]


def explain(
    catalog: Catalog,
    action: Action,
    who: Principal,
    *,
    service: Service | None = None,
    channel: str | None = None,
    plan: Plan | None = None,
    plan_error: str | None = None,
) -> Explanation:
    """The decision of each rule for ``who`` running ``action``; ``channel`` None: not
    checked; ``plan``: the approval resolved for these inputs."""
    admin = is_admin(catalog, who)
    published = action.model_copy(update={"published": True, "channels": []})
    access = can_run(catalog, published, who, service=service, check_channel=False)
    if access:
        access = Decision(True, "an admin" if admin else _granted(action))
    steps = [Step("access", access), Step("channel", _channel(action, channel))]
    if action.published:
        steps.append(Step("draft", Decision(True, "published")))
    elif admin:
        steps.append(Step("draft", Decision(True, "a draft, and admins may run drafts")))
    else:
        steps.append(
            Step("draft", Decision(False, "this action is a draft; only admins can run it"))
        )
    steps.append(Step("approval", _approval(catalog, action, who.user_id, plan, plan_error)))
    return Explanation(action, who.user_id, service, steps)


def _granted(action: Action) -> str:
    rule = action.access
    if rule == "everyone":
        return "everyone may run it"
    if rule == "service_owners":
        return "the team owning the service may run it"
    return "on the action's access list"


def _channel(action: Action, channel: str | None) -> Decision:
    if not action.channels:
        return Decision(True, "any channel")
    where = ", ".join(f"<#{c}>" for c in action.channels)
    if channel is None:
        return Decision(True, f"only in {where} (ask there)")
    if channel in action.channels:
        return Decision(True, f"asked in <#{channel}>")
    return Decision(False, f"this action runs only in {where}")


def _approval(
    catalog: Catalog, action: Action, requester: str, plan: Plan | None, error: str | None
) -> Decision:
    if error is not None:
        return Decision(False, f"the approval rule could not be evaluated: {error}")
    if action.approval is None or plan is None or not plan.needed:
        return Decision(True, CONDITION_FALSE if plan and plan.skipped else "not required")
    if plan.auto is not None:
        return Decision(True, f"auto-approved by the rule `{plan.auto}`")
    if not eligible(catalog, action, plan, requester):
        return Decision(False, unapprovable(action, plan))
    rule = action.approval.approvers
    asked = [f"<@{u}>" for u in approver_ids(catalog, action)]
    asked += [f"<!subteam^{g}>" for g in rule.usergroups]
    asked += [
        f"{SOURCE_NAMES.get(name, name)} " + ", ".join(f"<@{u}>" for u in ids)
        for name, ids in plan.sources.items()
    ]
    failed = "".join(
        f"; {SOURCE_NAMES.get(k, k)} could not be resolved ({v})" for k, v in plan.failed.items()
    )
    count = action.approval.count
    return Decision(True, f"needs {count} approval(s) from {', '.join(asked)}{failed}")


async def why(
    policy: Policy,
    catalog: Catalog,
    action: Action,
    who: Principal,
    *,
    service: Service | None = None,
    channel: str | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> Explanation:
    """Resolve the approval plan (PagerDuty, Slack) for these inputs, then explain."""
    plan, error = None, None
    values = {**defaults(action), **(inputs or {})}
    try:
        plan = await policy.plan(
            catalog, action, user_id=who.user_id, inputs=values, service=service
        )
    except templates.TemplateError as exc:
        error = (str(exc).splitlines() or ["error"])[0]
    return explain(
        catalog, action, who, service=service, channel=channel, plan=plan, plan_error=error
    )


def defaults(action: Action) -> dict[str, Any]:
    """The inputs' plain default values: what a condition sees when none are given."""
    return {
        i.identifier: i.defaultValue
        for i in action.inputs
        if i.defaultValue is not None
        and not (isinstance(i.defaultValue, str) and "{" in i.defaultValue)
    }
