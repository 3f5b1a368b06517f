"""Server-side sessions: each login gets a row in user_sessions, named by a random token kept
in the signed session cookie. Flask-Login's user loader (accounts.access) admits a request only
while its row is open, younger than SESSION_MAX_SECONDS, and the cookie was used within
SESSION_IDLE_SECONDS: a copied cookie stops working at logout, at "log out everywhere", and
when the session expires."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from marketplace.accounts.models import User, UserSession
from marketplace.clock import utcnow

SESSION_KEYS = ("_sid", "_seen")
"""What this module keeps in the cookie session next to Flask-Login's keys: the token and the
unix time the session was last used."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, now: datetime | None = None) -> str:
    """Open a session for a user who just proved who they are; returns its token (for the
    cookie). Commits."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, token_hash=_hash(token), created_at=now or utcnow()))
    session.commit()
    return token


def session_is_open(
    session: Session, user_id: int, token: object, max_age: timedelta, now: datetime | None = None
) -> bool:
    """Whether `token` names an open session of this user started less than `max_age` ago."""
    if not isinstance(token, str) or not token or len(token) > 100 or not token.isascii():
        return False
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == _hash(token)).limit(1)
    ).first()
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return False
    # Compare in constant time too, though the look-up was by hash already.
    if not hmac.compare_digest(row.token_hash, _hash(token)):
        return False
    return (now or utcnow()) - row.created_at < max_age


def end_session(session: Session, token: object, now: datetime | None = None) -> None:
    """End one session (log out); a token naming no open session changes nothing. Commits."""
    if isinstance(token, str) and token:
        session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=now or utcnow())
        )
    session.commit()


def end_all_sessions(session: Session, user: User, now: datetime | None = None) -> int:
    """End every open session of a user ("log out everywhere"); returns how many. Commits."""
    ended = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
    session.commit()
    return int(getattr(ended, "rowcount", 0) or 0)


def open_session_count(session: Session, user: User) -> int:
    """How many sessions of the user are not ended (expired ones included)."""
    return len(
        session.scalars(
            select(UserSession.id).where(
                UserSession.user_id == user.id, UserSession.ended_at.is_(None)
            )
        ).all()
    )
