"""API tokens: created, found by their keyed hash, used, revoked; each change audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.models import ApiToken, AuditEvent, utcnow

# A token's use is audited at most this often (every request would drown the log);
# runs it starts are audited on their own, with the token's name.
USE_AUDIT_EVERY = timedelta(minutes=10)


def _detail(token: ApiToken, **extra: Any) -> dict[str, Any]:
    """What the audit log says about a token: never the token or its hash."""
    return {"token_id": token.id, "name": token.name, "user": token.user_id, **extra}


class TokenRepository(Database):
    def create_token(self, token: ApiToken) -> ApiToken:
        with self.session() as session:
            session.add(token)
            session.add(
                AuditEvent(
                    kind="token_created",
                    actor=token.created_by,
                    detail=_detail(
                        token, scopes=token.scopes, expires_at=token.expires_at.isoformat()
                    ),
                )
            )
            session.commit()
            session.refresh(token)
            return token

    def token_by_hash(self, digest: str) -> ApiToken | None:
        with self.session() as session:
            return session.exec(select(ApiToken).where(ApiToken.hash == digest)).first()

    def get_token(self, token_id: str) -> ApiToken | None:
        with self.session() as session:
            return session.get(ApiToken, token_id)

    def tokens(self, user_id: str | None = None, limit: int = 200) -> list[ApiToken]:
        """Tokens newest first, a user's or everyone's; revoked ones included."""
        query = select(ApiToken).order_by(col(ApiToken.created_at).desc()).limit(limit)
        if user_id:
            query = query.where(ApiToken.user_id == user_id)
        with self.session() as session:
            return list(session.exec(query))

    def token_used(self, token_id: str, what: str, now: datetime | None = None) -> None:
        """Note the token's last use; audit it when the last audited use is old enough."""
        now = now or utcnow()
        with self.session() as session:
            token = session.get(ApiToken, token_id)
            if token is None:
                return
            previous = token.last_used_at
            token.last_used_at = now
            session.add(token)
            if previous is None or now - previous >= USE_AUDIT_EVERY:
                session.add(
                    AuditEvent(
                        kind="token_used", actor=token.user_id, detail=_detail(token, request=what)
                    )
                )
            session.commit()

    def revoke_token(self, token_id: str, by: str) -> ApiToken | None:
        """Revoke a live token; None when it is unknown or already revoked."""
        with self.session() as session:
            token = session.get(ApiToken, token_id)
            if token is None or token.revoked_at is not None:
                return None
            token.revoked_at = utcnow()
            token.revoked_by = by
            session.add(token)
            session.add(AuditEvent(kind="token_revoked", actor=by, detail=_detail(token)))
            session.commit()
            session.refresh(token)
            return token
