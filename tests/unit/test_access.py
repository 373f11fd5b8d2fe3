"""Who may run what: each access rule, and the reason a refused user reads.

The decision is checked with `can_run`, and what the user sees with the bot's own
refusal text. User groups come from Slack through the Directory; when Slack cannot say,
rules that depend on them fail closed and say why.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.access import (
    GROUPS_UNKNOWN,
    Principal,
    browsable,
    can_run,
    is_admin,
    sees_inputs,
    usergroups_in_use,
)
from bot.catalog import Action, Catalog
from bot.slack.directory import Directory
from bot.slack.views import blocks
from tests import samples
from tests.support import catalog_with, the

ADMIN = Principal("U0ADMIN")
NOBODY = Principal("U0NOBODY")


def refusal(catalog: Catalog, action: Action, who: Principal, **where: Any) -> str:
    """What the refused user reads, or "" when allowed."""
    decision = can_run(catalog, action, who, **where)
    if decision:
        assert decision.reason == ""
        return ""
    assert decision.reason
    return blocks.refusal_text(action, catalog.owner_of(action), decision)


# --- browsing and Run again -------------------------------------------------------------


def test_browsing_hides_drafts_from_non_admins_and_decides_each_card() -> None:
    catalog = catalog_with(
        samples.action("open-one", access="everyone"),
        samples.action("admins-one", access="admins"),
        samples.action("draft-one", published=False),
    )
    actions = list(catalog.actions.values())

    seen = {a.id: bool(d) for a, d in browsable(catalog, Principal("U0PAY"), actions)}
    assert seen == {"open-one": True, "admins-one": False}
    as_admin = {a.id: bool(d) for a, d in browsable(catalog, ADMIN, actions)}
    assert as_admin == {"open-one": True, "admins-one": True, "draft-one": True}


def test_only_the_requester_or_an_admin_sees_a_runs_inputs_again() -> None:
    catalog = catalog_with(samples.action())
    assert sees_inputs(catalog, Principal("U0DEV"), "U0DEV")
    assert sees_inputs(catalog, ADMIN, "U0DEV")
    assert not sees_inputs(catalog, Principal("U0PAY"), "U0DEV")


# --- everyone, admins -------------------------------------------------------------------


def test_everyone() -> None:
    catalog = catalog_with(samples.action(access="everyone"))
    for who in (NOBODY, ADMIN, Principal("U0X", groups_known=False)):
        assert refusal(catalog, the(catalog), who) == ""


def test_admins_only_by_user_usergroup_or_workspace_role() -> None:
    catalog = catalog_with(
        samples.action(name="Drop table", access="admins"),
        admins={"users": ["U0ADMIN"], "usergroups": ["S0LEADS"], "workspace_admins": True},
    )
    action = the(catalog)

    assert refusal(catalog, action, ADMIN) == ""
    assert refusal(catalog, action, Principal("U0LEAD", frozenset({"S0LEADS"}))) == ""
    assert refusal(catalog, action, Principal("U0OWNER", workspace_admin=True)) == ""
    assert refusal(catalog, action, Principal("U0PAY", frozenset({"S0OTHER"}))) == (
        ":lock: You can't run *Drop table*: only admins can run this action. "
        "Ask *Payments* in <#C0PAY>."
    )


def test_workspace_admins_are_not_admins_unless_the_config_says_so() -> None:
    catalog = catalog_with(samples.action(access="admins"))
    owner = Principal("U0OWNER", workspace_admin=True)
    assert not is_admin(catalog, owner)
    assert "only admins can run this action" in refusal(catalog, the(catalog), owner)


def test_admins_run_everything() -> None:
    catalog = catalog_with(
        samples.action("mine", access={"teams": ["search"]}),
        samples.action("owners", scope="service", access="service_owners"),
    )
    assert refusal(catalog, the(catalog, "mine"), ADMIN) == ""
    for service in catalog.services.values():
        assert refusal(catalog, the(catalog, "owners"), ADMIN, service=service) == ""


# --- service owners ---------------------------------------------------------------------


def test_service_owners_on_a_chosen_service() -> None:
    catalog = catalog_with(samples.action(name="Restart", scope="service", access="service_owners"))
    action = the(catalog)
    payments = Principal("U0PAY")

    assert refusal(catalog, action, payments, service=catalog.services["ledger"]) == ""
    assert refusal(catalog, action, payments, service=catalog.services["search-api"]) == (
        ":lock: You can't run *Restart*: only the team that owns *Search API* can run this "
        "action. Ask *Payments* in <#C0PAY>."
    )
    assert (
        refusal(catalog, action, Principal("U0SEARCH"), service=catalog.services["search-api"])
        == ""
    )


def test_service_owners_before_a_service_is_chosen() -> None:
    """The form opens for anyone who owns a service the action applies to."""
    catalog = catalog_with(
        samples.action(name="Restart", scope="service", access="service_owners", filter={"tier": 1})
    )
    action = the(catalog)

    assert refusal(catalog, action, Principal("U0PAY")) == ""  # owns checkout-api, tier 1
    # Search owns a service, but not one this action applies to.
    assert "only the team that owns the service can run this action" in refusal(
        catalog, action, Principal("U0SEARCH")
    )
    assert "only the team that owns the service" in refusal(catalog, action, NOBODY)
    # And once a service is chosen, it must be theirs.
    assert "*Ledger*" in refusal(
        catalog, action, Principal("U0SEARCH"), service=catalog.services["ledger"]
    )


# --- lists of teams, users and user groups ----------------------------------------------


def test_access_list_of_teams_users_and_usergroups() -> None:
    catalog = catalog_with(
        samples.action(
            name="Refund",
            access={"teams": ["search"], "users": ["U0FRIEND"], "usergroups": ["S0FINANCE"]},
        )
    )
    action = the(catalog)

    assert refusal(catalog, action, Principal("U0SEARCH")) == ""  # a member of search
    assert refusal(catalog, action, Principal("U0FRIEND")) == ""
    assert refusal(catalog, action, Principal("U0CFO", frozenset({"S0FINANCE"}))) == ""
    assert refusal(catalog, action, Principal("U0PAY", frozenset({"S0OTHER"}))) == (
        ":lock: You can't run *Refund*: you are not on this action's access list. "
        "Ask *Payments* in <#C0PAY>."
    )


def test_an_empty_access_list_leaves_only_admins() -> None:
    catalog = catalog_with(samples.action(access={}))
    assert refusal(catalog, the(catalog), ADMIN) == ""
    assert "not on this action's access list" in refusal(catalog, the(catalog), Principal("U0PAY"))


def test_usergroups_in_use_are_those_worth_asking_slack_about() -> None:
    catalog = catalog_with(
        samples.action("a", access={"usergroups": ["S0FINANCE"]}),
        samples.action("b", access={"teams": ["search"]}),
        samples.action("c", access="admins"),
        admins={"users": ["U0ADMIN"], "usergroups": ["S0LEADS"]},
    )
    assert usergroups_in_use(catalog) == {"S0FINANCE", "S0LEADS"}


# --- drafts and channels ----------------------------------------------------------------


def test_drafts_are_for_admins_only() -> None:
    catalog = catalog_with(samples.action(name="New thing", published=False))
    assert refusal(catalog, the(catalog), ADMIN) == ""
    assert refusal(catalog, the(catalog), Principal("U0PAY")) == (
        ":lock: You can't run *New thing*: this action is a draft; only admins can run it. "
        "Ask *Payments* in <#C0PAY>."
    )


def test_channels_restrict_where_an_action_runs() -> None:
    catalog = catalog_with(samples.action(name="Deploy", channels=["C0DEPLOYS", "C0OPS"]))
    action = the(catalog)

    assert refusal(catalog, action, NOBODY, channel="C0DEPLOYS") == ""
    assert refusal(catalog, action, NOBODY, channel="C0OPS") == ""
    expected = (
        ":lock: You can't run *Deploy*: this action runs only in <#C0DEPLOYS>, <#C0OPS>. "
        "Ask *Payments* in <#C0PAY>."
    )
    assert refusal(catalog, action, NOBODY, channel="C0RANDOM") == expected
    assert refusal(catalog, action, NOBODY, channel=None) == expected  # Home tab or a DM
    # The channel rule holds for admins too: it is about where, not who.
    assert refusal(catalog, action, ADMIN, channel="C0RANDOM") == expected
    # Browsing elsewhere may skip it; running may not.
    assert can_run(catalog, action, NOBODY, channel="C0RANDOM", check_channel=False)


def test_a_channel_and_an_access_rule_both_apply() -> None:
    catalog = catalog_with(samples.action(access="admins", channels=["C0OPS"]))
    assert "only admins" in refusal(catalog, the(catalog), NOBODY, channel="C0OPS")
    assert "runs only in <#C0OPS>" in refusal(catalog, the(catalog), NOBODY, channel="C0X")


# --- when Slack cannot tell us someone's groups -----------------------------------------


class FlakySlack:
    """Enough of AsyncWebClient for the Directory; user-group look-ups fail."""

    def __init__(
        self, groups: dict[str, list[str] | None], admins: frozenset[str] = frozenset()
    ) -> None:
        self.groups = groups
        self.admins = admins
        self.asked: list[str] = []

    async def usergroups_users_list(self, *, usergroup: str) -> dict[str, Any]:
        self.asked.append(usergroup)
        members = self.groups.get(usergroup)
        if members is None:
            raise SlackApiError("ratelimited", {"ok": False, "error": "ratelimited"})
        return {"ok": True, "users": members}

    async def users_info(self, *, user: str) -> dict[str, Any]:
        return {
            "ok": True,
            "user": {"id": user, "name": user.lower(), "is_admin": user in self.admins},
        }


def principal(slack: FlakySlack, user_id: str, catalog: Catalog) -> Principal:
    return asyncio.run(Directory(slack).principal(user_id, catalog))  # type: ignore[arg-type]


GROUP_ADMINS = {"users": ["U0ADMIN"], "usergroups": ["S0LEADS"], "workspace_admins": True}


def groups_catalog() -> Catalog:
    return catalog_with(
        samples.action(
            "refund", name="Refund", access={"users": ["U0FRIEND"], "usergroups": ["S0FINANCE"]}
        ),
        samples.action("drop", name="Drop table", access="admins"),
        samples.action("ping", name="Ping"),
        admins=GROUP_ADMINS,
    )


def test_groups_are_resolved_through_slack() -> None:
    catalog = groups_catalog()
    slack = FlakySlack({"S0FINANCE": ["U0CFO"], "S0LEADS": ["U0LEAD"]}, admins={"U0BOSS"})

    cfo = principal(slack, "U0CFO", catalog)
    assert cfo == Principal("U0CFO", frozenset({"S0FINANCE"}), False, True)
    assert sorted(slack.asked) == ["S0FINANCE", "S0LEADS"]
    assert refusal(catalog, the(catalog, "refund"), cfo) == ""
    assert "only admins" in refusal(catalog, the(catalog, "drop"), cfo)
    assert refusal(catalog, the(catalog, "drop"), principal(slack, "U0LEAD", catalog)) == ""
    boss = principal(slack, "U0BOSS", catalog)
    assert boss.workspace_admin
    assert refusal(catalog, the(catalog, "drop"), boss) == ""


@pytest.mark.parametrize("failing", ["S0FINANCE", "S0LEADS"])
def test_unknown_groups_fail_closed_with_a_reason_to_retry(failing: str) -> None:
    catalog = groups_catalog()
    groups: dict[str, list[str] | None] = {"S0FINANCE": ["U0CFO"], "S0LEADS": ["U0LEAD"]}
    groups[failing] = None  # Slack answers an error for this group
    slack = FlakySlack(groups)

    who = principal(slack, "U0CFO" if failing == "S0FINANCE" else "U0LEAD", catalog)

    assert who.groups_known is False
    action = the(catalog, "refund" if failing == "S0FINANCE" else "drop")
    decision = can_run(catalog, action, who)
    assert not decision
    assert decision.reason == GROUPS_UNKNOWN
    assert "try again in a minute" in refusal(catalog, action, who)
    # Rules that do not need groups are unaffected.
    assert refusal(catalog, the(catalog, "ping"), who) == ""


def test_unknown_groups_do_not_refuse_those_allowed_otherwise() -> None:
    catalog = groups_catalog()
    slack = FlakySlack({"S0FINANCE": None, "S0LEADS": None})
    friend = principal(slack, "U0FRIEND", catalog)
    assert not friend.groups_known
    assert refusal(catalog, the(catalog, "refund"), friend) == ""  # listed by user id
    admin = principal(slack, "U0ADMIN", catalog)
    assert refusal(catalog, the(catalog, "drop"), admin) == ""  # an admin by user id
