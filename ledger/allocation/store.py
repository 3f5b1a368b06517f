"""The allocation buckets' and runs' rows: creating and locking buckets, reading the money of
posted events (for refunds), writing runs and bucket totals (allocate_batch's statements, per
dialect).

Kept apart from ledger.allocation.engine, which decides what to post; this module only reads and
writes rows, a handful of statements per batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    any_,
    bindparam,
    cast,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.allocation.splits import Party
from ledger.allocation.waterfall import Waterfall
from ledger.errors import BucketMismatch, LedgerError
from ledger.journal import NULL, copy_text, escape, is_postgresql, pg_array, text_array
from ledger.schema import AllocationBucket, AllocationRun, BucketParty

if TYPE_CHECKING:
    from ledger.allocation.engine import AllocationEvent



@dataclass(slots=True)
class BucketSpec:
    """A bucket of the batch: its terms, then (once locked) its id, cumulative gross and the
    batch's new events."""

    key: str
    currency: str
    debit_account_id: int
    parties: tuple[Party, ...]
    digest: str
    waterfall: Waterfall | None = None
    id: int = 0
    cumulative: int = 0
    allocated: list[int] = field(default_factory=list)
    new_events: list[AllocationEvent] = field(default_factory=list)


class RunRow(NamedTuple):
    """A ledger_allocation_runs row about to be written (see AllocationRun for the fields)."""

    bucket_id: int
    entry_id: int
    hour: datetime
    available_at: datetime | None
    cumulative_from: int
    allocated_from: list[int]
    refs: list[int]
    grosses: list[int]
    offsets: list[int]
    line_keys: list[str]
    party_amounts: list[int]
    reverses: list[int]
    rounding: list[int]


def _key_in(session: Session, column: ColumnElement[str], values: list[str]) -> ColumnElement[bool]:
    if is_postgresql(session):
        return column == any_(cast(literal(pg_array(values)), postgresql.ARRAY(String)))
    return column.in_(values)


def ensure_buckets(session: Session, specs: dict[str, BucketSpec]) -> None:
    """Create the batch's missing buckets (in key order) and set every spec's id; no lock taken
    on existing buckets (lock_buckets does that later, just before the cumulative run is read).

    Missing buckets are inserted in key order: concurrent writers meet on new keys in one global
    order (a writer waits on the first key another holds), and lock_buckets locks existing rows
    in that same order, so creating and locking cannot deadlock.
    """
    buckets = AllocationBucket.__table__
    keys = sorted(specs)
    found = {
        row.key: row
        for row in session.execute(
            select(buckets.c.id, buckets.c.key, buckets.c.parties_hash).where(
                _key_in(session, buckets.c.key, keys)
            )
        )
    }
    missing = [key for key in keys if key not in found]
    if missing:
        dialect = postgresql if is_postgresql(session) else sqlite
        created = session.execute(
            dialect.insert(buckets)
            .values(
                [
                    {
                        "key": key,
                        "currency": specs[key].currency,
                        "debit_account_id": specs[key].debit_account_id,
                        "parties": [[p.account_id, p.weight, p.held] for p in specs[key].parties],
                        "parties_hash": specs[key].digest,
                        "cumulative_gross": 0,
                        "allocated": {},
                        "waterfall": _waterfall_json(specs[key].waterfall),
                    }
                    for key in missing
                ]
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(buckets.c.id, buckets.c.key, buckets.c.parties_hash)
        ).all()
        record_bucket_parties(session, [(row.id, specs[row.key]) for row in created])
        found.update((row.key, row) for row in created)
        raced = [key for key in missing if key not in found]
        if raced:  # created meanwhile by a concurrent writer (committed: the insert waited)
            found.update(
                (row.key, row)
                for row in session.execute(
                    select(buckets.c.id, buckets.c.key, buckets.c.parties_hash).where(
                        _key_in(session, buckets.c.key, raced)
                    )
                )
            )
    for key in keys:
        row, spec = found[key], specs[key]
        if row.parties_hash != spec.digest:
            raise BucketMismatch(
                f"bucket {key!r} exists with another split, currency or debit account;"
                " a new split version needs a new bucket key"
            )
        spec.id = row.id


def _waterfall_json(waterfall: Waterfall | None) -> dict[str, Any] | None:
    return None if waterfall is None else waterfall.to_json()


def lock_buckets(session: Session, specs: dict[str, BucketSpec]) -> None:
    """Lock the buckets FOR UPDATE in key order and read their cumulative gross and what each
    party was allocated (after ensure_buckets: every spec has its id)."""
    buckets = AllocationBucket.__table__
    rows = session.execute(
        select(buckets.c.key, buckets.c.cumulative_gross, buckets.c.allocated)
        .where(_key_in(session, buckets.c.key, sorted(specs)))
        .order_by(buckets.c.key)
        .with_for_update()
    )
    for key, cumulative, allocated in rows:
        spec = specs[key]
        spec.cumulative = cumulative
        given = allocated if isinstance(allocated, dict) else json.loads(allocated or "{}")
        spec.allocated = [int(given.get(str(p.account_id), 0)) for p in spec.parties]


def record_bucket_parties(session: Session, created: list[tuple[int, BucketSpec]]) -> None:
    """Index new buckets by the accounts they move (position in parties, -1 for the debit)."""
    rows = [
        {"account_id": account_id, "bucket_id": bucket_id, "position": position}
        for bucket_id, spec in created
        for position, account_id in [
            (-1, spec.debit_account_id),
            *((i, p.account_id) for i, p in enumerate(spec.parties)),
        ]
    ]
    if rows:
        dialect = postgresql if is_postgresql(session) else sqlite
        session.execute(dialect.insert(BucketParty.__table__).on_conflict_do_nothing(), rows)


def reversed_amounts(
    session: Session, wanted: dict[int, set[int]]
) -> dict[tuple[int, int], tuple[tuple[int, ...], int]]:
    """(bucket id, ref) -> (its money per party, its gross) of posted events, read from the
    runs of each bucket whose ref range covers them (index on (bucket_id, max_ref)).

    Raises LedgerError naming an event no run of its bucket holds."""
    runs = AllocationRun.__table__
    found: dict[tuple[int, int], tuple[tuple[int, ...], int]] = {}
    for bucket_id, refs in sorted(wanted.items()):
        width = len(
            session.execute(
                select(AllocationBucket.parties).where(AllocationBucket.id == bucket_id)
            ).scalar_one()
        )
        rows = session.execute(
            select(runs.c.refs, runs.c.grosses, runs.c.party_amounts).where(
                runs.c.bucket_id == bucket_id,
                runs.c.max_ref >= min(refs),
                runs.c.min_ref <= max(refs),
            )
        )
        for run_refs, grosses, amounts in rows:
            for index, ref in enumerate(run_refs):
                if ref in refs:
                    row = tuple(amounts[index * width : (index + 1) * width])
                    found[bucket_id, ref] = (row, grosses[index])
        missing = sorted(ref for ref in refs if (bucket_id, ref) not in found)
        if missing:
            raise LedgerError(f"bucket {bucket_id} has not posted the reversed event(s) {missing}")
    return found


_RUN_COLUMNS = (
    "bucket_id, entry_id, hour, available_at, cumulative_from, allocated_from, refs, grosses,"
    " offsets, line_keys, party_amounts, reverses, rounding, min_ref, max_ref"
)


def insert_runs(session: Session, rows: list[RunRow]) -> None:
    """Write the batch's runs (COPY on PostgreSQL)."""
    if not rows:
        return
    if is_postgresql(session):
        lines = "".join(
            f"{run.bucket_id}\t{run.entry_id}\t{run.hour.isoformat()}\t"
            f"{run.available_at.isoformat() if run.available_at else NULL}\t"
            f"{run.cumulative_from}\t{{{','.join(map(str, run.allocated_from))}}}\t"
            f"{{{','.join(map(str, run.refs))}}}\t{{{','.join(map(str, run.grosses))}}}\t"
            f"{{{','.join(map(str, run.offsets))}}}\t{escape(text_array(run.line_keys))}\t"
            f"{{{','.join(map(str, run.party_amounts))}}}\t"
            f"{{{','.join(map(str, run.reverses))}}}\t{{{','.join(map(str, run.rounding))}}}\t"
            f"{min(run.refs)}\t{max(run.refs)}\n"
            for run in rows
        )
        copy_text(session, "ledger_allocation_runs", _RUN_COLUMNS, lines)
        return
    session.execute(
        AllocationRun.__table__.insert(),
        [{**run._asdict(), "min_ref": min(run.refs), "max_ref": max(run.refs)} for run in rows],
    )


def update_buckets(session: Session, touched: list[BucketSpec]) -> None:
    if not touched:
        return
    allocated = [
        json.dumps(
            {str(p.account_id): amount for p, amount in zip(s.parties, s.allocated, strict=True)}
        )
        for s in touched
    ]
    if is_postgresql(session):
        session.execute(
            text(
                "UPDATE ledger_allocation_buckets AS b"
                " SET cumulative_gross = v.c, allocated = CAST(v.a AS json)"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:cs AS bigint[]),"
                " CAST(:allocs AS text[])) AS v(id, c, a) WHERE b.id = v.id"
            ),
            {
                "ids": pg_array([s.id for s in touched]),
                "cs": pg_array([s.cumulative for s in touched]),
                "allocs": pg_array(allocated),
            },
        )
        return
    buckets = AllocationBucket.__table__
    session.execute(
        update(buckets)
        .where(buckets.c.id == bindparam("b_id"))
        .values(cumulative_gross=bindparam("b_c"), allocated=bindparam("b_a", type_=JSON)),
        [
            {"b_id": s.id, "b_c": s.cumulative, "b_a": json.loads(a)}
            for s, a in zip(touched, allocated, strict=True)
        ],
    )


class UnpackedEvent(NamedTuple):
    """One event of a run: its ref, effective time, gross, statement line values (LINE_FIELDS
    order), money per party (canonical order) and the ref it reverses (0: none)."""

    ref: int
    effective_at: datetime
    gross: int
    line: list[Any]
    amounts: list[int]
    reverses: int


def unpack_run(run: AllocationRun) -> list[UnpackedEvent]:
    """A run's events, in order, each with its own money."""
    count = len(run.refs)
    width = len(run.party_amounts) // count if count else 0
    return [
        UnpackedEvent(
            ref,
            run.hour + timedelta(microseconds=run.offsets[i]),
            run.grosses[i],
            json.loads(run.line_keys[i]),
            list(run.party_amounts[i * width : (i + 1) * width]),
            run.reverses[i],
        )
        for i, ref in enumerate(run.refs)
    ]
