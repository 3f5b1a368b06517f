"""Reading balances: posted, pending and available now (from the maintained rows), and posted
as of any effective time (from postings through the (account_id, effective_at) index)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.errors import UnknownAccount
from ledger.schema import Account, BalanceRow, PendingRow, Posting, utcnow


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance at one moment, in minor units on the account's normal side.

    Fields:
        account_id: the account.
        currency: its ISO 4217 code.
        posted: everything posted so far.
        pending: the part not yet available (available_at later than the moment).
        available: posted - pending.
    """

    account_id: int
    currency: str
    posted: int
    pending: int
    available: int


def get_balances(
    session: Session, account_ids: Iterable[int], now: datetime | None = None
) -> dict[int, Balance]:
    """Return the balances of the accounts at `now`, from ledger_balances and ledger_pending."""
    ids = sorted(set(account_ids))
    now = now or utcnow()
    pending = (
        select(PendingRow.account_id, func.sum(PendingRow.amount).label("amount"))
        .where(PendingRow.account_id.in_(ids), PendingRow.available_at > now)
        .group_by(PendingRow.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            BalanceRow.account_id,
            Account.currency,
            BalanceRow.posted,
            func.coalesce(pending.c.amount, 0),
        )
        .join(Account, Account.id == BalanceRow.account_id)
        .outerjoin(pending, pending.c.account_id == BalanceRow.account_id)
        .where(BalanceRow.account_id.in_(ids))
    ).all()
    balances = {
        row[0]: Balance(row[0], row[1], row[2], int(row[3]), row[2] - int(row[3])) for row in rows
    }
    missing = set(ids) - balances.keys()
    if missing:
        raise UnknownAccount(f"no such ledger account(s): {sorted(missing)}")
    return balances


def get_balance(session: Session, account_id: int, now: datetime | None = None) -> Balance:
    """Return one account's balance at `now` (posted, pending, available)."""
    return get_balances(session, [account_id], now)[account_id]


def posted_sum(session: Session, account_id: int, *, before: datetime, inclusive: bool) -> int:
    """Return the normal-side sum of the account's postings effective before (or at) a time."""
    account = session.get(Account, account_id)
    if account is None:
        raise UnknownAccount(f"no such ledger account: {account_id}")
    bound = Posting.effective_at <= before if inclusive else Posting.effective_at < before
    total = session.execute(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(
            Posting.account_id == account_id, bound
        )
    ).scalar_one()
    return int(total) * (1 if account.normal_side == "debit" else -1)


def balance_as_of(session: Session, account_id: int, effective_at: datetime) -> int:
    """Return the account's posted balance (normal side) counting postings effective at or
    before `effective_at`."""
    return posted_sum(session, account_id, before=effective_at, inclusive=True)
