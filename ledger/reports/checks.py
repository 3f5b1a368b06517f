"""check_ledger: recompute everything maintained from the postings and allocation runs, and say
what disagrees."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.accounts import normal_sign
from ledger.allocation.engine import bucket_target
from ledger.allocation.splits import parties_from_json
from ledger.allocation.waterfall import waterfall_from_json
from ledger.schema import (
    Account,
    AllocationBucket,
    AllocationRun,
    BalanceRow,
    Entry,
    PendingRow,
    Posting,
)


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
    runs: dict[int, list[Run]] = defaultdict(list)
    table = AllocationRun.__table__
    for row in session.execute(
        select(
            table.c.bucket_id,
            table.c.entry_id,
            table.c.cumulative_from,
            table.c.allocated_from,
            table.c.refs,
            table.c.grosses,
            table.c.party_amounts,
            table.c.reverses,
            table.c.rounding,
        ).order_by(table.c.id)
    ):
        runs[row[0]].append(Run(*row[1:]))
    legs: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for entry_id, account_id, amount in session.execute(
        select(Posting.entry_id, Posting.account_id, Posting.amount).where(
            Posting.entry_id.in_(select(table.c.entry_id))
        )
    ):
        legs[entry_id][account_id] += amount
    # populate_existing: bucket rows are updated in place by Core statements, so objects a
    # caller loaded earlier in this session would be stale.
    buckets = select(AllocationBucket).order_by(AllocationBucket.id)
    for bucket in session.scalars(buckets.execution_options(populate_existing=True)):
        problems += _check_bucket(bucket, runs.get(bucket.id, []), legs)
    return problems


class Run(NamedTuple):
    """A run as the bucket check reads it (see ledger.schema.AllocationRun)."""

    entry_id: int
    cumulative_from: int
    allocated_from: list[int]
    refs: list[int]
    grosses: list[int]
    party_amounts: list[int]
    reverses: list[int]
    rounding: list[int]


def _check_bucket(
    bucket: AllocationBucket, runs: list[Run], legs: dict[int, dict[int, int]]
) -> list[Problem]:
    """Walk the bucket's runs in order: each starts where the last ended, every event pays its
    step target(C + g) - target(C) (a refund: exactly minus what the event it reverses paid;
    in a waterfall's bucket, a refund steps back like any event),
    each run's rounding is what brought `allocated` back to target(C) before its events that
    are not refunds, each entry's legs are its run's sums, and the bucket's totals are where
    the walk ends."""
    parties = parties_from_json(bucket.parties)
    waterfall = None if bucket.waterfall is None else waterfall_from_json(bucket.waterfall)
    target_at = bucket_target(parties, waterfall)
    width = len(parties)
    name = f"bucket {bucket.key!r}"
    problems: list[Problem] = []
    cumulative, allocated = 0, [0] * width
    paid: dict[int, list[int]] = {}
    for run in runs:
        if run.cumulative_from != cumulative or list(run.allocated_from) != allocated:
            problems.append(
                Problem(
                    "run-chain",
                    f"{name}: the run of entry {run.entry_id} starts at {run.cumulative_from}"
                    f" {list(run.allocated_from)}, expected {cumulative} {allocated}",
                )
            )
            cumulative, allocated = run.cumulative_from, list(run.allocated_from)
        totals, rounding = [0] * width, [0] * width
        for i, (ref, gross, reverses) in enumerate(
            zip(run.refs, run.grosses, run.reverses, strict=True)
        ):
            amounts = list(run.party_amounts[i * width : (i + 1) * width])
            if reverses and waterfall is None:
                want = [-a for a in paid.get(reverses, [])]
            else:
                before = target_at(cumulative)
                rounding = [r + b - a for r, b, a in zip(rounding, before, allocated, strict=True)]
                allocated = before
                target = target_at(cumulative + gross)
                want = [t - b for t, b in zip(target, before, strict=True)]
            if amounts != want:
                problems.append(
                    Problem(
                        "event-amounts",
                        f"{name}: event {ref} in entry {run.entry_id} pays {amounts},"
                        f" the split gives {want}",
                    )
                )
            paid[ref] = amounts
            cumulative += gross
            allocated = [a + b for a, b in zip(allocated, amounts, strict=True)]
            totals = [a + b for a, b in zip(totals, amounts, strict=True)]
        if list(run.rounding) != rounding:
            problems.append(
                Problem(
                    "run-rounding",
                    f"{name}: the run of entry {run.entry_id} rounds by {list(run.rounding)},"
                    f" its events need {rounding}",
                )
            )
        totals = [a + b for a, b in zip(totals, rounding, strict=True)]
        want_legs = {p.account_id: -t for p, t in zip(parties, totals, strict=True) if t}
        moved = sum(run.grosses)
        if moved:
            want_legs[bucket.debit_account_id] = want_legs.get(bucket.debit_account_id, 0) + moved
        got = {a: v for a, v in legs.get(run.entry_id, {}).items() if v}
        if got != {a: v for a, v in want_legs.items() if v}:
            problems.append(
                Problem(
                    "entry-legs",
                    f"{name}: entry {run.entry_id} posts {got}, its run gives {want_legs}",
                )
            )
    stored = [int(bucket.allocated.get(str(p.account_id), 0)) for p in parties]
    if cumulative != bucket.cumulative_gross or stored != allocated:
        problems.append(
            Problem(
                "bucket-totals",
                f"{name}: stores cumulative {bucket.cumulative_gross} and allocated {stored},"
                f" its runs give {cumulative} and {allocated}",
            )
        )
    return problems
