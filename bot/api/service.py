"""What the REST API and the MCP server do, for one caller: list and describe actions,
start, read, list and cancel runs. Every start goes through the one admission.

Errors are `ApiProblem`s carrying their HTTP status; handlers turn them into
`application/problem+json`, the MCP server into tool errors.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from bot import options, templates
from bot.access import Decision, can_run, is_admin
from bot.admission import NOT_FOR_AGENTS, NOT_OVER_API, Refusal, Refused, Request, Via
from bot.api import models, views
from bot.api.schema import form_values, inputs_schema, unknown_inputs
from bot.catalog import Action, Catalog
from bot.kinds import RunStatus, Scope
from bot.runs import Submission
from bot.runtime import Runtime
from bot.store import Run
from bot.tokens import Caller

REFUSAL_STATUS = {
    Refusal.GONE: 404,
    Refusal.ACCESS: 403,
    Refusal.FORM: 422,
    Refusal.INPUTS: 422,
    Refusal.RATE_LIMIT: 429,
}
NO_RUN = "No such run, or it is not yours to see."
MAX_KEY = 200


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.retry_after = errors, retry_after

    def problem(self) -> models.Problem:
        return models.Problem(
            title=self.title, status=self.status, detail=self.detail, errors=self.errors
        )


def need(caller: Caller, scope: Scope) -> None:
    if not caller.may(scope):
        raise ApiProblem(403, "Missing scope", f"this token lacks the {scope.value} scope")


class Api:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _offered(self, catalog: Catalog, action: Action, admin: bool, agent: str | None) -> bool:
        if not action.api or (agent is not None and not action.agents):
            return False
        return action.published or admin

    async def _who(self, caller: Caller, catalog: Catalog) -> Any:
        return await self.runtime.directory.principal(caller.user_id, catalog)

    async def actions(self, caller: Caller, agent: str | None = None) -> models.ActionList:
        need(caller, Scope.ACTIONS_READ)
        catalog = self.runtime.catalog()
        who = await self._who(caller, catalog)
        admin = is_admin(catalog, who)
        found = [
            views.summary(catalog, action, can_run(catalog, action, who))
            for action in catalog.actions.values()
            if self._offered(catalog, action, admin, agent)
        ]
        return models.ActionList(actions=found)

    async def _action(self, caller: Caller, action_id: str, agent: str | None) -> Action:
        catalog = self.runtime.catalog()
        action = catalog.action(action_id)
        who = await self._who(caller, catalog)
        if action is None or not self._offered(catalog, action, is_admin(catalog, who), agent):
            raise ApiProblem(404, "Unknown action", f"no action {action_id[:64]!r} here")
        return action

    async def action(
        self, caller: Caller, action_id: str, agent: str | None = None
    ) -> models.ActionDetail:
        need(caller, Scope.ACTIONS_READ)
        action = await self._action(caller, action_id, agent)
        catalog = self.runtime.catalog()
        decision = can_run(catalog, action, await self._who(caller, catalog))
        base = views.summary(catalog, action, decision)
        return models.ActionDetail(**base.model_dump(), inputs_schema=inputs_schema(action))

    async def options(
        self, caller: Caller, action_id: str, identifier: str, query: str, service: str | None
    ) -> models.OptionList:
        need(caller, Scope.ACTIONS_READ)
        action = await self._action(caller, action_id, None)
        item = action.input(identifier)
        if item is None or not item.has_options:
            raise ApiProblem(404, "Unknown input", f"{action.id} has no input {identifier[:64]!r}")
        catalog = self.runtime.catalog()
        profile = await self.runtime.directory.profile(caller.user_id)
        user = {"id": caller.user_id, "name": profile.get("name"), "email": profile.get("email")}
        chosen = catalog.service(service) if service else None
        try:
            found = await self.runtime.options.search(
                catalog, action, item, query[:200], values={}, user=user, service=chosen
            )
        except (options.OptionsError, templates.TemplateError) as exc:
            raise ApiProblem(502, "Options unavailable", str(exc)) from None
        items = [models.OptionItem(value=o.value, label=o.label) for o in found]
        return models.OptionList(options=items)

    async def start(
        self,
        caller: Caller,
        action_id: str,
        body: models.RunRequest,
        key: str | None = None,
        agent: str | None = None,
    ) -> tuple[models.RunOut, bool]:
        """Start a run (or find the one this idempotency key started): (run, created)."""
        need(caller, Scope.RUNS_WRITE)
        if key is not None and not 0 < len(key) <= MAX_KEY:
            raise ApiProblem(422, "Bad Idempotency-Key", f"use 1 to {MAX_KEY} characters")
        fingerprint = _fingerprint(action_id, body, agent)
        stored_key = f"api:{caller.user_id}:{key}" if key else None
        if stored_key:
            earlier = await self._replay(stored_key, fingerprint)
            if earlier is not None:
                return earlier, False
        catalog = self.runtime.catalog()
        action = catalog.action(action_id)
        unknown = unknown_inputs(action, body.inputs) if action else {}
        verdict = await self.runtime.admission.admit(
            Request(
                action_id=action_id,
                user_id=caller.user_id,
                via=Via.MCP if agent is not None else Via.API,
                service_id=body.service,
                channel_id=body.channel,
                inputs=form_values(action, body.inputs) if action else {},
            )
        )
        if isinstance(verdict, Refused) or unknown:
            raise await self._refused(caller, action_id, verdict, unknown)
        profile = await self.runtime.directory.profile(caller.user_id)
        origin = {"via": "mcp" if agent is not None else "api", "token": caller.token_name}
        if agent is not None:
            origin["agent"] = agent[:75] or "an MCP client"
        run = await self.runtime.runner.submit(
            Submission(
                action=verdict.action,
                user_id=caller.user_id,
                user_name=str(profile.get("name") or ""),
                channel_id=body.channel,
                inputs=verdict.inputs,
                service=verdict.service,
                idempotency_key=stored_key,
                needs_approval=verdict.needs_approval,
                plan=verdict.plan,
                thread_ts=body.thread_ts,  # with a channel: the model refuses it alone
                origin={**origin, "request": fingerprint},
            )
        )
        if run is None:  # the same key, a moment ago, from a concurrent request
            assert stored_key is not None
            earlier = await self._replay(stored_key, fingerprint)
            if earlier is None:
                raise ApiProblem(409, "Conflict", "try again")
            return earlier, False
        return await self._out(run), True

    async def _replay(self, key: str, fingerprint: str) -> models.RunOut | None:
        run = await asyncio.to_thread(self.runtime.store.run_by_key, key)
        if run is None:
            return None
        if (run.origin or {}).get("request") != fingerprint:
            raise ApiProblem(
                409,
                "Idempotency-Key reused",
                "this Idempotency-Key was used with a different request; use a new key",
            )
        return await self._out(run)

    async def _refused(
        self, caller: Caller, action_id: str, verdict: Any, unknown: dict[str, str]
    ) -> ApiProblem:
        if not isinstance(verdict, Refused):
            return ApiProblem(422, "Invalid inputs", "unknown inputs", unknown)
        if verdict.kind == Refusal.GONE and verdict.reason not in (NOT_OVER_API, NOT_FOR_AGENTS):
            return ApiProblem(404, "Unknown action", verdict.reason)
        if verdict.kind == Refusal.ACCESS:
            await self.runtime.runner.refuse(action_id, caller.user_id, verdict.decision, "api")
        errors = {**verdict.errors, **unknown} or None
        status = REFUSAL_STATUS[verdict.kind]
        title = {403: "Not allowed", 404: "Unknown action", 429: "Too many runs"}.get(
            status, "Invalid inputs"
        )
        return ApiProblem(status, title, verdict.reason, errors, verdict.retry_after)

    async def _visible_run(self, caller: Caller, run_id: str) -> Run:
        run = await asyncio.to_thread(self.runtime.store.get_run, run_id[:36])
        if run is None or run.is_test:
            raise ApiProblem(404, "Unknown run", NO_RUN)
        if run.user_id != caller.user_id:
            catalog = self.runtime.catalog()
            if not is_admin(catalog, await self._who(caller, catalog)):
                raise ApiProblem(404, "Unknown run", NO_RUN)
        return run

    async def run(self, caller: Caller, run_id: str) -> models.RunOut:
        need(caller, Scope.RUNS_READ)
        return await self._out(await self._visible_run(caller, run_id))

    async def runs(
        self,
        caller: Caller,
        *,
        action: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> models.RunPage:
        """The caller's runs (an admin's: everyone's), newest first, a page at a time."""
        need(caller, Scope.RUNS_READ)
        catalog = self.runtime.catalog()
        admin = is_admin(catalog, await self._who(caller, catalog))
        if status is not None and status not in {s.value for s in RunStatus}:
            raise ApiProblem(422, "Invalid filter", "unknown status", {"status": "unknown status"})
        before = _decode(cursor) if cursor else None
        found = await asyncio.to_thread(
            self.runtime.store.runs_page,
            action_id=action,
            user_id=None if admin else caller.user_id,
            status=status,
            since=since,
            before=before,
            limit=limit + 1,
        )
        page = found[:limit]
        more = _encode(page[-1]) if len(found) > limit and page else None
        return models.RunPage(runs=[await self._out(r) for r in page], next_cursor=more)

    async def cancel(self, caller: Caller, run_id: str) -> models.RunOut:
        """Cancel a queued run, or withdraw one waiting for approval."""
        need(caller, Scope.RUNS_WRITE)
        run = await self._visible_run(caller, run_id)
        catalog = self.runtime.catalog()
        who = await self._who(caller, catalog)
        decision = _canceller(catalog, who, run, caller.user_id)
        if not decision:
            raise ApiProblem(403, "Not allowed", decision.reason)
        if run.status == RunStatus.PENDING_APPROVAL:
            why = await self.runtime.runner.approvals.withdraw(run, caller.user_id)
        else:
            why = await self.runtime.runner.cancel(run.id, caller.user_id)
        if why is not None:
            raise ApiProblem(409, "Cannot cancel", f"this run can't be cancelled: {why}")
        return await self.run(caller, run.id)

    async def _out(self, run: Run) -> models.RunOut:
        store = self.runtime.store
        decisions = await asyncio.to_thread(store.decisions, run.id)
        events = await asyncio.to_thread(store.events, run.id)
        return views.run_out(run, decisions, events)


def _canceller(catalog: Catalog, who: Any, run: Run, user_id: str) -> Decision:
    """As the Cancel button: the person who started it or an admin; a revert, admins."""
    admin = is_admin(catalog, who)
    if run.user_id != user_id and not admin:
        return Decision(False, "only the person who started a run, or an admin, can cancel it")
    if run.kind == "revert" and not admin:
        return Decision(False, "a revert undoes what the run granted; only an admin can stop it")
    return Decision(True)


def _fingerprint(action_id: str, body: models.RunRequest, agent: str | None) -> str:
    canonical = json.dumps(
        [action_id, body.model_dump(mode="json"), agent], sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _encode(run: Run) -> str:
    raw = json.dumps([run.created_at.isoformat(), run.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, run_id = json.loads(raw)
        moment = datetime.fromisoformat(stamp)
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC), str(run_id)[:36]
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise ApiProblem(
            422, "Invalid cursor", "pass next_cursor as it was given", {"cursor": "invalid"}
        ) from None
