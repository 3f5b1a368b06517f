"""Accounts: people who log in, with one role each."""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model


class Role(enum.StrEnum):
    """What a user is on the platform; admins are only made from the CLI."""

    CREATOR = "creator"
    PARTICIPANT = "participant"
    ADMIN = "admin"


class User(UserMixin, Model):
    """A person who logs in: creator, participant (actor, writer, ...) or admin."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('creator', 'participant', 'admin')", name="role_known"),
        # Emails are stored lower-cased, so the plain unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_normalised"),
        # The languages the site speaks (marketplace.formatting.LANGUAGES); 0019_i18n.
        CheckConstraint("language IS NULL OR language IN ('en', 'es')", name="language_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.CREATOR.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the person lives (IANA name): every date they read is shown in it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # "en" or "es"; None: the browser's Accept-Language decides.
    language: Mapped[str | None] = mapped_column(String(8))

    def set_password(self, password: str) -> None:
        """Store a slow, salted hash (scrypt) of the password."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session (and remember cookie): the id and a keyed
        fingerprint of the password hash, so changing the password ends every other session
        (as Django's session auth hash does); see marketplace.accounts.access.load_user."""
        return f"{self.id}:{self.session_fingerprint()}"

    def session_fingerprint(self) -> str:
        """HMAC of the password hash under the app's SECRET_KEY (the cookie is readable)."""
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, (self.password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]

    def has_role(self, *roles: str) -> bool:
        """Whether this user holds one of the given roles."""
        return self.role in roles

    @property
    def is_admin(self) -> bool:
        """Admins approve payouts and manage partner apps."""
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class UserSession(Model):
    """One logged-in browser session, so it can be ended on the server: log out ends it, "log
    out everywhere" ends all of a user's, and none outlives SESSION_MAX_SECONDS.

    Fields: user_id; token_hash (SHA-256 of the random token kept in the signed session cookie:
    a database dump alone opens no session); created_at; ended_at (NULL while it may be used).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignupRequest(Model):
    """A sign-up waiting for its emailed link to be followed; the account is created then, so
    the sign-up page says the same whether the address has an account or not.

    Fields: email (normalised), role, display_name, password_hash (scrypt, as on users),
    next_path (where to go once confirmed), created_at, confirmed_at (NULL until used).
    """

    __tablename__ = "signup_requests"
    __table_args__ = (
        CheckConstraint("role IN ('creator', 'participant')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    next_path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
