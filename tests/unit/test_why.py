"""The explanation of a decision, rule by rule (pure: no Slack, no PagerDuty)."""

from __future__ import annotations

from bot.access import Principal
from bot.policy import CONDITION_FALSE, Plan
from bot.why import explain
from tests import samples
from tests.support import catalog_with, the


def lines(explanation: object) -> list[str]:
    return explanation.lines()  # type: ignore[attr-defined]


def test_a_draft_in_another_channel_for_an_outsider() -> None:
    catalog = catalog_with(
        samples.action(published=False, channels=["C0OPS"], access={"users": ["U0PAY"]})
    )
    found = explain(catalog, the(catalog), Principal("U0NOBODY"), channel="C0ELSE")
    assert not found.allowed
    assert lines(found) == [
        "<@U0NOBODY> may not run Do it (do-it).",
        "✗ access: you are not on this action's access list",
        "✗ channel: this action runs only in <#C0OPS>",
        "✗ draft: this action is a draft; only admins can run it",
        "✓ approval: not required",
    ]
    admin = explain(catalog, the(catalog), Principal("U0ADMIN"), channel="C0OPS")
    assert admin.allowed
    assert [s.decision.reason for s in admin.steps] == [
        "an admin",
        "asked in <#C0OPS>",
        "a draft, and admins may run drafts",
        "not required",
    ]


def test_approval_steps_follow_the_plan() -> None:
    approval = {"approvers": {"teams": ["search"], "on_call": {"schedule": "P1"}}}
    catalog = catalog_with(samples.action(approval=approval))
    action, who = the(catalog), Principal("U0PAY")
    skipped = explain(catalog, action, who, plan=Plan(needed=False, skipped=True))
    assert skipped.steps[-1].decision.reason == CONDITION_FALSE
    auto = explain(catalog, action, who, plan=Plan(needed=True, auto="{{ user.on_call }}"))
    assert auto.steps[-1].decision.reason == "auto-approved by the rule `{{ user.on_call }}`"
    plan = Plan(needed=True, approvers=["U0SAM"], sources={"on_call": ["U0SAM"]})
    asked = explain(catalog, action, who, plan=plan).steps[-1].decision
    assert asked and asked.reason == "needs 1 approval(s) from <@U0SEARCH>, on call <@U0SAM>"
    failed = Plan(needed=True, failed={"on_call": "PagerDuty answered HTTP 500"})
    partly = explain(catalog, action, who, plan=failed).steps[-1].decision
    assert partly.reason.endswith("; on call could not be resolved (PagerDuty answered HTTP 500)")
    # The only approver is the requester, who may not approve their own run.
    alone = explain(catalog, action, Principal("U0SEARCH"), plan=failed)
    assert not alone.allowed
    assert alone.steps[-1].decision.reason.startswith("no one could be found to approve it")


def test_service_owners_access_names_the_service() -> None:
    catalog = catalog_with(samples.action(scope="service", access="service_owners"))
    ledger = catalog.service("ledger")
    found = explain(catalog, the(catalog), Principal("U0SEARCH"), service=ledger)
    assert found.steps[0].decision.reason == "only the team that owns *Ledger* can run this action"
    assert explain(catalog, the(catalog), Principal("U0PAY"), service=ledger).allowed
