"""Concurrency locks around a delivery: a run sends only while it holds a slot of its key.

The key is the action's `concurrency.key`, rendered with the run's request; actions of
one `concurrency.group` share their keys. The slot is taken in the database
(bot/store/locks.py) when the delivery starts and freed when the run ends, however it
ends. `queue` waits its turn; `refuse` ends the run (the form refused it already when
the key was busy at submission; this is the race two replicas may still run).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot import templates
from bot.catalog import Action, Catalog, Concurrency, Service
from bot.jobs import Retry
from bot.kinds import RunKind, RunStatus
from bot.outcomes import Outcome
from bot.runs.context import Context, Loaded
from bot.store import Job
from bot.store.locks import Holder
from bot.store.models import utcnow

log = logging.getLogger(__name__)

WAIT_POLL = 5.0  # seconds; a freed slot wakes the waiting runs at once, this is a fallback


async def key_of(
    settings_secrets: Mapping[str, str],
    catalog: Catalog,
    action: Action,
    rule: Concurrency,
    *,
    user: Mapping[str, Any],
    inputs: Mapping[str, Any],
    service: Service | None,
) -> tuple[str, str]:
    """(the key in the database, the key as people read it); raises TemplateError."""
    context = templates.request_context(
        catalog=catalog, action=action, user=user, inputs=inputs, service=service, run_id=""
    )
    label = (await templates.render(rule.key, context, settings_secrets)).strip()[:200]
    return f"{rule.scope(action.id)}:{label}", label


def busy_text(holders: list[Holder], mention: str, label: str) -> str:
    """Who holds the key; the first holder's link, if its status message has one."""
    first = holders[0] if holders else None
    link = f" ({first.permalink})" if first and first.permalink else ""
    return f"the run by {mention} on {label}{link}"


async def gate(ctx: Context, job: Job, loaded: Loaded, action: Action) -> bool:
    """True: the run holds its slot (or needs none) and may be sent. False: it was
    refused and has ended. Raises Retry while it waits its turn."""
    rule, run = action.concurrency, loaded.run
    if rule is None or run.kind != RunKind.RUN:  # a revert must never wait behind a run
        return True
    user = {"id": run.user_id, "name": run.user_name}
    try:
        key, label = await key_of(
            ctx.settings.template_secrets,
            loaded.catalog,
            action,
            rule,
            user=user,
            inputs=run.inputs,
            service=loaded.service,
        )
    except templates.TemplateError as exc:
        outcome = Outcome(False, f"Not sent: the concurrency key failed: {exc}", error="lock")
        await ctx.finish(run, outcome, RunStatus.FAILURE, job.data.get("view_id"))
        return False
    lease = ctx.settings.JOB_LEASE_SECONDS
    holders = await ctx.db(
        ctx.store.take_lock, run.id, key, label, rule.limit, run.created_at, lease
    )
    if holders is None:
        return True
    if not holders:  # a slot went to another run of the queue a moment ago: ask again
        raise Retry(0.5, f"waiting for {label}", counts=False)
    who = busy_text(holders, ctx.notifier.mention(holders[0].user_id), label)
    if rule.when_busy == "refuse":
        outcome = Outcome(False, f"Not sent: {label} is busy with {who}.", error="busy")
        await ctx.finish(run, outcome, RunStatus.FAILURE, job.data.get("view_id"))
        return False
    data = dict(job.data)
    if not data.get("waiting"):
        data["waiting"] = True
        await ctx.post(run, f"Waiting for {who}.")
        await ctx.record("lock_waiting", {"key": label, "holder": holders[0].run_id}, run_id=run.id)
    raise Retry(WAIT_POLL, f"waiting for {label}", data, counts=False)


async def keep_through(ctx: Context, run_id: str, delay: float) -> None:
    """A holder waiting to retry its delivery keeps its slot until then."""
    until = utcnow() + timedelta(seconds=delay + ctx.settings.JOB_LEASE_SECONDS)
    await ctx.db(ctx.store.hold_lock, run_id, until)
