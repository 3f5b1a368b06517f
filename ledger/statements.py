"""Account statements: opening, movements grouped by series/episode/partner/country (from the
allocation events, per event via party_amounts), refunds, payouts, other, closing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.accounts import normal_sign
from ledger.allocation import parties_from_json, party_amounts
from ledger.balances import get_balance, posted_sum
from ledger.errors import UnknownAccount
from ledger.schema import Account, AllocationBucket, AllocationEventRow, Entry, Posting

EVENT_FIELDS = ("series_id", "episode", "partner_id", "country")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """Money of one kind and one group, within the period (normal side, minor units).

    Fields:
        kind: "earning" (unlock events), "refund" (negative-gross events), "payout" (entries
            whose metadata kind is "payout", or their reversals), or "other".
        group: for events, (("series_id", ..), ("episode", ..), ("partner_id", ..),
            ("country", ..)); for other entries, their metadata items, sorted.
        amount: the signed total.
        count: how many events (or entries) it sums.
    """

    kind: str
    group: tuple[tuple[str, Any], ...]
    amount: int
    count: int


@dataclass(frozen=True, slots=True)
class Statement:
    """One account over [start, end): opening + sum(lines) == closing, exactly.

    Fields:
        account_id, currency: the account.
        start, end: the period, by effective time, start included, end excluded.
        opening: posted balance of postings effective before start.
        lines: the period's movements, grouped (see StatementLine).
        closing: posted balance of postings effective before end.
        pending, available: the account's pending and available amounts at `now`.
    """

    account_id: int
    currency: str
    start: datetime
    end: datetime
    opening: int
    lines: tuple[StatementLine, ...]
    closing: int
    pending: int
    available: int

    def total(self, kind: str) -> int:
        """Return the sum of the lines of one kind ("earning", "refund", "payout", "other")."""
        return sum(line.amount for line in self.lines if line.kind == kind)

    @property
    def movements(self) -> int:
        """Return the sum of every line."""
        return sum(line.amount for line in self.lines)

    def totals_by(self, field: str, kind: str = "earning") -> dict[Any, int]:
        """Return the lines of one kind summed by one group field (e.g. "series_id")."""
        totals: dict[Any, int] = defaultdict(int)
        for line in self.lines:
            if line.kind == kind:
                totals[dict(line.group).get(field)] += line.amount
        return dict(totals)


def statement(
    session: Session,
    account_id: int,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> Statement:
    """Return the account's statement for [start, end) by effective time."""
    session.flush()
    account = session.get(Account, account_id)
    if account is None:
        raise UnknownAccount(f"no such ledger account: {account_id}")
    sign = normal_sign(account.normal_side)
    per_entry = dict(
        session.execute(
            select(Posting.entry_id, func.sum(Posting.amount))
            .where(
                Posting.account_id == account_id,
                Posting.effective_at >= start,
                Posting.effective_at < end,
            )
            .group_by(Posting.entry_id)
        ).all()
    )
    lines: dict[tuple[str, tuple], list[int]] = defaultdict(lambda: [0, 0])
    with_events = _add_event_lines(session, account_id, sign, list(per_entry), lines)
    for entry in session.scalars(
        select(Entry).where(Entry.id.in_([e for e in per_entry if e not in with_events]))
    ):
        kind = entry.meta.get("kind")
        if kind == "reversal" and entry.meta.get("reverses_kind") == "payout":
            kind = "payout"
        line = lines["payout" if kind == "payout" else "other", _metadata_group(entry.meta)]
        line[0] += sign * int(per_entry[entry.id])
        line[1] += 1
    balance = get_balance(session, account_id, now)
    return Statement(
        account_id=account_id,
        currency=account.currency,
        start=start,
        end=end,
        opening=posted_sum(session, account_id, before=start, inclusive=False),
        lines=tuple(
            StatementLine(kind, group, amount, count)
            for (kind, group), (amount, count) in sorted(lines.items(), key=_line_order)
        ),
        closing=posted_sum(session, account_id, before=end, inclusive=False),
        pending=balance.pending,
        available=balance.available,
    )


def _line_order(item) -> tuple:
    (kind, group), _ = item
    return (kind, [(name, str(value)) for name, value in group])


def _metadata_group(meta: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted((str(k), v if isinstance(v, str | int) else str(v)) for k, v in meta.items())
    )


def _add_event_lines(session, account_id, sign, entry_ids, lines) -> set[int]:
    """Add each allocation event's money for this account to its line; return their entries."""
    events = AllocationEventRow
    rows = session.execute(
        select(
            events.entry_id,
            events.gross,
            events.cumulative_before,
            events.attributes,
            AllocationBucket.parties,
            AllocationBucket.debit_account_id,
        )
        .join(AllocationBucket, AllocationBucket.id == events.bucket_id)
        .where(events.entry_id.in_(entry_ids))
    ).all()
    parties_cache: dict[str, Any] = {}
    for _entry_id, gross, before, attributes, parties_json, debit_account_id in rows:
        if account_id == debit_account_id:
            amount = gross
        else:
            key = repr(parties_json)
            parties = parties_cache.get(key) or parties_cache.setdefault(
                key, parties_from_json(parties_json)
            )
            amount = -party_amounts(parties, before, gross).get(account_id, 0)
        group = tuple((name, attributes.get(name)) for name in EVENT_FIELDS)
        line = lines["earning" if gross > 0 else "refund", group]
        line[0] += sign * amount
        line[1] += 1
    return {row[0] for row in rows}
