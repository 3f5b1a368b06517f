"""The ledger poster: turns accepted events of the event log into ledger entries, in batches.

The partner API only writes event rows; this posts them (`flask ledger post`, a process of its
own). Events are split into SHARDS by partner app (partner_id % SHARDS): a shard's events touch
only its partners' buckets, so posters working on different shards never meet, and a poster
takes a shard by locking its cursor row (FOR UPDATE SKIP LOCKED on PostgreSQL: several posters
share the shards; SQLite has one writer at a time anyway).

Exactly once: a batch's ledger writes and its cursor's advance commit together, so a poster
killed at any point leaves the cursor where the ledger is, and the next one posts the same
events again from there, in the same order, to the same result.

The order: on SQLite, event ids (one writer at a time: ids become visible in order). On
PostgreSQL ids are handed out before their transactions commit, so an id can become visible
after a larger one: each event row carries its transaction's id (txid), and a batch reads only
events of transactions older than every transaction still running
(pg_snapshot_xmin(pg_current_snapshot())), in (txid, id) order; no event can later appear
before the cursor. An unlock's refund always comes after it (the refund's transaction started
writing after the unlock's had committed). A long transaction anywhere holds the horizon back,
so the lag can grow while one runs; nothing is skipped. (The poster's own transaction, when
it is the oldest running, also sees its own events as final.)
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, or_, select, text, update
from sqlalchemy.orm import Session

from ledger.journal import is_postgresql
from ledger.schema import AllocationBucket, AllocationRun, UTCDateTime
from marketplace.ingest.kinds.sale_kinds import (
    SALE_KINDS,
    SaleContext,
    sale_bucket_keys,
    sale_facts,
)
from marketplace.ingest.models import PartnerEvent, PosterCursor
from marketplace.ingest.revenue import (
    RevenueFacts,
    bucket_key,
    post_revenue,
    split_versions_by_series,
)
from marketplace.ingest.waterfalls import PlanCache
from marketplace.partners.contracts import contract_at, contracts_of
from marketplace.partners.models import PartnerApp

SHARDS = 4
"""Fixed: a cursor's position is only meaningful for the events of its shard."""

BATCH_SIZE = 10_000

log = logging.getLogger("marketplace.ingest.poster")

_COLUMNS = (
    "id, partner_id, kind, series_id, episode, amount, occurred_at, country, refund_of,"
    " split_version_id, available_at, details, txid, created_at"
)
_PG_BATCH = text(
    f"SELECT {_COLUMNS} FROM partner_events"  # noqa: S608 - constants only
    " WHERE (txid, id) > (:txid, :event_id) AND txid < :horizon AND partner_id % :shards = :shard"
    " ORDER BY txid, id LIMIT :limit"
).columns(occurred_at=UTCDateTime, available_at=UTCDateTime, created_at=UTCDateTime)
# The oldest transaction id still running in this database, other than this one's (events are
# only written here; transactions of other databases of the cluster do not matter), else one
# past this transaction's own id (taking one if it has none yet): every event below it is
# committed or gone, and a transaction that gets its id after this read gets a larger one.
# This transaction's own events (a service that posts what it accepted in the same
# transaction, as the tests' rolled back transactions do) are final for it.
_PG_HORIZON = text(
    "SELECT coalesce(min(backend_xid::text::bigint),"
    " pg_current_xact_id()::text::bigint + 1)"
    " FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL"
    " AND pid <> pg_backend_pid()"
)
_SQLITE_BATCH = text(
    f"SELECT {_COLUMNS} FROM partner_events"  # noqa: S608 - constants only
    " WHERE id > :event_id AND partner_id % :shards = :shard ORDER BY id LIMIT :limit"
).columns(occurred_at=UTCDateTime, available_at=UTCDateTime, created_at=UTCDateTime)


@dataclass
class PostReport:
    """What a call to post_pending did: events and entries posted, per shard; the shards it
    skipped (another poster held them); the time the latest posted event was accepted."""

    events: int = 0
    entries: int = 0
    batches: int = 0
    skipped: list[int] = field(default_factory=list)
    through: datetime | None = None


def post_pending(
    session: Session,
    *,
    shards: Iterable[int] = range(SHARDS),
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    plans: PlanCache | None = None,
) -> PostReport:
    """Post every accepted event not yet in the ledger, batch by batch (each commits), one
    batch of each shard in turn, so that a shard far behind does not keep the others waiting
    (their events, and an idle shard's cursor following the horizon); `plans`: the process's
    plan cache (else one for this call)."""
    report = PostReport()
    plans = plans if plans is not None else PlanCache()
    behind = list(shards)
    while behind:
        full = []
        for shard in behind:
            posted = post_batch(
                session, shard, batch_size=batch_size, now=now, report=report, plans=plans
            )
            if posted is None:
                report.skipped.append(shard)
            elif posted == batch_size:
                full.append(shard)
        behind = full
    return report


def post_batch(
    session: Session,
    shard: int,
    *,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    report: PostReport | None = None,
    plans: PlanCache | None = None,
) -> int | None:
    """Post up to batch_size events of one shard and advance its cursor, in one transaction;
    returns how many, or None when another poster holds the shard."""
    report = report if report is not None else PostReport()
    plans = plans if plans is not None else PlanCache()
    if not is_postgresql(session) and not _anything_after(session, shard):
        session.commit()  # SQLite: don't take the database's write lock to find nothing
        return 0
    cursor = _lock_cursor(session, shard)
    if cursor is None:
        session.rollback()
        return None
    rows, horizon = _next_events(session, shard, cursor, batch_size)
    if not rows:
        if horizon is not None:
            _skip_to_horizon(session, shard, cursor, horizon, now or datetime.now(UTC))
        session.commit()
        return 0
    now = now or datetime.now(UTC)
    try:
        entries = _post(session, rows, now, plans)
    except BaseException:
        plans.clear()  # what it loaded in this transaction (accounts it created) is rolled back
        raise
    last = rows[-1]
    session.execute(
        update(PosterCursor)
        .where(PosterCursor.shard == shard)
        .values(
            txid=last.txid or 0,
            event_id=last.id,
            through=last.created_at,
            events=PosterCursor.events + len(rows),
            updated_at=now,
        )
    )
    session.commit()
    report.events += len(rows)
    report.entries += entries
    report.batches += 1
    report.through = max(report.through or last.created_at, last.created_at)
    log.info(
        "posted %d events of shard %d in %d entries (through %s)",
        len(rows),
        shard,
        entries,
        last.created_at.isoformat(),
        extra={"shard": shard, "events": len(rows), "entries": entries},
    )
    return len(rows)


def _anything_after(session: Session, shard: int) -> bool:
    """SQLite: whether the shard has an event after its cursor (a read, no lock)."""
    position = select(PosterCursor.event_id).where(PosterCursor.shard == shard).scalar_subquery()
    found = session.execute(
        select(PartnerEvent.id)
        .where(PartnerEvent.partner_id % SHARDS == shard, PartnerEvent.id > position)
        .limit(1)
    ).first()
    return found is not None


def _lock_cursor(session: Session, shard: int) -> PosterCursor | None:
    """The shard's cursor, locked for this transaction (None: another poster has it)."""
    if is_postgresql(session):
        return session.scalars(
            select(PosterCursor)
            .where(PosterCursor.shard == shard)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
    # SQLite: writing first takes the database's write lock, so a second poster waits here
    # and then reads the cursor this one left.
    session.execute(
        update(PosterCursor).where(PosterCursor.shard == shard).values(shard=PosterCursor.shard)
    )
    return session.scalars(
        select(PosterCursor)
        .where(PosterCursor.shard == shard)
        .execution_options(populate_existing=True)
    ).first()


def _next_events(
    session: Session, shard: int, cursor: PosterCursor, limit: int
) -> tuple[Sequence[Row[Any]], int | None]:
    """The shard's next events, and (PostgreSQL) the horizon they were read below."""
    params = {"event_id": cursor.event_id, "shards": SHARDS, "shard": shard, "limit": limit}
    if is_postgresql(session):
        horizon = session.execute(_PG_HORIZON).scalar_one()
        rows = session.execute(
            _PG_BATCH, {**params, "txid": cursor.txid, "horizon": horizon}
        ).all()
        return rows, horizon
    return session.execute(_SQLITE_BATCH, params).all(), None


SKIP_AHEAD = 16
"""Transactions the horizon must have moved past an idle shard's cursor before it follows."""

_LAST_ID = 2**63 - 1


def _skip_to_horizon(
    session: Session, shard: int, cursor: PosterCursor, horizon: int, now: datetime
) -> None:
    """PostgreSQL: a shard with nothing to post below the horizon moves its cursor up to it.

    Without this, a shard whose partner apps are quiet (or that has none) keeps its cursor at
    its last event, and every poll scans every other shard's events since then: on a busy
    database the idle shards' polls cost more than the busy shard's posting, and grow with
    the table. Every transaction below both the horizon and this one's own id has ended and
    is visible to the scan that found nothing, so no event of the shard can appear at or
    before (that id - 1, the largest id); this transaction's own events (a service posting
    what it accepted in the same transaction) stay after the cursor."""
    own = session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
    safe = min(horizon, own) - 1
    if safe - cursor.txid < SKIP_AHEAD:
        return  # not worth a write yet: the scan it saves is short
    session.execute(
        update(PosterCursor)
        .where(PosterCursor.shard == shard)
        .values(txid=safe, event_id=_LAST_ID, updated_at=now)
    )


def _facts(row: Row[Any], sales: SaleContext) -> Iterable[tuple[RevenueFacts, Any]]:
    """The ledger events of one event log row, each with its split version."""
    # Unpacked once (a Row's attribute look-ups cost more than the rest on this hot path).
    (ref, _, kind, series_id, episode, amount, occurred_at, country, refund_of, version,
     available_at, details, _, _) = row  # fmt: skip
    if kind == "pool":
        details = details if isinstance(details, dict) else _json(details)
        versions = details.get("versions", {})
        for share in details.get("shares", []):
            if share["amount"] > 0:
                sid = share["series_id"]
                fact = RevenueFacts(ref, sid, share["amount"], occurred_at, kind="pool")
                yield fact, versions[str(sid)]
        return
    if kind in SALE_KINDS:
        yield from sale_facts(row, sales)
        return
    if amount <= 0:  # nothing to split: recorded, never posted
        return
    if kind == "refund":
        yield (
            RevenueFacts(ref, series_id, -amount, occurred_at, episode, country, kind,
                         available_at, refund_of),
            version,
        )  # fmt: skip
        return
    yield RevenueFacts(ref, series_id, amount, occurred_at, episode, country, kind,
                       available_at), version  # fmt: skip


def _json(value: Any) -> dict[str, Any]:
    import json

    loaded: dict[str, Any] = json.loads(value) if value else {}
    return loaded


def _post(session: Session, rows: Sequence[Row[Any]], now: datetime, plans: PlanCache) -> int:
    """Post the rows' ledger events, partner by partner, in the rows' order; entries written."""
    by_partner: dict[int, list[tuple[RevenueFacts, Any]]] = defaultdict(list)
    sales = SaleContext.load(session, rows)
    for row in rows:
        if row[2] == "unlock" and row[5] > 0:  # the bulk of every batch: no generator
            fact = RevenueFacts(row[0], row[3], row[5], row[6], row[4], row[7], "unlock", row[10])
            by_partner[row[1]].append((fact, row[9]))
        else:
            by_partner[row[1]].extend(_facts(row, sales))
    entries: set[int] = set()
    for partner_id, items in sorted(by_partner.items()):
        if not items:
            continue
        partner = session.get_one(PartnerApp, partner_id)
        facts = [fact for fact, _ in items]
        versions = split_versions_by_series(session, {fact.series_id for fact in facts})
        results = post_revenue(
            session,
            partner,
            facts,
            now=now,
            versions=versions,
            version_ids=[version for _, version in items],
            plans=plans,
        )
        entries.update(result.entry_id for result in results)
    return len(entries)


def poster_position(session: Session) -> datetime | None:
    """Everything accepted before this moment is in the ledger's balances (the oldest shard's
    `through`; None before anything was posted)."""
    throughs = session.scalars(select(PosterCursor.through)).all()
    if not throughs or any(t is None for t in throughs):
        return min((t for t in throughs if t is not None), default=None)
    return min(t for t in throughs if t is not None)


def pending_events(session: Session) -> int:
    """How many accepted events the poster has not posted yet."""
    total = 0
    postgres = is_postgresql(session)
    for cursor in session.scalars(select(PosterCursor)):
        after = PartnerEvent.id > cursor.event_id
        if postgres:
            after = PartnerEvent.txid.is_not(None) & (
                (PartnerEvent.txid > cursor.txid)
                | ((PartnerEvent.txid == cursor.txid) & (PartnerEvent.id > cursor.event_id))
            )
        total += session.execute(
            select(func.count()).where(PartnerEvent.partner_id % SHARDS == cursor.shard, after)
        ).scalar_one()
    return total


def is_posted(session: Session, event: PartnerEvent) -> bool:
    """Whether the poster has posted this event (events from before the poster: posted)."""
    cursor = session.get(PosterCursor, event.partner_id % SHARDS)
    if cursor is None:
        return False
    if is_postgresql(session):
        if event.txid is None:
            return True
        return (event.txid, event.id) <= (cursor.txid, cursor.event_id)
    return event.id <= cursor.event_id


def entries_of(session: Session, event: PartnerEvent) -> list[int]:
    """The ledger entries carrying a posted event's money (a pool's shares: one per series; on
    a series with a revenue plan, the entry splitting it into the series' pool)."""
    if event.entry_id is not None:  # posted before the poster existed
        return [event.entry_id]
    contracts = contracts_of(session, event.partner_id)
    moment = event.occurred_at
    if event.refund_of is not None:  # a refund nets in its unlock's bucket
        unlock = session.get(PartnerEvent, event.refund_of)
        moment = unlock.occurred_at if unlock is not None else moment
    contract = contract_at(contracts, moment).number if contracts else 1
    if event.kind == "pool":
        details = event.details or {}
        keys = [
            bucket_key(int(sid), event.partner_id, event.currency, int(version), contract)
            for sid, version in (details.get("versions") or {}).items()
        ]
    elif event.kind in SALE_KINDS:
        keys = sale_bucket_keys(event, event.currency, contract)
    elif event.split_version_id is not None and event.series_id is not None:
        keys = [
            bucket_key(
                event.series_id,
                event.partner_id,
                event.currency,
                event.split_version_id,
                contract,
            )
        ]
    else:
        return []
    # A series with a revenue plan: the event's split into the pool is in its bucket's plan
    # variant ("...|plan:<id>", marketplace.ingest.waterfalls).
    planned = [AllocationBucket.key.startswith(f"{key}|plan:", autoescape=True) for key in keys]
    found = []
    for bucket_id in session.scalars(
        select(AllocationBucket.id).where(or_(AllocationBucket.key.in_(keys), *planned))
    ):
        for entry_id, refs in session.execute(
            select(AllocationRun.entry_id, AllocationRun.refs).where(
                AllocationRun.bucket_id == bucket_id,
                AllocationRun.max_ref >= event.id,
                AllocationRun.min_ref <= event.id,
            )
        ):
            if event.id in refs:
                found.append(entry_id)
    return sorted(found)


def run_poster(
    session_factory: Any, *, interval: float = 0.5, batch_size: int = BATCH_SIZE
) -> None:  # pragma: no cover - the process loop; post_pending is what the tests drive
    """Post forever: every shard this process can take, then a short sleep when idle (the
    plans' terms cached for the process's life)."""
    plans = PlanCache()
    while True:
        session = session_factory()
        try:
            report = post_pending(session, batch_size=batch_size, plans=plans)
        finally:
            session.close()
        if report.events == 0:
            time.sleep(interval)


__all__ = [
    "SHARDS",
    "PostReport",
    "entries_of",
    "is_posted",
    "pending_events",
    "post_batch",
    "post_pending",
    "poster_position",
]
