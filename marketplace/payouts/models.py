"""Payouts: participants' Stripe Connect accounts, payout batches, their lines and approvals,
and the Stripe webhook events already handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

BATCH_STATUSES = ("draft", "approved")
LINE_STATUSES = (
    "excluded",  # listed with a reason, nothing reserved, never paid
    "proposed",  # money reserved, waiting for the admins
    "approved",  # ready to send
    "rejected",  # an admin said no; the money went back to the participant
    "sending",  # claimed by an executor; the Stripe transfer may or may not exist yet
    "sent",  # the transfer exists and is recorded; the bank payout follows
    "paid",  # Stripe reported the connected account's bank payout paid
    "failed",  # Stripe refused or reversed it; the money went back to the participant
)
OPEN_LINE_STATUSES = ("proposed", "approved", "sending", "sent")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PayoutAccount(Model):
    """A participant's Stripe Connect Express account, in the country they chose.

    Fields: user_id (one account per user), country (ISO alpha-2, the payee's choice),
    stripe_account_id ("acct_..."; NULL when Stripe Connect cannot reach that country from
    this platform: see payouts.stripe_rules), default_currency and bank_currencies (Stripe's,
    lower-case: what the account settles in; others are converted into the default),
    details_submitted and payouts_enabled (Stripe's flags, from account.updated or re-read on
    the return URL; only enabled accounts are paid), created_at, updated_at.
    """

    __tablename__ = "payout_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    country: Mapped[str] = mapped_column(String(2), default="US", server_default="US")
    stripe_account_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    default_currency: Mapped[str | None] = mapped_column(String(3))
    bank_currencies: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    details_submitted: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PayoutBatch(Model):
    """One payout run: built as a draft, approved by admins, executed line by line.

    Fields: period_key (unique: one batch per period, the UTC day of `as_of`, so two schedulers
    or two builds for one period make one batch), as_of (balances available at this moment
    were paid), status (draft, approved), approvals_required (PAYOUT_APPROVALS when built),
    created_by_id (NULL for the scheduler/CLI), approved_at.
    """

    __tablename__ = "payout_batches"
    __table_args__ = (
        CheckConstraint(_in("status", BATCH_STATUSES), name="status_known"),
        CheckConstraint("approvals_required >= 1", name="approvals_required_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(String(40), unique=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    approvals_required: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    approvals: Mapped[list[PayoutApproval]] = relationship(order_by="PayoutApproval.id")


class PayoutLine(Model):
    """One participant and currency in a batch: a payment, or a listed exclusion.

    Fields: batch_id; user_id (NULL for an invitation still pending) and member_id (set for a
    pending invitation); payee (email, for people); currency (ISO 4217); amount (minor units:
    the available balance at the batch's as_of; > 0 unless excluded); status (see
    LINE_STATUSES: proposed -> approved -> sending -> sent -> paid | failed, or rejected, or
    excluded); reason (why excluded, rejected or failed, in Stripe's words for failures);
    flags (JSON list: "first_payout", "over_10x_median"); payout_account_id and destination
    (the connected account paid); reservation_entry_id (the ledger entry moving the money to
    payouts in transit); transfer_id (Stripe transfer); bank_payout_id (the connected
    account's payout to the bank, whose payout.paid makes the line paid); decided_by_id /
    decided_at (the admin who rejected it); sent_at, settled_at (paid or failed).
    withheld and withholding_bps (tax withheld from the payee's gross at the rate of their tax
    profile: gross = amount + withheld; amount is what is transferred); payout_currency,
    payout_amount and exchange_rate (what reached the bank: the same as currency and amount,
    or converted by Stripe into the account's default currency at the balance transaction's
    rate, a decimal string).
    """

    __tablename__ = "payout_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "user_id", "currency"),
        UniqueConstraint("transfer_id"),
        UniqueConstraint("bank_payout_id"),
        CheckConstraint(_in("status", LINE_STATUSES), name="status_known"),
        CheckConstraint("status = 'excluded' OR amount > 0", name="paid_amount_positive"),
        CheckConstraint(
            "status = 'excluded' OR (user_id IS NOT NULL AND destination IS NOT NULL"
            " AND reservation_entry_id IS NOT NULL)",
            name="payment_complete",
        ),
        CheckConstraint(
            "status NOT IN ('sent', 'paid') OR transfer_id IS NOT NULL", name="sent_has_transfer"
        ),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("withheld >= 0", name="withheld_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # ids taken in bulk from its sequence
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    payee: Mapped[str] = mapped_column(String(254), default="")
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    payout_account_id: Mapped[int | None] = mapped_column(ForeignKey("payout_accounts.id"))
    destination: Mapped[str | None] = mapped_column(String(64))
    reservation_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    transfer_id: Mapped[str | None] = mapped_column(String(64))
    bank_payout_id: Mapped[str | None] = mapped_column(String(64))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withheld: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    withholding_bps: Mapped[int | None] = mapped_column()
    payout_currency: Mapped[str | None] = mapped_column(String(3))
    payout_amount: Mapped[int | None] = mapped_column(BigInteger)
    exchange_rate: Mapped[str | None] = mapped_column(String(32))

    batch: Mapped[PayoutBatch] = relationship()

    @property
    def gross(self) -> int:
        """The payee's money this line took: what is transferred plus tax withheld."""
        return self.amount + (self.withheld or 0)

    @property
    def converted(self) -> bool:
        """Whether Stripe converted the transfer into another currency for the bank."""
        return self.payout_currency is not None and self.payout_currency != self.currency


class PayoutApproval(Model):
    """One admin's approval of a batch (PAYOUT_APPROVALS=2 needs two different admins).

    Fields: batch_id, admin_id (unique per batch), created_at.
    """

    __tablename__ = "payout_approvals"
    __table_args__ = (UniqueConstraint("batch_id", "admin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeWebhookEvent(Model):
    """A Stripe event already handled (its id is unique: a redelivery changes nothing).

    Fields: event_id ("evt_..."), type ("account.updated"), account (the connected account
    the event is about, if any), outcome ("handled", "ignored"), received_at, details (JSON).
    """

    __tablename__ = "stripe_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
