"""Use cases for user accounts: sign-up, authentication, password changes, admin creation."""

from __future__ import annotations

import secrets
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.accounts.models import Role, User
from marketplace.errors import Conflict, ServiceError
from marketplace.formatting import LANGUAGES

MIN_PASSWORD_LENGTH = 10


def normalise_email(raw: str) -> str:
    """Validate an address's shape and return it lower-cased (unique case-insensitively)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ServiceError(str(error), field="email") from None
    return result.normalized.lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with this address, whatever its case, or None."""
    try:
        normalised = normalise_email(email)
    except ServiceError:
        return None
    return session.scalar(select(User).where(User.email == normalised))


def register_user(
    session: Session, *, email: str, password: str, role: str = Role.CREATOR, display_name: str = ""
) -> User:
    """Create an account; refuses duplicates (any case) and weak passwords."""
    normalised = normalise_email(email)
    if role not in {Role.CREATOR, Role.PARTICIPANT, Role.ADMIN}:
        raise ServiceError(f"Unknown role {role!r}.", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field="password"
        )
    if session.scalar(select(User.id).where(User.email == normalised)) is not None:
        raise Conflict("An account with this email already exists.", field="email")
    user = User(email=normalised, role=str(role), display_name=display_name.strip())
    user.set_password(password)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # a concurrent sign-up won the race
        session.rollback()
        raise Conflict("An account with this email already exists.", field="email") from None
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A scrypt hash of a random password, checked when the email is unknown."""
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user if the credentials match; None otherwise (callers give one generic error).

    An unknown email still costs one scrypt check (against a dummy hash), so the answer takes
    as long as for a known email with a wrong password: timing does not tell which emails have
    accounts."""
    user = find_user_by_email(session, email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password):
        return None
    return user


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Replace the password after checking the current one."""
    if not user.check_password(current):
        raise ServiceError("The current password is not correct.", field="current_password")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field="new_password"
        )
    user.set_password(new)
    session.commit()


def known_time_zone(name: str | None) -> str | None:
    """The IANA time zone name if it is one ("Asia/Manila"), else None."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def update_settings(session: Session, user: User, *, time_zone: str, language: str) -> None:
    """Set the person's time zone and language ("" = the browser's); commits."""
    if known_time_zone(time_zone) is None:
        raise ServiceError("Choose a time zone from the list.", field="time_zone")
    if language and language not in LANGUAGES:
        raise ServiceError("Choose a language from the list.", field="language")
    user.time_zone = time_zone
    user.language = language or None
    session.commit()
