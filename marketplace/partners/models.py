"""Partner apps (ReelShort, DramaBox, ...) and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model


class PartnerApp(Model):
    """An app that sells episodes to viewers and reports unlocks to us.

    Fields: name (unique), currency (contract currency, ISO 4217), share_bps (the partner's
    share of each unlock's gross, basis points), hold_days (days before participants' earnings
    from this partner become available), active, legacy_signatures (v1 signatures, over the
    timestamp and body only, are still accepted; apps made before v2 existed, until they move),
    settled_through (events that occurred before this moment belong to closed settlement
    periods: ingest refuses them with `period_closed`; NULL while no period is closed).
    share_bps, hold_days and currency repeat the contract version in force (PartnerContract,
    the source of truth): `sync_partner_terms` keeps them equal.
    """

    __tablename__ = "partner_apps"
    __table_args__ = (
        CheckConstraint("share_bps >= 0 AND share_bps <= 10000", name="share_bps_range"),
        CheckConstraint("hold_days >= 0 AND hold_days <= 365", name="hold_days_range"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    share_bps: Mapped[int] = mapped_column(Integer)
    hold_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(default=True)
    legacy_signatures: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_through: Mapped[datetime | None] = mapped_column(UTCDateTime)

    keys: Mapped[list[PartnerApiKey]] = relationship(
        back_populates="partner", order_by="PartnerApiKey.id"
    )


class PartnerApiKey(Model):
    """A key a partner app signs requests with (HMAC-SHA256).

    Fields: key_id (public, sent in X-Cliffhanger-Key), secret_encrypted (the shared secret,
    encrypted at rest; HMAC verification needs the secret itself), expires_at (NULL = valid
    until rotated; a rotated key stays valid for API_KEY_GRACE_HOURS), revoked_at (set by a
    revocation: refused at once).
    """

    __tablename__ = "partner_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[PartnerApp] = relationship(back_populates="keys")


PERIODS = ("monthly", "weekly")
"""Settlement periods: calendar months, or ISO weeks (Monday 00:00 UTC)."""
POLICIES = ("advance", "collected")
"""Payout policies: participants' earnings available after the hold (advance), or only as the
app pays the statement that covers them (collected)."""


class PartnerContract(Model):
    """One version of a partner app's terms; a new version takes effect in the future and an
    old one is never rewritten (like split versions).

    Fields: partner_id, number (1, 2, ... per partner), effective_from (aware; version 1 from
    the epoch), share_bps (the partner's share of each unlock's gross), hold_days (advance:
    days before participants' earnings become available), currency (never changes),
    period ("monthly" | "weekly"), net_days (a statement is due this many days after its
    period ends), payout_policy ("advance" | "collected"), created_by_id, created_at.
    """

    __tablename__ = "partner_contracts"
    __table_args__ = (
        UniqueConstraint("partner_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("share_bps >= 0 AND share_bps <= 10000", name="share_bps_range"),
        CheckConstraint("hold_days >= 0 AND hold_days <= 365", name="hold_days_range"),
        CheckConstraint("net_days >= 0 AND net_days <= 365", name="net_days_range"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("period IN ('monthly', 'weekly')", name="period_known"),
        CheckConstraint("payout_policy IN ('advance', 'collected')", name="policy_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    share_bps: Mapped[int] = mapped_column(Integer)
    hold_days: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(10), default="monthly")
    net_days: Mapped[int] = mapped_column(Integer, default=30)
    payout_policy: Mapped[str] = mapped_column(String(10), default="advance")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
