"""Personal API tokens: made, checked and described; stored only as a keyed hash.

A token is `act_` and 32 random bytes in base62. The database keeps HMAC-SHA256 of it
under API_TOKEN_KEY, so a copy of the database lets no one call the API. Lookups go by
that hash (an index), then the digests are compared in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.access import Principal, is_admin
from bot.catalog import Catalog
from bot.kinds import Scope
from bot.settings import Settings
from bot.store import Store
from bot.store.models import ApiToken, utcnow

PREFIX = "act_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_BYTES = 32
DEFAULT_EXPIRY = timedelta(days=90)
MAX_EXPIRY = timedelta(days=365)
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{40,60}}$")


class TokenError(ValueError):
    """A token request that cannot be honoured; the message says why."""


def new_secret() -> str:
    number = int.from_bytes(secrets.token_bytes(RANDOM_BYTES), "big")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    # 32 bytes need at most 43 base62 digits: pad so every token has the same length.
    return PREFIX + "".join(reversed(digits)).rjust(43, "0")


def token_key(settings: Settings) -> bytes:
    """API_TOKEN_KEY; else a key derived from the webhook or Slack signing secret."""
    base = settings.API_TOKEN_KEY or settings.webhook_secret or settings.SLACK_SIGNING_SECRET
    if not base:
        raise TokenError("set API_TOKEN_KEY (or WEBHOOK_SIGNING_SECRET) to use API tokens")
    if settings.API_TOKEN_KEY:
        return base.encode()
    return hmac.new(base.encode(), b"actions api token key", hashlib.sha256).digest()


def digest(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def parse_expiry(value: str | None) -> timedelta:
    """`30d`, `12h`, `4w`, `1y`; none: 90 days. At most one year."""
    if not value:
        return DEFAULT_EXPIRY
    found = re.fullmatch(r"\s*([1-9][0-9]{0,4})\s*([hdwy])\s*", value)
    if not found:
        raise TokenError(f"expiry {value!r}: expected a duration such as 30d, 12h, 4w or 1y")
    span = timedelta(seconds=int(found[1]) * _UNITS[found[2]])
    if span > MAX_EXPIRY:
        raise TokenError("a token expires in at most one year (365d)")
    return span


def parse_scopes(values: Iterable[str]) -> list[str]:
    chosen = [v.strip() for value in values for v in value.split(",") if v.strip()]
    known = {s.value for s in Scope}
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise TokenError(f"unknown scope {unknown[0]!r}; use {', '.join(sorted(known))}")
    if not chosen:
        raise TokenError("choose at least one scope")
    return sorted(set(chosen))


@dataclass(frozen=True)
class Caller:
    """Who a request acts for: the token's user, with the token's name and scopes."""

    token_id: str
    token_name: str
    user_id: str
    scopes: frozenset[str]

    def may(self, scope: Scope) -> bool:
        return scope.value in self.scopes


Profiles = Callable[[str], Awaitable[Mapping[str, Any]]]


class Tokens:
    def __init__(self, settings: Settings, store: Store, profiles: Profiles) -> None:
        self.settings = settings
        self.store = store
        self.profiles = profiles  # Slack's users.info, cached briefly by the directory

    def create(
        self, *, user_id: str, name: str, scopes: Iterable[str], expires: str | None, by: str
    ) -> tuple[str, ApiToken]:
        """A new token: its value (shown once) and its stored row."""
        name = name.strip()
        if not name or len(name) > 75:
            raise TokenError("a token needs a name of 1 to 75 characters")
        if not re.fullmatch(r"[UW][A-Z0-9]{2,31}", user_id):
            raise TokenError(f"user {user_id!r}: expected a Slack user id such as U012ABC")
        span = parse_expiry(expires)
        value = new_secret()
        row = ApiToken(
            user_id=user_id,
            name=name,
            scopes=parse_scopes(scopes),
            hash=digest(token_key(self.settings), value),
            created_by=by,
            expires_at=utcnow() + span,
        )
        return value, self.store.create_token(row)

    async def authenticate(self, offered: str, what: str) -> Caller | None:
        """The caller behind a bearer token, or None: unknown, expired, revoked, or its
        user has left the workspace. Checked on every request."""
        if not _SHAPE.fullmatch(offered):
            return None
        wanted = digest(token_key(self.settings), offered)
        row = await asyncio.to_thread(self.store.token_by_hash, wanted)
        if row is None or not hmac.compare_digest(row.hash, wanted):
            return None
        if row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        profile = await self.profiles(row.user_id)
        if profile.get("deleted"):
            return None
        await asyncio.to_thread(self.store.token_used, row.id, what)
        return Caller(row.id, row.name, row.user_id, frozenset(row.scopes))


def may_revoke(catalog: Catalog, who: Principal, token: ApiToken | None) -> bool:
    """The owner revokes their own token; an admin any token."""
    return token is not None and (token.user_id == who.user_id or is_admin(catalog, who))


def describe(token: ApiToken, now: datetime | None = None) -> str:
    """One line about a token for people: never its value."""
    now = now or utcnow()
    if token.revoked_at is not None:
        state = f"revoked {token.revoked_at:%Y-%m-%d}"
    elif token.expires_at <= now:
        state = f"expired {token.expires_at:%Y-%m-%d}"
    else:
        state = f"expires {token.expires_at:%Y-%m-%d}"
    used = (
        f"last used {token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never used"
    )
    return f"{', '.join(token.scopes)} · {state} · {used}"
