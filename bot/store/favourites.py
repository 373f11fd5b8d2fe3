"""The actions each user starred."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.models import Favourite

MAX_FAVOURITES = 50  # a catalog's first page holds no more than this anyway


class FavouriteRepository(Database):
    """Per-user favourite actions, by action id."""

    def favourites(self, user_id: str) -> list[str]:
        """The user's favourite action ids, newest first."""
        query = (
            select(Favourite.action_id)
            .where(Favourite.user_id == user_id)
            .order_by(col(Favourite.created_at).desc())
            .limit(MAX_FAVOURITES)
        )
        with self.session() as session:
            return list(session.exec(query))

    def toggle_favourite(self, user_id: str, action_id: str) -> bool:
        """Star or unstar an action; True when it is now a favourite."""
        with self.session() as session:
            found = session.get(Favourite, (user_id, action_id))
            if found is not None:
                session.delete(found)
                session.commit()
                return False
            session.add(Favourite(user_id=user_id, action_id=action_id))
            try:
                session.commit()
            except IntegrityError:  # a double click raced us: it is starred either way
                session.rollback()
            return True
