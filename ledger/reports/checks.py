"""check_ledger: recompute everything maintained from the postings and events, and say what
disagrees."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.accounts import normal_sign
from ledger.allocation.engine import largest_remainder, parties_from_json
from ledger.schema import (
    Account,
    AllocationBucket,
    AllocationEventRow,
    BalanceRow,
    Entry,
    PendingRow,
    Posting,
)

BucketEvent = tuple[int, int, int, str]
"""An allocation event as the bucket check reads it: (entry_id, gross, cumulative_before,
source_key)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One inconsistency found by check_ledger.

    Fields:
        code: a stable slug ("balance-mismatch", "unbalanced-entry", ...).
        message: a sentence a person can act on.
    """

    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


def check_ledger(session: Session) -> list[Problem]:
    """Recompute balances, pending amounts, entry sums and allocation buckets; list mismatches."""
    session.flush()
    problems: list[Problem] = []
    problems += _check_entries(session)
    problems += _check_balances(session)
    problems += _check_pending(session)
    problems += _check_buckets(session)
    return problems


def _signs(session: Session) -> dict[int, int]:
    return {
        row[0]: normal_sign(row[1])
        for row in session.execute(select(Account.id, Account.normal_side))
    }


def _check_entries(session: Session) -> list[Problem]:
    problems = [
        Problem(
            "unbalanced-entry",
            f"entry {entry_id} does not balance in {currency}: postings sum to {total}",
        )
        for entry_id, currency, total in session.execute(
            select(Posting.entry_id, Posting.currency, func.sum(Posting.amount))
            .group_by(Posting.entry_id, Posting.currency)
            .having(func.sum(Posting.amount) != 0)
        )
    ]
    orphans = session.execute(
        select(Posting.id, Posting.entry_id)
        .outerjoin(Entry, Entry.id == Posting.entry_id)
        .where(Entry.id.is_(None))
    ).all()
    problems += [
        Problem("orphan-posting", f"posting {pid} names entry {eid}, which does not exist")
        for pid, eid in orphans
    ]
    return problems


def _check_balances(session: Session) -> list[Problem]:
    signs = _signs(session)
    recomputed = dict(
        session.execute(
            select(Posting.account_id, func.sum(Posting.amount)).group_by(Posting.account_id)
        )
        .tuples()
        .all()
    )
    stored = dict(session.execute(select(BalanceRow.account_id, BalanceRow.posted)).tuples().all())
    problems = []
    for account_id, sign in sorted(signs.items()):
        expected = sign * int(recomputed.get(account_id, 0))
        if account_id not in stored:
            problems.append(Problem("missing-balance", f"account {account_id} has no balance row"))
        elif stored[account_id] != expected:
            problems.append(
                Problem(
                    "balance-mismatch",
                    f"account {account_id}: ledger_balances says {stored[account_id]}, "
                    f"its postings sum to {expected}",
                )
            )
    return problems


def _check_pending(session: Session) -> list[Problem]:
    signs = _signs(session)
    recomputed: dict[tuple[int, datetime], int] = defaultdict(int)
    for account_id, available_at, total in session.execute(
        select(Posting.account_id, Posting.available_at, func.sum(Posting.amount))
        .where(Posting.available_at.is_not(None))
        .group_by(Posting.account_id, Posting.available_at)
    ):
        recomputed[account_id, available_at] += signs[account_id] * int(total)
    stored = {
        (row[0], row[1]): row[2]
        for row in session.execute(
            select(PendingRow.account_id, PendingRow.available_at, PendingRow.amount)
        )
    }
    problems = []
    for key in sorted(recomputed.keys() | stored.keys()):
        if recomputed.get(key, 0) != stored.get(key, 0):
            problems.append(
                Problem(
                    "pending-mismatch",
                    f"account {key[0]} at {key[1].isoformat()}: ledger_pending says "
                    f"{stored.get(key, 0)}, postings say {recomputed.get(key, 0)}",
                )
            )
    return problems


def _check_buckets(session: Session) -> list[Problem]:
    problems: list[Problem] = []
    events: dict[int, list[BucketEvent]] = defaultdict(list)
    for bucket_id, entry_id, gross, before, source_key in session.execute(
        select(
            AllocationEventRow.bucket_id,
            AllocationEventRow.entry_id,
            AllocationEventRow.gross,
            AllocationEventRow.cumulative_before,
            AllocationEventRow.source_key,
        ).order_by(AllocationEventRow.id)
    ).tuples():
        events[bucket_id].append((entry_id, gross, before, source_key))
    legs: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for entry_id, account_id, amount in session.execute(
        select(Posting.entry_id, Posting.account_id, Posting.amount).where(
            Posting.entry_id.in_(select(AllocationEventRow.entry_id))
        )
    ):
        legs[entry_id][account_id] += amount
    for bucket in session.scalars(select(AllocationBucket).order_by(AllocationBucket.id)):
        problems += _check_bucket(bucket, events.get(bucket.id, []), legs)
    return problems


def _check_bucket(
    bucket: AllocationBucket, events: list[BucketEvent], legs: dict[int, dict[int, int]]
) -> list[Problem]:
    parties = parties_from_json(bucket.parties)
    weights = [p.weight for p in parties]
    problems = []
    name = f"bucket {bucket.key!r}"
    cumulative = 0
    spans: dict[int, list[int]] = {}
    for entry_id, gross, before, source_key in events:
        if before != cumulative:
            problems.append(
                Problem(
                    "event-chain",
                    f"{name}: event {source_key!r} starts at {before}, expected {cumulative}",
                )
            )
        span = spans.setdefault(entry_id, [before, before])
        span[1] = before + gross
        cumulative = before + gross
    if cumulative != bucket.cumulative_gross:
        problems.append(
            Problem(
                "bucket-gross",
                f"{name}: cumulative_gross is {bucket.cumulative_gross},"
                f" events sum to {cumulative}",
            )
        )
    target = largest_remainder(bucket.cumulative_gross, weights)
    allocated = {int(k): v for k, v in bucket.allocated.items() if v}
    expected = {p.account_id: t for p, t in zip(parties, target, strict=True) if t}
    credited: dict[int, int] = defaultdict(int)
    for entry_id, (start, end) in spans.items():
        delta = [
            a - b
            for a, b in zip(
                largest_remainder(end, weights), largest_remainder(start, weights), strict=True
            )
        ]
        want = {p.account_id: -d for p, d in zip(parties, delta, strict=True) if d}
        if end != start:
            want[bucket.debit_account_id] = end - start
        got = {a: v for a, v in legs.get(entry_id, {}).items() if v}
        if got != want:
            problems.append(
                Problem(
                    "event-amounts",
                    f"{name}: entry {entry_id} posts {got}, its events' party_amounts give {want}",
                )
            )
        for account_id, amount in want.items():
            if account_id != bucket.debit_account_id:
                credited[account_id] -= amount
    if allocated != expected or {a: v for a, v in credited.items() if v} != expected:
        problems.append(
            Problem(
                "bucket-allocated",
                f"{name}: allocated {allocated}, entries credit {dict(credited)}, "
                f"target(cumulative) is {expected}",
            )
        )
    return problems
