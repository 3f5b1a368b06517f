"""Where a sent payout line's money landed on the connected account, and the ledger's record
of a conversion.

Stripe lands a transfer in its own currency when the connected account has a bank account in
it, else converts it into the account's default currency (payouts.stripe_rules). The transfer's
destination payment has a balance transaction on the connected account saying which: amount,
currency and exchange_rate. The line records it (payout_currency, payout_amount,
exchange_rate, what the bank payout then pays) and a conversion gets one balanced FX entry
(kind "payout_fx", see marketplace.chart), under a key of its own, so a re-run changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

import stripe
from sqlalchemy import update
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.formatting import format_money
from marketplace.payouts.models import PayoutLine


def _stripe_reason(error: stripe.StripeError) -> str:
    return (error.user_message or str(error) or type(error).__name__)[:500]


def fx_key(line_id: int) -> str:
    """The ledger idempotency key of a line's currency conversion entry."""
    return f"payout:line:{line_id}:fx"


def record_landing(
    session: Session, client: stripe.StripeClient, line: PayoutLine, retry_later: dict[int, str]
) -> bool:
    """Read what the transfer landed as on the connected account; record it (and the FX
    entry of a conversion). False when Stripe could not be asked (retried next run)."""
    assert line.transfer_id is not None and line.destination is not None  # a sent line's
    try:
        transfer = client.v1.transfers.retrieve(line.transfer_id)
        payment = transfer.destination_payment
        source = payment if isinstance(payment, str) else getattr(payment, "id", "")
        found = client.v1.balance_transactions.list(
            {"source": source, "limit": 1}, {"stripe_account": line.destination}
        ).data
    except stripe.StripeError as error:
        retry_later[line.id] = f"landing not read yet: {_stripe_reason(error)}"
        return False
    if not found:
        retry_later[line.id] = "landing not read yet: no balance transaction"
        return False
    txn = found[0]
    currency, amount = txn.currency.upper(), int(txn.amount)
    rate = None if txn.exchange_rate is None else str(Decimal(str(txn.exchange_rate)))
    now = utcnow()
    if currency != line.currency:
        _post_conversion(session, line, currency, amount, rate or "", txn.id, now)
    session.execute(
        update(PayoutLine)
        .where(PayoutLine.id == line.id, PayoutLine.payout_currency.is_(None))
        .values(payout_currency=currency, payout_amount=amount, exchange_rate=rate)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return True


def _post_conversion(session, line, currency, amount, rate, txn_id, now) -> None:
    """The FX entry: what Stripe converted for this line, from the balance transaction."""
    assert line.user_id is not None  # a sent line pays a user
    sent, got = line.amount, amount
    post_entry(
        session,
        idempotency_key=fx_key(line.id),
        effective_at=now,
        description=(
            f"Payout line {line.id}: Stripe converted {format_money(sent, line.currency)} "
            f"into {format_money(got, currency)} at {rate} ({txn_id})"
        )[:500],
        legs=[
            Leg(ledger_account(session, "fx_conversion", line.currency).id, sent),
            Leg(
                ledger_account(session, "payouts_converted", line.currency, line.user_id).id, -sent
            ),
            Leg(ledger_account(session, "payouts_converted", currency, line.user_id).id, got),
            Leg(ledger_account(session, "fx_conversion", currency).id, -got),
        ],
        metadata={
            "kind": "payout_fx",
            "line_id": line.id,
            "user_id": line.user_id,
            "balance_transaction": txn_id,
            "exchange_rate": rate,
        },
        now=now,
    )
