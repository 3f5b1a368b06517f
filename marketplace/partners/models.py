"""Partner apps (ReelShort, DramaBox, ...) and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model


class PartnerApp(Model):
    """An app that sells episodes to viewers and reports unlocks to us.

    Fields: name (unique), currency (contract currency, ISO 4217), share_bps (the partner's
    share of each unlock's gross, basis points), hold_days (days before participants' earnings
    from this partner become available), active, legacy_signatures (v1 signatures, over the
    timestamp and body only, are still accepted; apps made before v2 existed, until they move).
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
