"""A payee's tax profile: the W-9 (US persons) or W-8BEN (everyone else) they certified."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

FORMS = ("W-9", "W-8BEN")
TIN_TYPES = ("SSN", "EIN", "ITIN", "FOREIGN")


class TaxProfile(Model):
    """One payee's current tax form (a new submission replaces it).

    Fields: user_id (one per user); form ("W-9" or "W-8BEN"); legal_name; tin_type (SSN, EIN,
    ITIN for a W-9; FOREIGN for a W-8BEN's foreign TIN); tin_encrypted (Fernet token under a
    key derived from SECRET_KEY: the TIN itself is never stored in clear) and tin_last4 (what
    pages show); address (multi-line) and address_country; residence_country (ISO 3166 alpha-2;
    "US" on a W-9); treaty_country, treaty_article, treaty_rate_bps (a W-8BEN's claim of treaty
    benefits for royalties, or NULL); certified (the W-9's certification was given: without
    it backup withholding applies; a W-8BEN is always certified); signed_name, certified_at.
    """

    __tablename__ = "tax_profiles"
    __table_args__ = (
        CheckConstraint("form IN ('W-9', 'W-8BEN')", name="form_known"),
        CheckConstraint("tin_type IN ('SSN', 'EIN', 'ITIN', 'FOREIGN')", name="tin_type_known"),
        CheckConstraint(
            "treaty_rate_bps IS NULL OR (treaty_rate_bps >= 0 AND treaty_rate_bps <= 10000)",
            name="treaty_rate_range",
        ),
        CheckConstraint("length(tin_last4) <= 4", name="tin_last4_short"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    form: Mapped[str] = mapped_column(String(8))
    legal_name: Mapped[str] = mapped_column(String(200))
    tin_type: Mapped[str] = mapped_column(String(8))
    tin_encrypted: Mapped[str] = mapped_column(Text)
    tin_last4: Mapped[str] = mapped_column(String(4))
    address: Mapped[str] = mapped_column(Text)
    address_country: Mapped[str] = mapped_column(String(2))
    residence_country: Mapped[str] = mapped_column(String(2))
    treaty_country: Mapped[str | None] = mapped_column(String(2))
    treaty_article: Mapped[str | None] = mapped_column(String(60))
    treaty_rate_bps: Mapped[int | None] = mapped_column()
    certified: Mapped[bool] = mapped_column(default=False)
    signed_name: Mapped[str] = mapped_column(String(200))
    certified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def us_person(self) -> bool:
        """A W-9 filer: reported on a 1099-MISC; everyone else on a 1042-S."""
        return self.form == "W-9"

    @property
    def masked_tin(self) -> str:
        """What people see of the TIN: its type and last 4 characters."""
        return f"{self.tin_type} ending {self.tin_last4}"

    def __repr__(self) -> str:
        return f"<TaxProfile {self.id} user={self.user_id} {self.form}>"
