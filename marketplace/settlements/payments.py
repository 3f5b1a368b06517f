"""Remittances: money a partner app paid us, applied to its statements.

A remittance goes to the statement the admin names first, then to the app's open statements
oldest first; what is left is the app's credit, applied to its next statements when they
close. Ledger: the platform's Stripe balance (cash, must not go negative) is debited and the
app's receivable credited. In another currency than the contract's it needs the rate received:
the received currency then comes into fx_gain_loss and the contract currency leaves it for the
receivable, so the account holds the exchange difference per currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry
from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import Conflict, NotFound, ServiceError
from marketplace.formatting import parse_decimal_input
from marketplace.partners.models import PartnerApp
from marketplace.settlements.models import (
    Remittance,
    RemittanceApplication,
    SettlementStatement,
)
from marketplace.settlements.release import release_collected

MAX_REMITTANCE = 10**13
"""The largest remittance in minor units we take (a typo guard: 100 billion units)."""


class RemittanceRefused(ServiceError):
    """A remittance that cannot be recorded as given (nothing was written)."""

    code = "invalid_remittance"


def parse_amount(text: str, exponent: int = 2) -> int:
    """Minor units of a decimal amount like 1234.56, or as the page's locale writes it
    ("1.234,56" in Spanish), at most `exponent` decimals."""
    value = parse_decimal_input(text if isinstance(text, str) else None)
    if value is None:
        raise RemittanceRefused(f"{text!r} is not an amount.", field="amount")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise RemittanceRefused(
            f"{text} has more than {exponent} decimals for this currency.", field="amount"
        )
    return int(minor)


def _rate(rate: str | None, currency: str, contract_currency: str) -> Decimal | None:
    if currency == contract_currency:
        if rate not in (None, ""):
            raise RemittanceRefused(
                "A rate is only for a remittance in another currency than the contract's.",
                field="rate",
            )
        return None
    if rate in (None, ""):
        raise RemittanceRefused(
            f"This app's statements are in {contract_currency}; a remittance in {currency} "
            f"needs the rate received (1 {currency} = R {contract_currency}).",
            field="currency",
            code="wrong_currency",
        )
    try:
        value = Decimal(str(rate).strip())
    except InvalidOperation:
        raise RemittanceRefused(f"{rate!r} is not a rate.", field="rate") from None
    if not value.is_finite() or value <= 0:
        raise RemittanceRefused("The rate must be a positive number.", field="rate")
    return value


def record_remittance(
    session: Session,
    partner: PartnerApp,
    *,
    amount: int,
    currency: str,
    reference: str,
    received_on: date | None = None,
    settlement_id: int | None = None,
    rate: str | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Remittance:
    """Record money received from the app and apply it; refuses bad input with nothing
    written. A repeat of a reference with the same amount returns the first. Commits."""
    now = now or utcnow()
    currency = (currency or "").strip().upper()
    reference = (reference or "").strip()
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise RemittanceRefused("The amount must be more than zero.", field="amount")
    if amount > MAX_REMITTANCE:
        raise RemittanceRefused("The amount is larger than any remittance we take.", field="amount")
    if len(currency) != 3 or not currency.isalpha():
        raise RemittanceRefused("Use a three-letter currency code such as USD.", field="currency")
    if not reference or len(reference) > 120:
        raise RemittanceRefused("Give the bank reference (1 to 120 characters).", field="reference")
    value = _rate(rate, currency, partner.currency)
    settled = (
        amount
        if value is None
        else int((Decimal(amount) * value).to_integral_value(rounding=ROUND_HALF_EVEN))
    )
    if settled <= 0:
        raise RemittanceRefused("At this rate the remittance is worth nothing.", field="rate")
    named = None
    if settlement_id is not None:
        named = session.get(SettlementStatement, settlement_id)
        if named is None:
            raise NotFound(f"No settlement statement {settlement_id}.", field="settlement")
        if named.partner_id != partner.id:
            raise RemittanceRefused(
                f"Settlement {settlement_id} belongs to another partner app.",
                field="settlement",
                code="other_partner",
            )
    seen = session.scalars(
        select(Remittance).where(
            Remittance.partner_id == partner.id, Remittance.reference == reference
        )
    ).first()
    if seen is not None:
        if (seen.amount, seen.currency) == (amount, currency):
            return seen
        raise Conflict(
            f"Reference {reference} was recorded before with {seen.amount} {seen.currency}.",
            field="reference",
        )
    remittance = Remittance(
        partner_id=partner.id,
        amount=amount,
        currency=currency,
        rate=None if value is None else str(value),
        settled=settled,
        reference=reference,
        received_on=received_on or now.date(),
        settlement_id=settlement_id,
        created_by_id=actor.id if actor else None,
        created_at=now,
    )
    session.add(remittance)
    session.flush()
    remittance.entry_id = _post(session, partner, remittance, now)
    order = _open_statements(session, partner.id)
    if named is not None:
        order = [named, *[s for s in order if s.id != named.id]]
    _apply(session, remittance, order, settled, now)
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="settlement.remit",
        subject_type="partner_app",
        subject_id=partner.id,
        details={
            "remittance_id": remittance.id,
            "amount": amount,
            "currency": currency,
            "rate": remittance.rate,
            "settled": settled,
            "reference": reference,
            "settlement_id": settlement_id,
        },
    )
    release_collected(session, partner, now)
    session.commit()
    return remittance


def _post(session: Session, partner: PartnerApp, remittance: Remittance, now: datetime) -> int:
    cash = ledger_account(session, "stripe_balance", remittance.currency)
    receivable = ledger_account(session, "partner_receivable", partner.currency, partner.id)
    if remittance.currency == partner.currency:
        legs = [Leg(cash.id, remittance.amount), Leg(receivable.id, -remittance.settled)]
    else:
        received = ledger_account(session, "fx_gain_loss", remittance.currency)
        contract = ledger_account(session, "fx_gain_loss", partner.currency)
        legs = [
            Leg(cash.id, remittance.amount),
            Leg(received.id, -remittance.amount),
            Leg(contract.id, remittance.settled),
            Leg(receivable.id, -remittance.settled),
        ]
    entry = post_entry(
        session,
        idempotency_key=f"remittance:{remittance.id}",
        effective_at=now,
        description=f"Remittance from {partner.name} ({remittance.reference})",
        legs=legs,
        metadata={"kind": "remittance", "remittance_id": remittance.id},
        now=now,
    )
    return entry.id


def _open_statements(session: Session, partner_id: int) -> list[SettlementStatement]:
    return list(
        session.scalars(
            select(SettlementStatement)
            .where(
                SettlementStatement.partner_id == partner_id,
                SettlementStatement.paid < SettlementStatement.amount_owed,
            )
            .order_by(SettlementStatement.period_start)
            .with_for_update()
        )
    )


def split_payment(outstanding: Sequence[int], amount: int) -> tuple[list[int], int]:
    """How `amount` pays statements with these outstanding amounts, in order: each in full
    before the next; returns (the part for each, what is left: the credit)."""
    parts = []
    for owed in outstanding:
        part = min(max(owed, 0), max(amount, 0))
        parts.append(part)
        amount -= part
    return parts, max(amount, 0)


def _apply(
    session: Session,
    remittance: Remittance,
    statements: list[SettlementStatement],
    available: int,
    now: datetime,
) -> int:
    """Apply up to `available` of the remittance to the statements in order; returns what
    is left (the credit)."""
    parts, left = split_payment([s.amount_owed - s.paid for s in statements], available)
    for statement, part in zip(statements, parts, strict=True):
        if part:
            statement.paid += part
            session.add(
                RemittanceApplication(
                    remittance_id=remittance.id,
                    statement_id=statement.id,
                    amount=part,
                    applied_at=now,
                )
            )
    session.flush()
    return left


def unapplied(session: Session, remittance_id: int, settled: int) -> int:
    """What of a remittance is not applied yet (credit)."""
    used = session.scalar(
        select(func.coalesce(func.sum(RemittanceApplication.amount), 0)).where(
            RemittanceApplication.remittance_id == remittance_id
        )
    )
    return settled - int(used or 0)


def credit_of(session: Session, partner_id: int) -> int:
    """The app's credit: remittances not applied to any statement."""
    remitted = session.scalar(
        select(func.coalesce(func.sum(Remittance.settled), 0)).where(
            Remittance.partner_id == partner_id
        )
    )
    used = session.scalar(
        select(func.coalesce(func.sum(RemittanceApplication.amount), 0))
        .join(Remittance, Remittance.id == RemittanceApplication.remittance_id)
        .where(Remittance.partner_id == partner_id)
    )
    return int(remitted or 0) - int(used or 0)


def apply_credit(
    session: Session, partner: PartnerApp, statement: SettlementStatement, now: datetime
) -> int:
    """Apply the app's credit (oldest remittances first) to a statement; returns the amount."""
    applied = 0
    for remittance in session.scalars(
        select(Remittance).where(Remittance.partner_id == partner.id).order_by(Remittance.id)
    ):
        if statement.paid >= statement.amount_owed:
            break
        left = unapplied(session, remittance.id, remittance.settled)
        if left > 0:
            before = statement.paid
            _apply(session, remittance, [statement], left, now)
            applied += statement.paid - before
    return applied


def remittances_of(session: Session, partner_id: int | None = None) -> list[Remittance]:
    """Remittances newest first (of one app if given)."""
    query = select(Remittance).order_by(Remittance.id.desc())
    if partner_id is not None:
        query = query.where(Remittance.partner_id == partner_id)
    return list(session.scalars(query.limit(500)))
