"""The in-process backend of `/mcp`: the REST API's operations for one token's caller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bot.agents.backend import BackendError
from bot.api import models
from bot.api.service import Api, ApiProblem
from bot.tokens import Caller


class LocalBackend:
    def __init__(self, api: Api, caller: Caller) -> None:
        self.api = api
        self.caller = caller

    async def list_actions(self, agent: str) -> list[dict[str, Any]]:
        found = await _guard(self.api.actions(self.caller, agent))
        return [a.model_dump(mode="json") for a in found.actions]

    async def describe_action(self, agent: str, action_id: str) -> dict[str, Any]:
        found = await _guard(self.api.action(self.caller, action_id, agent))
        return found.model_dump(mode="json")

    async def run_action(self, agent: str, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            request = models.RunRequest.model_validate(body)
        except ValidationError as exc:
            errors = {".".join(map(str, e["loc"])) or "body": e["msg"] for e in exc.errors()}
            raise BackendError(422, "the arguments do not match the schema", errors) from None
        run, _ = await _guard(self.api.start(self.caller, action_id, request, agent=agent))
        return run.model_dump(mode="json")

    async def get_run(self, agent: str, run_id: str) -> dict[str, Any]:
        return (await _guard(self.api.run(self.caller, run_id))).model_dump(mode="json")

    async def list_runs(self, agent: str, params: dict[str, Any]) -> dict[str, Any]:
        since = params.get("since")
        try:
            moment = datetime.fromisoformat(since) if isinstance(since, str) else None
            if moment is not None:
                moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
        except (ValueError, OverflowError):
            raise BackendError(422, "since: expected an ISO 8601 time") from None
        limit = params.get("limit")
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 20
        page = await _guard(
            self.api.runs(
                self.caller,
                action=params.get("action"),
                status=params.get("status"),
                since=moment,
                cursor=params.get("cursor"),
                limit=limit,
            )
        )
        return page.model_dump(mode="json")


async def _guard(work: Any) -> Any:
    try:
        return await work
    except ApiProblem as problem:
        raise BackendError(
            problem.status, problem.detail or problem.title, problem.errors
        ) from None
