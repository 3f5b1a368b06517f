"""Manual adjustments: an admin's balanced correcting entry, with a reason, audited.

The corrected account moves by the amount on its normal side (increase or decrease); the other
leg goes to the platform's "adjustments" equity account in the same currency, so the entry
balances and the trial balance still shows debits equal credits. The form's one-time token is
the entry's idempotency key: a double submit posts once.
"""

from __future__ import annotations

import re
from datetime import datetime

from babel.numbers import get_currency_precision
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import IdempotencyConflict, LedgerError
from ledger.posting import Leg, post_entry
from ledger.schema import Account, Entry
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import Conflict, NotFound, ServiceError
from marketplace.formatting import parse_decimal_input

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def parse_amount(text: str, currency: str) -> int:
    """A positive amount typed in major units ("12.34"; "12,34" in Spanish) as integer minor
    units (no float)."""
    value = parse_decimal_input(text)
    if value is None:
        raise ServiceError("Enter an amount such as 12.34.", field="amount")
    minor = value.scaleb(get_currency_precision(currency))
    if not value.is_finite() or minor != minor.to_integral_value():
        raise ServiceError(f"Too many decimals for {currency}.", field="amount")
    if minor <= 0:
        raise ServiceError("The amount must be positive.", field="amount")
    return int(minor)


def post_adjustment(
    session: Session,
    *,
    actor_id: int,
    account_id: int,
    direction: str,
    amount: str,
    reason: str,
    token: str,
    effective_at: datetime | None = None,
    now: datetime | None = None,
) -> Entry:
    """Post (and commit) a correcting entry on one account, against platform adjustments."""
    now = now or utcnow()
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.", field="account_id")
    if direction not in ("increase", "decrease"):
        raise ServiceError("Choose increase or decrease.", field="direction")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ServiceError("Give the reason (at least 5 characters).", field="reason")
    if not TOKEN.match(token or ""):
        raise ServiceError("The form expired; reload the page.")
    repeat = session.scalar(select(Entry).where(Entry.idempotency_key == f"adjustment:{token}"))
    if repeat is not None:  # a double submit: the first one stands, audited once
        return repeat
    minor = parse_amount(amount, account.currency)
    other = ledger_account(session, "adjustments", account.currency)
    if other.id == account.id:
        raise ServiceError("Choose the account to correct, not the adjustments account.",
                           field="account_id")  # fmt: skip
    normal = 1 if account.normal_side == "debit" else -1
    delta = normal * minor * (1 if direction == "increase" else -1)
    try:
        entry = post_entry(
            session,
            idempotency_key=f"adjustment:{token}",
            effective_at=effective_at or now,
            description=f"Manual adjustment: {reason}",
            legs=[Leg(account.id, delta), Leg(other.id, -delta)],
            metadata={"kind": "adjustment", "reason": reason, "by": actor_id},
            now=now,
        )
    except IdempotencyConflict as error:
        raise Conflict("That form was already used for another adjustment.") from error
    except LedgerError as error:
        raise ServiceError(str(error), field="amount") from error
    record_audit(
        session,
        actor_id=actor_id,
        action="ledger.adjustment",
        subject_type="ledger_account",
        subject_id=account.id,
        reason=reason,
        details={"entry_id": entry.id, "amount": delta, "currency": account.currency,
                 "direction": direction},
    )  # fmt: skip
    session.commit()
    return entry
