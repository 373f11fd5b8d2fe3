"""Who may run and who may administer: the one access policy, as pure functions."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from bot import tracing
from bot.catalog import Access, Action, Approvers, Catalog, Service


@dataclass(frozen=True)
class Principal:
    """A Slack user and what we resolved about them.

    ``groups_known`` is False when Slack could not tell us the user's groups: rules that
    depend on groups then fail closed, with a reason saying so.
    """

    user_id: str
    usergroups: frozenset[str] = field(default_factory=frozenset)
    workspace_admin: bool = False
    groups_known: bool = True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # why not, in words a user can act on

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)
GROUPS_UNKNOWN = "Slack did not tell us your user groups just now; try again in a minute"


def is_admin(catalog: Catalog, who: Principal) -> bool:
    admins = catalog.admins
    return (
        who.user_id in admins.users
        or bool(who.usergroups & set(admins.usergroups))
        or (admins.workspace_admins and who.workspace_admin)
    )


def owns(catalog: Catalog, service: Service, who: Principal) -> bool:
    team = catalog.team(service.owner)
    return team is not None and who.user_id in team.members


def can_run(
    catalog: Catalog,
    action: Action,
    who: Principal,
    *,
    service: Service | None = None,
    channel: str | None = None,
    check_channel: bool = True,
) -> Decision:
    """Whether ``who`` may run ``action`` (on ``service``, from ``channel``).

    Checked on the server at every step. ``service`` None for a service-scoped action
    means "not chosen yet": the user passes if they may run it on some service.
    ``channel`` None is the Home tab or a DM.
    """
    admin = is_admin(catalog, who)
    if not action.published and not admin:
        return Decision(False, "this action is a draft; only admins can run it")
    if check_channel and action.channels and channel not in action.channels:
        where = ", ".join(f"<#{c}>" for c in action.channels)
        return Decision(False, f"this action runs only in {where}")
    if admin:
        return ALLOWED
    rule = action.access
    if rule == "everyone":
        return ALLOWED
    if rule == "admins":
        if not who.groups_known and catalog.admins.usergroups:
            return Decision(False, GROUPS_UNKNOWN)
        return Decision(False, "only admins can run this action")
    if rule == "service_owners":
        services = [service] if service else catalog.services_for(action)
        if any(owns(catalog, s, who) for s in services):
            return ALLOWED
        target = f"*{service.name}*" if service else "the service"
        return Decision(False, f"only the team that owns {target} can run this action")
    assert isinstance(rule, Access)
    return listed(catalog, rule, who, "you are not on this action's access list")


@tracing.traced("access decision", lambda d: {"access.allowed": d.allowed})
def decide_run(
    catalog: Catalog,
    action: Action,
    who: Principal,
    *,
    service: Service | None = None,
    channel: str | None = None,
    check_channel: bool = True,
) -> Decision:
    """can_run for one attempt to run (open the form, submit, click), traced."""
    return can_run(
        catalog, action, who, service=service, channel=channel, check_channel=check_channel
    )


def browsable(
    catalog: Catalog,
    who: Principal,
    actions: Iterable[Action],
    *,
    service: Service | None = None,
    channel: str | None = None,
) -> list[tuple[Action, Decision]]:
    """The actions ``who`` may see (drafts are for admins' eyes only), each with whether
    they may run it here."""
    admin = is_admin(catalog, who)
    return [
        (action, can_run(catalog, action, who, service=service, channel=channel))
        for action in actions
        if action.published or admin
    ]


def sees_inputs(catalog: Catalog, who: Principal, requester: str) -> bool:
    """Someone else's inputs are theirs: only they (or an admin) see them again."""
    return who.user_id == requester or is_admin(catalog, who)


def listed(
    catalog: Catalog, people: Access | Approvers, who: Principal, otherwise: str
) -> Decision:
    """Whether ``who`` is in a list of people (users, team members, user group members)."""
    if who.user_id in people.users or catalog.teams_of(who.user_id) & set(people.teams):
        return ALLOWED
    if people.usergroups:
        if not who.groups_known:
            return Decision(False, GROUPS_UNKNOWN)
        if who.usergroups & set(people.usergroups):
            return ALLOWED
    return Decision(False, otherwise)


def usergroups_in_use(catalog: Catalog) -> frozenset[str]:
    """Every Slack user group some rule mentions: the ones worth resolving for a user."""
    if catalog.usergroups is not None:
        return catalog.usergroups
    groups = set(catalog.admins.usergroups)
    for action in catalog.actions.values():
        if isinstance(action.access, Access):
            groups |= set(action.access.usergroups)
        if action.approval is not None:
            groups |= set(action.approval.approvers.usergroups)
    catalog.usergroups = frozenset(groups)  # computed once per catalog
    return catalog.usergroups


def can_approve(
    catalog: Catalog,
    action: Action,
    who: Principal,
    requester: str,
    resolved: Collection[str] = (),
) -> Decision:
    """Whether ``who`` may approve or deny a run of ``action`` that ``requester`` asked for.

    ``resolved``: the approvers the run's own sources gave at submission (on call, owners,
    manager), on top of the action's named ones.
    """
    approval = action.approval
    if approval is None:
        return Decision(False, "this action needs no approval")
    if who.user_id == requester and not approval.allow_self_approval:
        return Decision(False, "you cannot approve your own request")
    if who.user_id in resolved:
        return ALLOWED
    return listed(catalog, approval.approvers, who, "you are not an approver of this action")


def can_control(
    catalog: Catalog,
    action: Action,
    who: Principal,
    requester: str,
    resolved: Collection[str] = (),
) -> Decision:
    """Whether ``who`` may revoke or extend a run that ``requester`` started."""
    if who.user_id == requester or is_admin(catalog, who):
        return ALLOWED
    if action.approval and can_approve(catalog, action, who, "", resolved):
        return ALLOWED
    return Decision(False, "only the requester, an approver or an admin can change this run")


def approver_ids(catalog: Catalog, action: Action) -> list[str]:
    """The approvers we can name directly (users and team members; groups via Slack)."""
    if action.approval is None:
        return []
    rule = action.approval.approvers
    found = list(rule.users)
    for team_id in rule.teams:
        team = catalog.team(team_id)
        found += [m for m in team.member_ids if m not in found] if team else []
    return found
