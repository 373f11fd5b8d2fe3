"""Who may run and who may administer: the one access policy, as pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.catalog import Action, Catalog


@dataclass(frozen=True)
class Principal:
    """A Slack user and the user groups we resolved for them."""

    user_id: str
    usergroups: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # why not, in words a user can act on

    def __bool__(self) -> bool:
        return self.allowed


def is_admin(catalog: Catalog, who: Principal) -> bool:
    admins = catalog.admins
    return who.user_id in admins.users or bool(who.usergroups & set(admins.usergroups))


def can_run(catalog: Catalog, action: Action, who: Principal) -> Decision:
    admin = is_admin(catalog, who)
    if not action.published and not admin:
        return Decision(False, "this action is a draft; only admins can run it")
    if action.access == "admins" and not admin:
        return Decision(False, "only admins can run this action")
    return Decision(True)
