"""Partner apps and their API keys: creation, key rotation, secrets encrypted at rest.

A partner signs requests with HMAC-SHA256, so we must keep the secret itself (a hash would not
do). It is stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a
key derived from SECRET_KEY with HKDF-SHA256: a database dump alone reveals no secret. Changing
SECRET_KEY therefore invalidates every stored secret (rotate the keys afterwards).
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from babel.numbers import get_currency_name
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.clock import utcnow
from marketplace.errors import Conflict, NotFound, ServiceError
from marketplace.partners.contracts import first_contract
from marketplace.partners.models import PartnerApiKey, PartnerApp

DEFAULT_GRACE = timedelta(hours=24)
"""How long a rotated key keeps working by default (API_KEY_GRACE_HOURS), so partners can
deploy the new one."""

_CURRENCY = re.compile(r"[A-Z]{3}")


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"cliffhanger",
        info=b"partner api secrets v1",
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(secret: str, secret_key: str | None = None) -> str:
    """Encrypt a partner secret for storage (key derived from SECRET_KEY)."""
    return _fernet(secret_key or current_app.config["SECRET_KEY"]).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, secret_key: str | None = None) -> str | None:
    """Decrypt a stored partner secret; None if it was encrypted under another SECRET_KEY."""
    try:
        fernet = _fernet(secret_key or current_app.config["SECRET_KEY"])
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def _new_key(session: Session, partner: PartnerApp) -> tuple[str, str]:
    key_id = "ck_" + secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    session.add(
        PartnerApiKey(partner_id=partner.id, key_id=key_id, secret_encrypted=encrypt_secret(secret))
    )
    return key_id, secret


def _check_terms(name: str, currency: str, share_bps: int, hold_days: int) -> None:
    if not name.strip() or len(name.strip()) > 80:
        raise ServiceError("Give the partner app a name of 1 to 80 characters.", field="name")
    if not _CURRENCY.fullmatch(currency):
        raise ServiceError("Use a three-letter ISO 4217 code such as USD.", field="currency")
    if get_currency_name(currency, locale="en") == currency:
        raise ServiceError(f"{currency} is not a currency we know.", field="currency")
    if not 0 <= share_bps <= 10_000:
        raise ServiceError("The partner's share is 0 to 10000 basis points.", field="share_bps")
    if not 0 <= hold_days <= 365:
        raise ServiceError("The hold is 0 to 365 days.", field="hold_days")


def create_partner(
    session: Session,
    *,
    name: str,
    currency: str,
    share_bps: int,
    hold_days: int,
    actor: User | None = None,
) -> tuple[PartnerApp, str, str]:
    """Create a partner app with its first API key; returns (partner, key_id, secret).

    The secret is returned once and only stored encrypted; commits.
    """
    currency = currency.strip().upper()
    _check_terms(name, currency, share_bps, hold_days)
    if session.scalar(select(PartnerApp.id).where(PartnerApp.name == name.strip())):
        raise Conflict("A partner app with this name exists already.", field="name")
    partner = PartnerApp(
        name=name.strip(), currency=currency, share_bps=share_bps, hold_days=hold_days
    )
    session.add(partner)
    session.flush()
    session.add(first_contract(partner))
    key_id, secret = _new_key(session, partner)
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="partner.create",
        subject_type="partner_app",
        subject_id=partner.id,
        details={
            "name": partner.name,
            "currency": currency,
            "share_bps": share_bps,
            "hold_days": hold_days,
            "key_id": key_id,
        },
    )
    session.commit()
    return partner, key_id, secret


def rotation_grace() -> timedelta:
    """How long a rotated key keeps working: API_KEY_GRACE_HOURS (0: it stops at once)."""
    try:
        return timedelta(hours=current_app.config["API_KEY_GRACE_HOURS"])
    except (RuntimeError, KeyError):  # outside an app (scripts): the default
        return DEFAULT_GRACE


def rotate_key(
    session: Session,
    partner: PartnerApp,
    actor: User | None,
    now: datetime | None = None,
    grace: timedelta | None = None,
) -> tuple[str, str]:
    """Issue a new key; keys still valid now expire after the grace period (API_KEY_GRACE_HOURS
    unless `grace` is given). Returns (key_id, secret)."""
    now = now or utcnow()
    grace = rotation_grace() if grace is None else grace
    if grace < timedelta(0):
        raise ServiceError("The grace period cannot be negative.", field="grace")
    expiring = []
    for key in partner.keys:
        if key.revoked_at is None and (key.expires_at is None or key.expires_at > now):
            key.expires_at = min(key.expires_at or now + grace, now + grace)
            expiring.append(key.key_id)
    key_id, secret = _new_key(session, partner)
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="partner.rotate_key",
        subject_type="partner_app",
        subject_id=partner.id,
        details={"key_id": key_id, "expiring": expiring, "grace_hours": grace / timedelta(hours=1)},
    )
    session.commit()
    return key_id, secret


def revoke_key(
    session: Session, key_id: str, actor: User | None, *, reason: str, now: datetime | None = None
) -> PartnerApiKey:
    """Revoke a key at once (a leaked key): every request signed with it is refused from now
    on. Audit-logged with the reason; commits. NotFound for an unknown key, Conflict when it
    is revoked already."""
    reason = reason.strip()
    if not reason:
        raise ServiceError("Say why the key is revoked.", field="reason")
    key = session.scalars(
        select(PartnerApiKey).where(PartnerApiKey.key_id == key_id).with_for_update()
    ).first()
    if key is None:
        raise NotFound("No such API key.", field="key_id")
    if key.revoked_at is not None:
        raise Conflict("This key is revoked already.", field="key_id")
    key.revoked_at = now or utcnow()
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="partner.revoke_key",
        subject_type="partner_app",
        subject_id=key.partner_id,
        reason=reason[:500],
        details={"key_id": key.key_id},
    )
    session.commit()
    return key


def signing_secret(
    session: Session, key_id: str, now: datetime | None = None
) -> tuple[PartnerApp, str] | None:
    """The active partner app and decrypted secret of a key id, or None if unusable."""
    now = now or utcnow()
    key = session.scalars(
        select(PartnerApiKey).where(PartnerApiKey.key_id == key_id).limit(1)
    ).first()
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= now:
        return None
    partner = key.partner
    if not partner.active:
        return None
    secret = decrypt_secret(key.secret_encrypted)
    return (partner, secret) if secret is not None else None


def list_partners(session: Session) -> list[PartnerApp]:
    """Every partner app, by name."""
    return list(session.scalars(select(PartnerApp).order_by(PartnerApp.name)))
