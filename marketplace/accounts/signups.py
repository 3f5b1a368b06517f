"""Sign-up by emailed link: the sign-up page answers the same whether or not the address has an
account (no enumeration). A new address gets a link that creates the account; an address that
has one gets a note instead (someone tried to sign up with it), so its owner learns of it."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from marketplace.accounts.models import Role, SignupRequest, User
from marketplace.accounts.services import MIN_PASSWORD_LENGTH, known_time_zone, normalise_email
from marketplace.clock import utcnow
from marketplace.errors import Conflict, NotFound, ServiceError
from marketplace.formatting import speaking
from marketplace.mail import queue_mail

SALT = "cliffhanger-signup"
LINK_MAX_AGE = 3 * 24 * 3600
"""How long a sign-up link works, in seconds."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _nonce(request: SignupRequest) -> str:
    return hashlib.sha256(request.password_hash.encode()).hexdigest()[:16]


def signup_token(request: SignupRequest) -> str:
    """The signed token of a sign-up request's link."""
    return _serializer().dumps({"r": request.id, "n": _nonce(request)})


def _link(path: str) -> str:
    return current_app.config["SERVER_NAME_FOR_LINKS"].rstrip("/") + path


def request_signup(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    display_name: str = "",
    next_path: str = "",
) -> str:
    """Check the form's values, then mail the address either a link that creates the account or,
    if it has one already, a note saying so. Returns the normalised address; commits."""
    normalised = normalise_email(email)
    if role not in {Role.CREATOR, Role.PARTICIPANT}:
        raise ServiceError(f"Unknown role {role!r}.", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field="password"
        )
    # Hash whichever way it goes: both answers take the same slow scrypt time.
    password_hash = generate_password_hash(password, method="scrypt")
    if session.scalar(select(User.id).where(User.email == normalised)) is not None:
        language = session.scalar(select(User.language).where(User.email == normalised))
        with speaking(language):
            subject = _("Someone tried to sign up to Cliffhanger with your address")
            body = _(
                "Someone, maybe you, tried to create a Cliffhanger account with this address.\n"
                "You already have one: log in at %(link)s\n\n"
                "If it was not you, there is nothing to do: no account was changed.",
                link=_link("/auth/login"),
            )
        queue_mail(session, to=normalised, subject=subject, body=body, kind="signup.exists")
    else:
        request = SignupRequest(
            email=normalised,
            role=str(role),
            display_name=display_name.strip()[:120],
            password_hash=password_hash,
            next_path=next_path[:500],
        )
        session.add(request)
        session.flush()
        queue_mail(
            session,
            to=normalised,
            # In the language of the page the person signed up on.
            subject=_("Finish creating your Cliffhanger account"),
            body=_(
                "Open this link to finish creating your Cliffhanger account:\n%(link)s\n\n"
                "It works for 3 days. If you did not ask for an account, ignore this email.",
                link=_link(f"/auth/confirm/{signup_token(request)}"),
            ),
            kind="signup.confirm",
        )
    session.commit()
    return normalised


def pending_signup(session: Session, token: str) -> SignupRequest:
    """The unused sign-up request a link names; NotFound for a bad, expired or used link."""
    try:
        claim = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise NotFound("This sign-up link has expired; sign up again.") from None
    except BadSignature:
        raise NotFound("No such sign-up link.") from None
    request_id = claim.get("r") if isinstance(claim, dict) else None
    request = session.get(SignupRequest, request_id) if isinstance(request_id, int) else None
    if request is None or claim.get("n") != _nonce(request) or request.confirmed_at is not None:
        raise NotFound("No such sign-up link, or it was used already.")
    return request


def confirm_signup(
    session: Session, token: str, now: datetime | None = None, time_zone: str | None = None
) -> User:
    """Create the account a sign-up link names (its owner just proved the address), in the
    browser's time zone when it sent a known one (else UTC); commits. Conflict when the
    address got an account meanwhile."""
    request = pending_signup(session, token)
    if session.scalar(select(User.id).where(User.email == request.email)) is not None:
        raise Conflict("This address has an account already: log in.", field="email")
    user = User(
        email=request.email,
        role=request.role,
        display_name=request.display_name,
        password_hash=request.password_hash,
        time_zone=known_time_zone(time_zone) or "UTC",
    )
    request.confirmed_at = now or utcnow()
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # the same address confirmed concurrently
        session.rollback()
        raise Conflict("This address has an account already: log in.", field="email") from None
    return user
