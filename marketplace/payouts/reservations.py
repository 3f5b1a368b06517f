"""The ledger entries that reserve a payout batch's money: one per paying line, Dr each of the
payee's member earnings accounts by its available amount, Cr platform payouts in transit by
what is transferred, and Cr the payee's tax-withheld liability by the tax withheld.

A batch writes 100,000 of them in one transaction, so their content is formatted here without
json.dumps per entry: the canonical JSON that ledger.posting.content_hash would hash is put
together from pieces encoded once per batch and integers (tests/payouts/test_reservations.py
holds the two to the same digest). Same entries, same keys, same hashes as post_entry's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger.journal import NewEntry, reserve_entry_ids, write_entries
from marketplace.chart import ledger_account
from marketplace.payouts.models import PayoutBatch


@dataclass(frozen=True, slots=True)
class Reservation:
    """One paying line's money to reserve.

    Fields:
        line_id: the payout line (its id is part of the entry's key, description and metadata).
        user_id: the payee.
        currency: ISO 4217 code of every leg.
        amount: the line's amount (> 0), the sum of the legs' amounts.
        legs: (member earnings account id, available amount) per membership.
        withheld: tax withheld (0 <= withheld < amount): credited to the payee's
            tax_withheld account; payouts in transit gets amount - withheld.
    """

    line_id: int
    user_id: int
    currency: str
    amount: int
    legs: list[tuple[int, int]]
    withheld: int = 0


def reservation_key(line_id: int) -> str:
    """The ledger idempotency key of a line's reservation entry."""
    return f"payout:line:{line_id}:reserve"


def reservation_description(batch: PayoutBatch, line_id: int) -> str:
    """The narration of a line's reservation entry."""
    return f"Payout batch {batch.id} ({batch.period_key}): reserve line {line_id}"


def reservation_metadata(batch: PayoutBatch, line_id: int, user_id: int) -> dict:
    """The metadata of a line's reservation entry."""
    return {"kind": "payout", "batch_id": batch.id, "line_id": line_id, "user_id": user_id}


def reserve_lines(
    session: Session, batch: PayoutBatch, reservations: list[Reservation], now
) -> list[int]:
    """Write one reservation entry per line, all in one ledger write; return their entry ids,
    in order."""
    in_transit: dict[str, int] = {}
    withheld_to: dict[tuple[int, str], int] = {}
    entry_ids = reserve_entry_ids(session, len(reservations))
    content = _ContentFormat(batch)
    effective_at = batch.as_of
    entries = []
    for r, entry_id in zip(reservations, entry_ids, strict=True):
        if r.currency not in in_transit:
            in_transit[r.currency] = ledger_account(session, "payouts_in_transit", r.currency).id
        legs = [*r.legs, (in_transit[r.currency], -(r.amount - r.withheld))]
        if r.withheld:
            key = (r.user_id, r.currency)
            if key not in withheld_to:
                withheld_to[key] = ledger_account(session, "tax_withheld", r.currency, r.user_id).id
            legs.append((withheld_to[key], -r.withheld))
        entries.append(
            NewEntry(
                id=entry_id,
                idempotency_key=reservation_key(r.line_id),
                content_hash=content.digest(r.line_id, r.user_id, legs),
                effective_at=effective_at,
                description=reservation_description(batch, r.line_id),
                meta=reservation_metadata(batch, r.line_id, r.user_id),
                postings=[(account_id, amount, None) for account_id, amount in legs],
            )
        )
    # One write: the ledger locks every account in one statement, in id order.
    write_entries(session, entries, now)
    return entry_ids


class _ContentFormat:
    """content_hash(effective_at=, description=, metadata=, reverses=None, legs=) of a batch's
    reservation entries: json.dumps(..., sort_keys=True) of that content, with the strings
    encoded once per batch and only integers formatted per entry."""

    def __init__(self, batch: PayoutBatch) -> None:
        # The description ends with the line id: encode it once without, then add the digits.
        description = json.dumps(reservation_description(batch, 0))
        if not description.endswith('0"'):
            raise ValueError("a reservation's description must end with its line id")
        self.before_line = '{"description": ' + description[:-2]
        self.after_line = (
            '", "effective_at": ' + json.dumps(batch.as_of.isoformat()) + ', "legs": ['
        )
        self.metadata_head = (
            f'], "metadata": {{"batch_id": {batch.id}, "kind": "payout", "line_id": '
        )

    def digest(self, line_id: int, user_id: int, legs: list[tuple[int, int]]) -> str:
        """The sha256 hex digest of one entry's canonical content."""
        canonical = (
            f"{self.before_line}{line_id}{self.after_line}"
            + ", ".join([f"[{account_id}, {amount}, null]" for account_id, amount in sorted(legs)])
            + f'{self.metadata_head}{line_id}, "user_id": {user_id}}}, "reverses": null}}'
        )
        return hashlib.sha256(canonical.encode()).hexdigest()
