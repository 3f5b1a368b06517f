"""Sending approved payout lines through Stripe, at most once each, and settling them.

Per line: approved -> sending -> sent -> paid | failed.

1. Claim: `UPDATE ... SET status='sending' WHERE id=? AND status='approved'`, committed before
   Stripe is called, so of two executors on one batch only one claims each line.
2. Transfer: POST /v1/transfers with the Idempotency-Key `payout-line-<id>-transfer`. A line
   found in "sending" (its executor died, or the answer was lost) is sent again with the same
   key: Stripe returns the transfer it already made instead of making a second one.
3. Record (one transaction): `sending -> sent` conditionally, the transfer id, and the ledger
   entry Dr payouts in transit / Cr Stripe balance. A definite refusal from Stripe (4xx) makes
   the line failed with Stripe's message and reverses the reservation instead.
4. Landing: the transfer's destination payment has a balance transaction on the connected
   account: the same currency, or Stripe's conversion into the account's default currency
   (no bank account in the transfer's). The line records what landed (payout_currency,
   payout_amount, exchange_rate) and, for a conversion, the ledger gets its FX entry (kind
   "payout_fx", see marketplace.chart).
5. Bank payout: the connected account pays what landed to the participant's bank (POST
   /v1/payouts with Stripe-Account and the key `payout-line-<id>-bank-payout`); its id is
   recorded. A refusal keeps the line sent with Stripe's words and what the payee can do,
   and mails them once. The line becomes paid when Stripe's `payout.paid` webhook for that
   payout arrives (see stripe_webhooks) - that is our definition of "paid": the money
   reached the bank.

`checkpoint(point, line_id)` is called at each point of FAULT_POINTS; tests raise there to
prove a run stopped at any point and run again pays every line exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import stripe
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from ledger.errors import LedgerError
from ledger.posting import Leg, post_entry, reverse_entry
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import Conflict, NotFound
from marketplace.payouts.crossborder.landing import record_landing
from marketplace.payouts.models import PayoutBatch, PayoutLine
from marketplace.payouts.notices import notify_action_required, notify_line
from marketplace.payouts.services import return_key

FAULT_POINTS = (
    "before_transfer",
    "after_transfer",
    "after_transfer_recorded",
    "before_bank_payout",
    "after_bank_payout",
    "after_bank_payout_recorded",
)
Checkpoint = Callable[[str, int], None]
# Stripe's definite answers: the request was refused and will be refused again.
DEFINITE_ERRORS = (stripe.InvalidRequestError, stripe.PermissionError, stripe.CardError)


log = logging.getLogger("marketplace.payouts.execution")


def transfer_key(line_id: int) -> str:
    """The Stripe Idempotency-Key of a line's transfer."""
    return f"payout-line-{line_id}-transfer"


def bank_payout_key(line_id: int) -> str:
    """The Stripe Idempotency-Key of a line's bank payout on the connected account."""
    return f"payout-line-{line_id}-bank-payout"


@dataclass
class ExecutionReport:
    """What one run did: line ids sent, failed, bank payouts requested, and lines left for
    a later run with the reason (Stripe unreachable, ledger refused...)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    bank_payouts: list[int] = field(default_factory=list)
    retry_later: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The report as plain JSON."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "bank_payouts": self.bank_payouts,
            "retry_later": {str(k): v for k, v in self.retry_later.items()},
        }


def _noop(point: str, line_id: int) -> None:
    return None


def execute_batch(
    session: Session,
    client: stripe.StripeClient,
    batch_id: int,
    *,
    checkpoint: Checkpoint | None = None,
    now: datetime | None = None,
) -> ExecutionReport:
    """Send every approved line of an approved batch (and retry lines left half-done)."""
    checkpoint = checkpoint or _noop
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound("No such payout batch.")
    if batch.status != "approved":
        raise Conflict("Only an approved batch can be executed.")
    report = ExecutionReport()

    def ids(status: str) -> list[int]:
        query = select(PayoutLine.id).where(
            PayoutLine.batch_id == batch_id, PayoutLine.status == status
        )
        if status == "sent":
            query = query.where(PayoutLine.bank_payout_id.is_(None))
        return list(session.scalars(query.order_by(PayoutLine.id)))

    session.commit()
    for line_id in ids("sending"):  # stopped half-way before: same key, same transfer
        _send(session, client, line_id, checkpoint, report, now)
    for line_id in ids("approved"):
        if _claim(session, line_id):
            _send(session, client, line_id, checkpoint, report, now)
    for line_id in ids("sent"):
        _request_bank_payout(session, client, line_id, checkpoint, report)
    log.info(
        "payout batch %s executed: %d sent, %d failed, %d bank payouts, %d to retry",
        batch_id,
        len(report.sent),
        len(report.failed),
        len(report.bank_payouts),
        len(report.retry_later),
        extra={"batch_id": batch_id, **report.as_json()},
    )
    return report


def _claim(session: Session, line_id: int) -> bool:
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line_id, PayoutLine.status == "approved")
            .values(status="sending")
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    session.commit()
    return claimed == 1


def _fresh(session: Session, line_id: int) -> PayoutLine:
    return session.scalars(
        select(PayoutLine).where(PayoutLine.id == line_id).execution_options(populate_existing=True)
    ).one()


def _send(session, client, line_id, checkpoint, report, now) -> None:
    line = _fresh(session, line_id)
    if line.status != "sending":
        return
    checkpoint("before_transfer", line_id)
    try:
        transfer = client.v1.transfers.create(
            {
                "amount": line.amount,
                "currency": line.currency.lower(),
                "destination": line.destination,
                "transfer_group": f"payout-batch-{line.batch_id}",
                "description": f"Cliffhanger payout {line.batch_id}/{line.id}",
                "metadata": {"payout_line_id": str(line.id), "batch_id": str(line.batch_id)},
            },
            {"idempotency_key": transfer_key(line.id)},
        )
    except DEFINITE_ERRORS as error:
        fail_line_before_transfer(session, line_id, _stripe_reason(error), now=now)
        report.failed.append(line_id)
        return
    except stripe.StripeError as error:  # unknown outcome: retried later with the same key
        report.retry_later[line_id] = _stripe_reason(error)
        return
    checkpoint("after_transfer", line_id)
    if _record_transfer(session, line, transfer.id, report, now):
        report.sent.append(line_id)
    checkpoint("after_transfer_recorded", line_id)


def _record_transfer(session, line: PayoutLine, transfer_id: str, report, now) -> bool:
    now = now or utcnow()
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line.id, PayoutLine.status == "sending")
            .values(status="sent", transfer_id=transfer_id, sent_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if moved != 1:  # another executor recorded it first
        session.rollback()
        return False
    try:
        post_entry(
            session,
            idempotency_key=f"payout:line:{line.id}:transfer",
            effective_at=now,
            description=f"Payout line {line.id}: Stripe transfer {transfer_id}",
            legs=[
                Leg(ledger_account(session, "payouts_in_transit", line.currency).id, line.amount),
                Leg(ledger_account(session, "stripe_balance", line.currency).id, -line.amount),
            ],
            metadata={"kind": "payout_transfer", "line_id": line.id, "transfer_id": transfer_id},
            now=now,
        )
    except LedgerError as error:
        session.rollback()
        report.retry_later[line.id] = f"ledger refused the transfer entry: {error}"
        return False
    record_audit(
        session,
        actor_id=None,
        action="payout.line.sent",
        subject_type="payout_line",
        subject_id=line.id,
        details={"transfer_id": transfer_id, "amount": line.amount, "currency": line.currency},
    )
    session.refresh(line)
    notify_line(session, line)
    session.commit()
    return True


def _request_bank_payout(session, client, line_id, checkpoint, report) -> None:
    line = _fresh(session, line_id)
    if line.status != "sent" or line.bank_payout_id:
        return
    if line.payout_currency is None:
        if not record_landing(session, client, line, report.retry_later):
            return
        line = _fresh(session, line_id)
    assert line.payout_currency is not None and line.payout_amount is not None  # just recorded
    checkpoint("before_bank_payout", line_id)
    try:
        payout = client.v1.payouts.create(
            {
                "amount": line.payout_amount,
                "currency": line.payout_currency.lower(),
                "description": f"Cliffhanger payout {line.batch_id}/{line.id}",
                "metadata": {"payout_line_id": str(line.id)},
            },
            {"idempotency_key": bank_payout_key(line.id), "stripe_account": line.destination},
        )
    except stripe.StripeError as error:
        # The money is on the participant's Stripe balance; the same key is tried next run.
        # The line keeps the reason, so the admins see why it has not reached the bank yet.
        reason = f"bank payout not made yet: {_stripe_reason(error)}"
        if isinstance(error, DEFINITE_ERRORS):
            reason += (
                f" The payee must add a bank account in {line.payout_currency} to their "
                "Stripe account (Payouts page); the next run retries."
            )
            notify_action_required(
                session,
                to=line.payee,
                key=f"action:line:{line_id}:bank",
                items=[(line.payout_currency, line.payout_amount, reason, "")],
            )
        reason = reason[:500]
        report.retry_later[line_id] = reason
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line_id, PayoutLine.bank_payout_id.is_(None))
            .values(reason=reason)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return
    checkpoint("after_bank_payout", line_id)
    session.execute(
        update(PayoutLine)
        .where(PayoutLine.id == line_id, PayoutLine.bank_payout_id.is_(None))
        .values(bank_payout_id=payout.id, reason="")
        .execution_options(synchronize_session=False)
    )
    session.commit()
    report.bank_payouts.append(line_id)
    checkpoint("after_bank_payout_recorded", line_id)


def _stripe_reason(error: stripe.StripeError) -> str:
    return (error.user_message or str(error) or type(error).__name__)[:500]


def fail_line_before_transfer(
    session: Session, line_id: int, reason: str, *, now: datetime | None = None
) -> bool:
    """Stripe refused the transfer: mark the line failed and reverse its reservation."""
    now = now or utcnow()
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line_id, PayoutLine.status == "sending")
            .values(status="failed", reason=reason, settled_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if moved != 1:
        session.rollback()
        return False
    line = _fresh(session, line_id)
    # A line that was sending has its reservation (the payment_complete check).
    assert line.reservation_entry_id is not None
    reverse_entry(
        session,
        line.reservation_entry_id,
        idempotency_key=return_key(line_id),
        effective_at=now,
        description=f"Payout line {line_id} failed: {reason}"[:500],
        now=now,
    )
    _after_failure(session, line, reason)
    session.commit()
    return True


def _after_failure(session: Session, line: PayoutLine, reason: str) -> None:
    record_audit(
        session,
        actor_id=None,
        action="payout.line.failed",
        subject_type="payout_line",
        subject_id=line.id,
        reason=reason,
        details={"amount": line.amount, "currency": line.currency},
    )
    notify_line(session, line)
