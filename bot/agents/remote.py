"""The backend of `python -m bot mcp`: a running bot's REST API, as ACTIONS_API_TOKEN."""

from __future__ import annotations

from typing import Any

import httpx

from bot.agents.backend import BackendError

AGENT_HEADER = "X-Actions-Agent"


class RemoteBackend:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    async def _call(self, agent: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", AGENT_HEADER: agent or "mcp"}
        async with httpx.AsyncClient(base_url=self.url, timeout=self.timeout) as client:
            try:
                response = await client.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise BackendError(503, f"the bot at {self.url} cannot be reached: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            raise BackendError(response.status_code, f"HTTP {response.status_code}") from None
        if response.status_code >= 400:
            detail = data.get("detail") or data.get("title") if isinstance(data, dict) else None
            errors = data.get("errors") if isinstance(data, dict) else None
            raise BackendError(response.status_code, str(detail or response.status_code), errors)
        return data if isinstance(data, dict) else {"result": data}

    async def list_actions(self, agent: str) -> list[dict[str, Any]]:
        return list((await self._call(agent, "GET", "/api/v1/actions")).get("actions") or [])

    async def describe_action(self, agent: str, action_id: str) -> dict[str, Any]:
        return await self._call(agent, "GET", f"/api/v1/actions/{_segment(action_id)}")

    async def run_action(self, agent: str, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/v1/actions/{_segment(action_id)}/runs"
        return await self._call(agent, "POST", path, json=body)

    async def get_run(self, agent: str, run_id: str) -> dict[str, Any]:
        return await self._call(agent, "GET", f"/api/v1/runs/{_segment(run_id)}")

    async def list_runs(self, agent: str, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call(agent, "GET", "/api/v1/runs", params=params)


def _segment(value: str) -> str:
    """An id as one path segment: nothing an agent passes may walk elsewhere."""
    return httpx.URL("/" + value.replace("/", "%2F")).raw_path.decode()[1:]
