"""The allocation buckets' and events' rows: creating and locking buckets, looking up applied
events, writing event rows and bucket totals (allocate_batch's statements, per dialect).

Kept apart from ledger.allocation.engine, which decides what to post; this module only reads and
writes rows, a handful of statements per batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

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

from ledger.allocation.splits import Party, target
from ledger.errors import BucketMismatch
from ledger.journal import NULL, copy_text, escape, is_postgresql, pg_array
from ledger.schema import AllocationBucket, AllocationEventRow, BucketParty

if TYPE_CHECKING:
    from ledger.allocation.engine import AllocationEvent

AppliedEvent = tuple[str, int, int, int]
"""An event already applied: (bucket key, gross, entry_id, cumulative_before)."""

EventRow = tuple[str, int, int, int, int, datetime, datetime | None, str, list[int]]
"""A ledger_allocation_events row, in the order of _EVENT_COLUMNS (attributes as JSON text)."""


@dataclass(slots=True)
class BucketSpec:
    """A bucket of the batch: its terms, then (once locked) its id, cumulative gross and the
    batch's new events."""

    key: str
    currency: str
    debit_account_id: int
    parties: tuple[Party, ...]
    digest: str
    id: int = 0
    cumulative: int = 0
    new_events: list[AllocationEvent] = field(default_factory=list)


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


def lock_buckets(session: Session, specs: dict[str, BucketSpec]) -> None:
    """Lock the buckets FOR UPDATE in key order and read their cumulative gross (after
    ensure_buckets: every spec has its id)."""
    buckets = AllocationBucket.__table__
    rows = session.execute(
        select(buckets.c.key, buckets.c.cumulative_gross)
        .where(_key_in(session, buckets.c.key, sorted(specs)))
        .order_by(buckets.c.key)
        .with_for_update()
    )
    for key, cumulative in rows:
        specs[key].cumulative = cumulative


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


def applied_events(session: Session, source_keys: list[str]) -> dict[str, AppliedEvent]:
    """Return {source_key: (bucket key, gross, entry_id, cumulative_before)} of applied events."""
    if is_postgresql(session):
        # A join on unnest keeps one index probe per key whatever the planner's statistics say.
        rows = session.execute(
            text(
                "SELECT e.source_key, b.key, e.gross, e.entry_id, e.cumulative_before"
                " FROM unnest(CAST(:keys AS text[])) AS k(source_key)"
                " JOIN ledger_allocation_events AS e ON e.source_key = k.source_key"
                " JOIN ledger_allocation_buckets AS b ON b.id = e.bucket_id"
            ),
            {"keys": pg_array(source_keys)},
        ).all()
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
    events, buckets = AllocationEventRow.__table__, AllocationBucket.__table__
    rows = session.execute(
        select(
            events.c.source_key,
            buckets.c.key,
            events.c.gross,
            events.c.entry_id,
            events.c.cumulative_before,
        )
        .join(buckets, buckets.c.id == events.c.bucket_id)
        .where(events.c.source_key.in_(source_keys))
    ).all()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


_EVENT_COLUMNS = (
    "source_key, bucket_id, entry_id, gross, cumulative_before, effective_at, available_at,"
    " attributes, party_amounts"
)


def insert_event_rows(session: Session, rows: list[EventRow]) -> None:
    if not rows:
        return
    if is_postgresql(session):
        # Times are nearly all distinct (no cache); strings escaped only when they need it.
        lines = "".join(
            [
                f"{escape(key)}\t{bucket}\t{entry}\t{gross}\t{before}\t"
                f"{effective.isoformat()}\t{available.isoformat() if available else NULL}\t"
                f"{escape(attributes)}\t{{{','.join(map(str, amounts))}}}\n"
                for (
                    key,
                    bucket,
                    entry,
                    gross,
                    before,
                    effective,
                    available,
                    attributes,
                    amounts,
                ) in rows
            ]
        )
        copy_text(session, "ledger_allocation_events", _EVENT_COLUMNS, lines)
        return
    names = [name.strip() for name in _EVENT_COLUMNS.split(",")]
    records: list[dict[str, Any]] = [dict(zip(names, row, strict=True)) for row in rows]
    for record in records:
        record["attributes"] = json.loads(record["attributes"])
    session.execute(AllocationEventRow.__table__.insert(), records)


def update_buckets(session: Session, touched: list[BucketSpec]) -> None:
    if not touched:
        return
    allocated = [
        json.dumps(
            {
                str(p.account_id): amount
                for p, amount in zip(s.parties, target(s.parties, s.cumulative), strict=True)
            }
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
