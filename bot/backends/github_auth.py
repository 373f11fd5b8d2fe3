"""GitHub credentials: a token, or a GitHub App's installation tokens.

An App signs a short JWT (RS256: iat, exp, iss) with its private key, finds the
installation on the repository, and exchanges the JWT for an installation token, kept
until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import jwt

from bot.backends.api import Api, problem

ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"
REFRESH_BEFORE = 300.0  # seconds: mint a new token this long before the old one expires


def base_headers() -> dict[str, str]:
    return {"Accept": ACCEPT, "X-GitHub-Api-Version": API_VERSION}


def app_jwt(app_id: str, private_key: str, now: float | None = None) -> str:
    """The App's JWT: backdated a minute for clock drift, valid nine minutes."""
    now = int(time.time() if now is None else now)
    claims = {"iat": now - 60, "exp": now + 540, "iss": app_id}
    return jwt.encode(claims, private_key, algorithm="RS256")


@dataclass
class _Minted:
    token: str
    expires_at: float


class GitHubAuth:
    """The Authorization header for calls on a repository."""

    def __init__(self, api: Api, token: str = "", app_id: str = "", private_key: str = "") -> None:
        self.api = api
        self.token = token
        self.app_id = app_id
        self.private_key = private_key
        self._minted: dict[str, _Minted] = {}  # by repository owner
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.app_id and self.private_key))

    async def headers(self, repo: str) -> dict[str, str]:
        if self.app_id and self.private_key:
            return {**base_headers(), "Authorization": f"Bearer {await self._installation(repo)}"}
        if self.token:
            return {**base_headers(), "Authorization": f"Bearer {self.token}"}
        return base_headers()

    async def _installation(self, repo: str) -> str:
        owner = repo.split("/")[0].lower()
        async with self._lock:  # one exchange at a time, then everyone reuses its token
            minted = self._minted.get(owner)
            if minted and minted.expires_at - REFRESH_BEFORE > time.time():
                return minted.token
            bearer = {**base_headers(), "Authorization": f"Bearer {self._jwt()}"}
            found = await self.api.call("GET", f"/repos/{repo}/installation", bearer)
            if found.status != 200 or not isinstance(found.body, dict):
                raise problem(found, f"finding the GitHub App's installation on {repo}")
            path = f"/app/installations/{found.body.get('id')}/access_tokens"
            answer = await self.api.call("POST", path, bearer)
            if answer.status != 201 or not isinstance(answer.body, dict):
                raise problem(answer, "minting an installation token")
            token = str(answer.body.get("token") or "")
            self._minted[owner] = _Minted(token, _expiry(answer.body.get("expires_at")))
            return token

    def _jwt(self) -> str:
        return app_jwt(self.app_id, self.private_key)


def _expiry(text: object) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time() + 600.0  # unknown: assume a short life, mint again soon
