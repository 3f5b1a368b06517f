"""Settlement statements (what a partner app owes for a period), their lines, remittances
(money it paid) and how remittances were applied to statements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import Id, UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model


class SettlementStatement(Model):
    """What one partner app owes for one closed period; final once written.

    Fields: partner_id, period ("monthly" | "weekly"), label (2026-11, 2026-W47),
    period_start / period_end ([start, end) in UTC), currency (the contract's),
    unlocks (count), unlocks_gross, refunds_gross (given back, positive), pools_gross, gross
    (unlocks - refunds + pools), partner_share (what the app keeps, from the ledger's
    allocations of the period), amount_owed (gross - partner_share), paid (remittances and
    credit applied so far), due_at (period_end + net days), closed_at, entry_id (the close's
    ledger entry: the partner's share leaves its receivable), overdue_notified_at (when
    admins were mailed that it is overdue).
    """

    __tablename__ = "settlement_statements"
    __table_args__ = (
        UniqueConstraint("partner_id", "period_start"),
        CheckConstraint("period IN ('monthly', 'weekly')", name="period_known"),
        CheckConstraint("period_end > period_start", name="period_order"),
        CheckConstraint("gross = unlocks_gross - refunds_gross + pools_gross", name="gross_sum"),
        CheckConstraint("amount_owed = gross - partner_share", name="owed_sum"),
        CheckConstraint("paid >= 0", name="paid_nonnegative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    unlocks: Mapped[int] = mapped_column(Integer, default=0)
    unlocks_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    pools_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    partner_share: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_owed: Mapped[int] = mapped_column(BigInteger, default=0)
    paid: Mapped[int] = mapped_column(BigInteger, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_id: Mapped[int | None] = mapped_column(Id)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="statement", order_by="SettlementLine.id"
    )

    @property
    def outstanding(self) -> int:
        """What is still to pay (0 once paid in full)."""
        return max(self.amount_owed - self.paid, 0)


class SettlementLine(Model):
    """One line of a statement: a series, episode (NULL for pools) and country (NULL when not
    reported) of the period.

    Fields: statement_id, series_id, episode, country, unlocks (count), unlocks_gross,
    refunds_gross, pools_gross, gross (unlocks - refunds + pools).
    """

    __tablename__ = "settlement_lines"
    __table_args__ = (
        CheckConstraint("gross = unlocks_gross - refunds_gross + pools_gross", name="gross_sum"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("settlement_statements.id"), index=True)
    series_id: Mapped[int] = mapped_column(Integer)
    episode: Mapped[int | None] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(String(2))
    unlocks: Mapped[int] = mapped_column(Integer, default=0)
    unlocks_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    pools_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)

    statement: Mapped[SettlementStatement] = relationship(back_populates="lines")


class Remittance(Model):
    """Money a partner app paid us, as received (never edited).

    Fields: partner_id, amount (minor units of `currency`, > 0), currency (as received),
    rate (the rate received, as text, when currency is not the contract's; NULL otherwise),
    settled (the amount in the contract currency: what leaves the receivable), reference
    (the bank's; unique per partner: a repeat is refused), received_on, settlement_id (the
    statement the admin named, or NULL: oldest open first), entry_id (its ledger entry),
    created_by_id, created_at.
    """

    __tablename__ = "remittances"
    __table_args__ = (
        UniqueConstraint("partner_id", "reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("settled > 0", name="settled_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str | None] = mapped_column(String(40))
    settled: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(120))
    received_on: Mapped[date] = mapped_column(Date)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_statements.id"))
    entry_id: Mapped[int | None] = mapped_column(Id)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemittanceApplication(Model):
    """A part of the app's credit applied to a statement: of a remittance (what is not
    applied is the app's credit, applied to its next statements at their close) or of a
    statement that owes a negative amount (its refunds exceed its gross: the app is owed
    that, and it is netted against its other statements the same way).

    Fields: remittance_id or credit_statement_id (exactly one: where the money comes from),
    statement_id (the statement it pays), amount (contract currency, > 0), applied_at.
    """

    __tablename__ = "remittance_applications"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "(remittance_id IS NULL) <> (credit_statement_id IS NULL)", name="one_source"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    remittance_id: Mapped[int | None] = mapped_column(ForeignKey("remittances.id"), index=True)
    credit_statement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_statements.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("settlement_statements.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CollectedRelease(Model):
    """How much of one account's collected money of a statement's period was released so far
    (the drift-free rule: each release moves the cumulative target minus this).

    Fields: statement_id, account_id (a ledger account), released (minor units).
    """

    __tablename__ = "collected_releases"
    __table_args__ = (UniqueConstraint("statement_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("settlement_statements.id"))
    account_id: Mapped[int] = mapped_column(Id)
    released: Mapped[int] = mapped_column(BigInteger, default=0)
