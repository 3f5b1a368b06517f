"""Releasing collected money: under a `collected` contract, participants' earnings of a period
wait in the ledger at the period's far-future moment (partners.contracts.collected_sentinel)
and become available as the app pays the period's statement, in proportion.

The drift-free rule, per account: target = total * paid / owed (rounded toward zero, paid
capped at owed), release = target - released so far. Each account's targets never add up to
more than `paid` (the participants' totals are part of what is owed), and once paid in full
the target is the total: exactly what `advance` makes available after the hold. Nothing here
commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry
from ledger.schema import Account, PendingRow
from marketplace.partners.contracts import collected_sentinel
from marketplace.partners.models import PartnerApp
from marketplace.settlements.models import CollectedRelease, SettlementStatement


def release_target(total: int, paid: int, owed: int) -> int:
    """What of an account's `total` a statement paid `paid` of `owed` releases (toward zero;
    all of it once paid in full or when nothing is owed)."""
    if owed <= 0 or paid >= owed:
        return total
    paid = max(paid, 0)
    magnitude = abs(total) * paid // owed
    return magnitude if total >= 0 else -magnitude


def release_deltas(
    totals: dict[int, int], released: dict[int, int], paid: int, owed: int
) -> dict[int, int]:
    """Per account, what to release now (non-zero only): target minus released so far."""
    deltas = {}
    for account_id, total in totals.items():
        delta = release_target(total, paid, owed) - released.get(account_id, 0)
        if delta:
            deltas[account_id] = delta
    return deltas


def release_collected(session: Session, partner: PartnerApp, now: datetime) -> int:
    """Bring every statement of the app up to its drift-free release; returns how many
    accounts moved."""
    moved = 0
    for statement in session.scalars(
        select(SettlementStatement)
        .where(SettlementStatement.partner_id == partner.id)
        .order_by(SettlementStatement.period_start)
    ):
        moved += release_statement(session, statement, now)
    return moved


def release_statement(session: Session, statement: SettlementStatement, now: datetime) -> int:
    """Release what the statement's payments so far cover of its period's collected money."""
    sentinel = collected_sentinel(statement.partner_id, statement.period, statement.period_start)
    pending: dict[int, int] = {
        account_id: int(amount)
        for account_id, amount in session.execute(
            select(PendingRow.account_id, PendingRow.amount)
            .join(Account, Account.id == PendingRow.account_id)
            .where(
                PendingRow.available_at == sentinel,
                Account.owner_type == "member",
                Account.purpose == "earnings",
            )
        ).all()
    }
    rows = {
        row.account_id: row
        for row in session.scalars(
            select(CollectedRelease).where(CollectedRelease.statement_id == statement.id)
        )
    }
    released = {account_id: row.released for account_id, row in rows.items()}
    totals = {
        account_id: int(pending.get(account_id, 0)) + released.get(account_id, 0)
        for account_id in set(pending) | set(released)
    }
    deltas = release_deltas(totals, released, statement.paid, statement.amount_owed)
    if not deltas:
        return 0
    legs = []
    for account_id, delta in sorted(deltas.items()):
        # Liability accounts: a debit at the sentinel takes `delta` out of pending there, a
        # credit with no availability puts it back available now; the balance stays.
        legs += [Leg(account_id, delta, sentinel), Leg(account_id, -delta)]
        row = rows.get(account_id)
        if row is None:
            row = CollectedRelease(statement_id=statement.id, account_id=account_id, released=0)
            session.add(row)
        row.released += delta
    post_entry(
        session,
        # Each release is a new movement (the same amounts may move twice, after a refund):
        # the key only has to be unique; the release rows above make it happen once.
        idempotency_key=f"collected-release:{statement.id}:{uuid.uuid4().hex}",
        effective_at=now,
        description=f"Collected money released: {statement.label} paid {statement.paid}",
        legs=legs,
        metadata={"kind": "collected_release", "statement_id": statement.id},
        now=now,
    )
    return len(deltas)
