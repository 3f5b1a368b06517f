"""Report rows for the CLI (`flask ledger balances --format json`), pure functions of a session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.balances import get_balances
from ledger.schema import Account


def account_name(account: Account) -> str:
    """Return a readable unique label: owner_type:owner_id:purpose:currency."""
    return f"{account.owner_type}:{account.owner_id}:{account.purpose}:{account.currency}"


def balance_rows(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return one JSON-ready dict per account: account, type, owner_type, owner_id, currency,
    posted, pending, available (ints in minor units)."""
    accounts = session.scalars(select(Account).order_by(Account.id)).all()
    balances = get_balances(session, [a.id for a in accounts], now)
    return [
        {
            "account": account_name(a),
            "type": a.type,
            "owner_type": a.owner_type,
            "owner_id": a.owner_id,
            "currency": a.currency,
            "posted": balances[a.id].posted,
            "pending": balances[a.id].pending,
            "available": balances[a.id].available,
        }
        for a in accounts
    ]
