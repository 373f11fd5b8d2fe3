"""What the MCP tools need from the bot: the REST API's operations, as plain JSON."""

from __future__ import annotations

from typing import Any, Protocol


class BackendError(Exception):
    """A refusal or failure, with the HTTP status the REST API would answer."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or {}


class Backend(Protocol):
    """The API as one agent (with its client's name) sees it: only `agents: true` actions."""

    async def list_actions(self, agent: str) -> list[dict[str, Any]]: ...

    async def describe_action(self, agent: str, action_id: str) -> dict[str, Any]: ...

    async def run_action(
        self, agent: str, action_id: str, body: dict[str, Any]
    ) -> dict[str, Any]: ...

    async def get_run(self, agent: str, run_id: str) -> dict[str, Any]: ...

    async def list_runs(self, agent: str, params: dict[str, Any]) -> dict[str, Any]: ...
