"""Posting balanced entries and reversing them, idempotently."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ledger.errors import AlreadyReversed, IdempotencyConflict, LedgerError, UnbalancedEntry
from ledger.journal import (
    NewEntry,
    check_leg_currencies,
    lock_accounts,
    reserve_entry_ids,
    write_entries,
)
from ledger.money import Money, check_minor_units
from ledger.schema import AllocationRun, Entry, Posting, utcnow


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an entry.

    Fields:
        account_id: the account moved.
        amount: signed minor units (+ debit, - credit), or a Money whose currency must be the
            account's.
        available_at: when the money becomes available to the account; None means at once.
    """

    account_id: int
    amount: int | Money
    available_at: datetime | None = None

    @property
    def minor_units(self) -> int:
        """Return the signed amount as an int."""
        return self.amount.amount if isinstance(self.amount, Money) else self.amount

    @property
    def currency(self) -> str | None:
        """Return the declared currency, if the amount is a Money."""
        return self.amount.currency if isinstance(self.amount, Money) else None


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    return moment


def content_hash(**content: Any) -> str:
    """Return the sha256 of the content's canonical JSON (datetimes as ISO strings)."""
    canonical = json.dumps(content, sort_keys=True, default=lambda v: v.isoformat())
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find_repeat(session: Session, idempotency_key: str, digest: str) -> Entry | None:
    entry = session.scalars(select(Entry).where(Entry.idempotency_key == idempotency_key)).first()
    if entry is not None and entry.content_hash != digest:
        raise IdempotencyConflict(
            f"idempotency key {idempotency_key!r} was used by entry {entry.id} for other content"
        )
    return entry


def post_entry(
    session: Session,
    *,
    idempotency_key: str,
    effective_at: datetime,
    description: str,
    legs: list[Leg],
    metadata: dict[str, Any] | None = None,
    now: datetime | None = None,
    reverses_entry_id: int | None = None,
) -> Entry:
    """Write a balanced entry (or return the one already written under this key)."""
    _aware(effective_at, "effective_at")
    metadata = dict(metadata or {})
    for leg in legs:
        check_minor_units(leg.minor_units)
        if leg.minor_units == 0:
            raise ValueError(f"leg for account {leg.account_id} has a zero amount")
        if leg.available_at is not None:
            _aware(leg.available_at, "available_at")
    if not legs:
        raise UnbalancedEntry("an entry needs legs")
    digest = content_hash(
        effective_at=effective_at,
        description=description,
        metadata=metadata,
        reverses=reverses_entry_id,
        legs=sorted(
            [leg.account_id, leg.minor_units, leg.available_at and leg.available_at.isoformat()]
            for leg in legs
        ),
    )
    session.flush()
    repeat = _find_repeat(session, idempotency_key, digest)
    if repeat is not None:
        return repeat
    locked = lock_accounts(session, {leg.account_id for leg in legs})
    check_leg_currencies([(leg.account_id, leg.currency) for leg in legs], locked)
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        totals[locked[leg.account_id].currency] += leg.minor_units
    off = {currency: total for currency, total in totals.items() if total}
    if off:
        raise UnbalancedEntry(f"entry {idempotency_key!r} does not balance: {off}")
    (entry_id,) = reserve_entry_ids(session, 1)
    new = NewEntry(
        id=entry_id,
        idempotency_key=idempotency_key,
        content_hash=digest,
        effective_at=effective_at,
        description=description,
        meta=metadata,
        reverses_entry_id=reverses_entry_id,
        postings=[(leg.account_id, leg.minor_units, leg.available_at) for leg in legs],
    )
    write_entries(session, [new], now or utcnow(), locked)
    return session.get_one(Entry, entry_id)


def reverse_entry(
    session: Session,
    entry_id: int,
    *,
    idempotency_key: str,
    effective_at: datetime,
    description: str,
    now: datetime | None = None,
) -> Entry:
    """Write the entry that undoes `entry_id` (each posting negated, same availability)."""
    session.flush()
    original = session.get(Entry, entry_id)
    if original is None:
        raise LedgerError(f"no entry {entry_id} to reverse")
    if session.scalar(select(exists().where(AllocationRun.entry_id == entry_id))):
        raise LedgerError(f"entry {entry_id} carries allocation events; refund the events instead")
    postings = session.scalars(
        select(Posting).where(Posting.entry_id == entry_id).order_by(Posting.id)
    ).all()
    legs = [Leg(p.account_id, -p.amount, p.available_at) for p in postings]
    reversal = session.scalars(select(Entry).where(Entry.reverses_entry_id == entry_id)).first()
    if reversal is not None and reversal.idempotency_key != idempotency_key:
        raise AlreadyReversed(f"entry {entry_id} was already reversed by entry {reversal.id}")
    return post_entry(
        session,
        idempotency_key=idempotency_key,
        effective_at=effective_at,
        description=description,
        legs=legs,
        metadata={
            "kind": "reversal",
            "reverses": entry_id,
            "reverses_kind": original.meta.get("kind"),
        },
        now=now,
        reverses_entry_id=entry_id,
    )
