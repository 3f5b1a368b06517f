"""Tax profiles: submitting a W-9 or W-8BEN, reading one back, and the withholding each
payee's profile calls for (the payout batch builder asks for all of them at once)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.clock import utcnow
from marketplace.errors import Label, ServiceError
from marketplace.tax import rules
from marketplace.tax.models import TaxProfile
from marketplace.tax.tin_vault import seal_tin


@dataclass(frozen=True)
class W9:
    """A W-9 as submitted: legal name, TIN type (SSN, ITIN, EIN) and TIN, address (its
    country), the certification (given or not) and the name signed."""

    legal_name: str
    tin_type: str
    tin: str
    address: str
    address_country: str
    certified: bool
    signed_name: str


@dataclass(frozen=True)
class W8BEN:
    """A W-8BEN as submitted: legal name, country of residence, foreign TIN, permanent
    address (its country), an optional treaty claim (country, article, rate in percent) for
    royalties, the certification and the name signed."""

    legal_name: str
    residence_country: str
    foreign_tin: str
    address: str
    address_country: str
    treaty_country: str
    treaty_article: str
    treaty_rate: str
    certified: bool
    signed_name: str


def _text(value: str, field: str, label: str, limit: int = 200) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise ServiceError(
            "Give your %(label)s (at most %(limit)s characters).",
            field=field, params={"label": Label(label), "limit": limit},
        )
    return value


def tax_profile_for(session: Session, user_id: int) -> TaxProfile | None:
    """The user's current tax profile, if they submitted one."""
    return session.scalar(select(TaxProfile).where(TaxProfile.user_id == user_id))


def _save(session: Session, user: User, values: dict, form: str) -> TaxProfile:
    profile = tax_profile_for(session, user.id) or TaxProfile(user_id=user.id)
    for name, value in values.items():
        setattr(profile, name, value)
    profile.form = form
    profile.certified_at = utcnow()
    session.add(profile)
    # The audit says what was filed and how withholding follows; never the TIN.
    record_audit(
        session,
        actor_id=user.id,
        action="tax.profile.submit",
        subject_type="tax_profile",
        subject_id=user.id,
        details={
            "form": form,
            "tin_type": profile.tin_type,
            "certified": profile.certified,
            "residence_country": profile.residence_country,
            "treaty_rate_bps": profile.treaty_rate_bps,
        },
    )
    session.commit()
    return profile


def submit_w9(session: Session, user: User, w9: W9) -> TaxProfile:
    """Validate and store a W-9 (TIN encrypted, last 4 kept for display); commits."""
    digits = rules.normalise_us_tin(w9.tin_type, w9.tin)
    values = {
        "legal_name": _text(w9.legal_name, "legal_name", Label("legal name")),
        "tin_type": w9.tin_type,
        "tin_encrypted": seal_tin(digits),
        "tin_last4": digits[-4:],
        "address": _text(w9.address, "address", Label("address"), 500),
        "address_country": rules.check_country(w9.address_country or "US", "address_country"),
        "residence_country": "US",
        "treaty_country": None,
        "treaty_article": None,
        "treaty_rate_bps": None,
        "certified": bool(w9.certified),
        "signed_name": _text(w9.signed_name, "signed_name", Label("name as signature")),
    }
    return _save(session, user, values, "W-9")


def submit_w8ben(session: Session, user: User, w8: W8BEN) -> TaxProfile:
    """Validate and store a W-8BEN; a treaty rate above the statutory rate, a treaty country
    other than the country of residence, or a US residence are refused; commits."""
    residence = rules.check_country(w8.residence_country, "residence_country")
    if residence == "US":
        raise ServiceError(
            "A W-8BEN is for people who are not US residents; US persons fill in a W-9.",
            field="residence_country",
        )
    if not w8.certified:
        raise ServiceError("Certify the form to submit it.", field="certified")
    tin = rules.normalise_foreign_tin(w8.foreign_tin)
    treaty_country = treaty_article = None
    treaty_rate = None
    if (w8.treaty_country or "").strip() or (w8.treaty_rate or "").strip():
        treaty_country = rules.check_country(w8.treaty_country, "treaty_country")
        if treaty_country != residence:
            raise ServiceError(
                "Treaty benefits are claimed for your country of residence "
                "(%(residence)s), not %(treaty_country)s.",
                field="treaty_country",
                params={"residence": residence, "treaty_country": treaty_country},
            )
        treaty_article = _text(w8.treaty_article, "treaty_article", Label("treaty article"), 60)
        treaty_rate = rules.percent_to_bps(w8.treaty_rate, "treaty_rate")
        statutory = current_app.config["TAX_NRA_WITHHOLDING_BPS"]
        if treaty_rate > statutory:
            raise ServiceError(
                "A treaty rate of %(rate)s is above the statutory %(statutory)s rate for "
                "royalties: a treaty only lowers it.",
                field="treaty_rate",
                params={"rate": f"{treaty_rate / 100:g} %", "statutory": f"{statutory / 100:g} %"},
            )
    values = {
        "legal_name": _text(w8.legal_name, "legal_name", Label("legal name")),
        "tin_type": "FOREIGN",
        "tin_encrypted": seal_tin(tin),
        "tin_last4": tin[-4:],
        "address": _text(w8.address, "address", Label("permanent address"), 500),
        "address_country": rules.check_country(w8.address_country or residence, "address_country"),
        "residence_country": residence,
        "treaty_country": treaty_country,
        "treaty_article": treaty_article,
        "treaty_rate_bps": treaty_rate,
        "certified": True,
        "signed_name": _text(w8.signed_name, "signed_name", Label("name as signature")),
    }
    return _save(session, user, values, "W-8BEN")


def withholding_of(profile: TaxProfile) -> rules.Withholding:
    """The withholding a profile calls for, at the configured rates."""
    config = current_app.config
    return rules.withholding_for(
        us_person=profile.us_person,
        certified=profile.certified,
        treaty_rate_bps=profile.treaty_rate_bps,
        backup_bps=config["TAX_BACKUP_WITHHOLDING_BPS"],
        nra_bps=config["TAX_NRA_WITHHOLDING_BPS"],
    )


def withholding_by_user(
    session: Session, *, backup_bps: int | None = None, nra_bps: int | None = None
) -> dict[int, rules.Withholding]:
    """Every payee with a tax profile and the withholding it calls for (one query), at the
    given rates (default: the app's TAX_BACKUP_WITHHOLDING_BPS and TAX_NRA_WITHHOLDING_BPS)."""
    if backup_bps is None or nra_bps is None:
        config = current_app.config
        backup_bps = config["TAX_BACKUP_WITHHOLDING_BPS"]
        nra_bps = config["TAX_NRA_WITHHOLDING_BPS"]
    rows = session.execute(
        select(
            TaxProfile.user_id, TaxProfile.form, TaxProfile.certified, TaxProfile.treaty_rate_bps
        )
    )
    return {
        user_id: rules.withholding_for(
            us_person=form == "W-9",
            certified=certified,
            treaty_rate_bps=treaty,
            backup_bps=backup_bps,
            nra_bps=nra_bps,
        )
        for user_id, form, certified, treaty in rows
    }
