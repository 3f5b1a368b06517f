"""Allocation of unlocks and refunds between parties, posted in aggregated batches.

A bucket (one split version of one series for one partner) keeps its cumulative gross C; the
arithmetic (target(C), party_amounts, largest_remainder) lives in ledger.allocation.splits and is
re-exported here. allocate_batch is the ingestion hot path: a handful of statements per batch,
one entry per bucket and hour group, one trace row per event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy.orm import Session

from ledger.allocation.splits import (
    DENOMINATOR,
    Party,
    canonical_parties,
    largest_remainder,
    parties_from_json,
    parties_hash,
    party_amounts,
    split_parties,
    target_of_weights,
)
from ledger.allocation.store import (
    AppliedEvent,
    BucketSpec,
    EventRow,
    applied_events,
    ensure_buckets,
    insert_event_rows,
    lock_buckets,
    update_buckets,
)
from ledger.errors import BucketMismatch
from ledger.journal import NewEntry, lock_accounts, reserve_entry_ids, write_entries
from ledger.json_text import compact_list, sorted_object
from ledger.money import check_currency, check_minor_units
from ledger.rollups import LINE_FIELDS, Deltas, add_event, month_of, write_rollups
from ledger.schema import utcnow


@dataclass(frozen=True, slots=True)
class AllocationEvent:
    """One unlock (gross > 0) or refund (gross < 0) to split.

    Fields:
        source_key: the caller's unique event id ("unlock:3:abc123"); at most 180 characters.
        bucket_key: the bucket's unique key ("series:12|partner:3|USD|split:7").
        currency: ISO 4217 code of the gross.
        debit_account_id: the account debited by the gross (the partner's receivable).
        parties: the split; must be the same for every event of a bucket.
        gross: signed minor units; never zero.
        effective_at: when the unlock happened (aware).
        available_at: when held parties' money becomes available (occurred_at + hold days);
            a refund passes the original unlock's available_at. None: available at once.
        attributes: JSON-able facts for statements (series_id, episode, partner_id, country).
    """

    source_key: str
    bucket_key: str
    currency: str
    debit_account_id: int
    parties: Sequence[Party]
    gross: int
    effective_at: datetime
    available_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


Status = Literal["applied", "duplicate", "conflict"]


class AllocationResult(NamedTuple):
    """What allocate_batch did with one event.

    Fields:
        source_key: the event's key.
        status: "applied"; "duplicate" (already applied with the same bucket and gross: nothing
            changed); "conflict" (already applied with another bucket or gross: nothing changed).
        entry_id: the entry carrying the event's money (the original one for a repeat).
        cumulative_before: the bucket's cumulative gross just before the (original) event.
    """

    source_key: str
    status: Status
    entry_id: int
    cumulative_before: int


@dataclass(slots=True)
class _Group:
    """The new events of one bucket and hour group: one entry. `available` is the group's
    availability hour (its events' available_at ceiled to the hour; None: at once); `lines`
    and `attributes` hold each event's rollup line key and encoded attributes (worked out
    before any lock)."""

    bucket: BucketSpec
    month: datetime
    available: datetime | None
    events: list[AllocationEvent] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    entry_id: int = 0


@dataclass(slots=True)
class PreparedBatch:
    """A batch checked and planned by prepare_batch, to be written by apply_batch.

    Fields:
        events: the events, as given.
        now: the recorded time of the entries.
        specs: bucket key -> its BucketSpec (ids set; cumulative read by apply_batch).
        groups: the planned entries, one per bucket and hour group.
        first: source_key -> the first event of the batch with that key.
        planned: source_key -> the entry that will carry its money if it is new (apply_batch
            answers with the original entry for an event already applied).
    """

    events: Sequence[AllocationEvent]
    now: datetime
    specs: dict[str, BucketSpec]
    groups: list[_Group]
    first: dict[str, AllocationEvent]
    planned: dict[str, int]


def _specs(events: Sequence[AllocationEvent]) -> dict[str, BucketSpec]:
    specs: dict[str, BucketSpec] = {}
    sources: dict[str, Sequence[Party]] = {}
    for event in events:
        if type(event.gross) is not int or event.gross == 0:
            check_minor_units(event.gross)
            raise ValueError(f"event {event.source_key!r} has a zero gross")
        if event.effective_at.tzinfo is None or (
            event.available_at is not None and event.available_at.tzinfo is None
        ):
            raise ValueError(f"event {event.source_key!r} has a naive datetime")
        if len(event.source_key) > 180:
            raise ValueError(f"source key longer than 180 characters: {event.source_key!r}")
        spec = specs.get(event.bucket_key)
        if spec is None:
            parties = canonical_parties(event.parties)
            check_currency(event.currency)
            digest = parties_hash(event.currency, event.debit_account_id, parties)
            specs[event.bucket_key] = BucketSpec(
                event.bucket_key, event.currency, event.debit_account_id, parties, digest
            )
            sources[event.bucket_key] = event.parties
        elif (
            event.currency != spec.currency
            or event.debit_account_id != spec.debit_account_id
            or (
                event.parties is not sources[event.bucket_key]
                and canonical_parties(event.parties) != spec.parties
            )
        ):
            raise BucketMismatch(f"events of bucket {event.bucket_key!r} disagree on its split")
    return specs


def _group_events(specs: dict[str, BucketSpec]) -> list[_Group]:
    """Group each bucket's events by (effective UTC hour, availability hour): one entry each.

    UTC hours: with an offset like +05:30 a local hour straddles two UTC hours, and could
    straddle two UTC months, whose statements must each get their own entries. Hours are
    counted as integers since the epoch, from float timestamps (within 0.25 us of the exact
    time for centuries yet: an event 1 us before the hour stays in it), and turned back into
    datetimes once per group."""
    groups: list[_Group] = []
    line_keys: dict[tuple[Any, ...], str] = {}
    for spec in specs.values():
        by_hour: dict[tuple[int, int], _Group] = {}
        for event in spec.new_events:
            hour = int(event.effective_at.timestamp() // 3600)
            available = event.available_at
            key = (hour, -1) if available is None else (hour, -int(-available.timestamp() // 3600))
            group = by_hour.get(key)
            if group is None:
                start = datetime.fromtimestamp(hour * 3600, UTC)
                ready = None if key[1] < 0 else datetime.fromtimestamp(key[1] * 3600, UTC)
                group = by_hour[key] = _Group(spec, month_of(start), ready)
            attributes = event.attributes
            values = tuple(map(attributes.get, LINE_FIELDS))
            line = line_keys.get(values)
            if line is None:
                line = line_keys[values] = compact_list(values)
            group.events.append(event)
            group.lines.append(line)
            group.attributes.append(sorted_object(attributes))
        groups.extend(by_hour[key] for key in sorted(by_hour))
    return groups


def prepare_batch(
    session: Session, events: Sequence[AllocationEvent], now: datetime | None = None
) -> PreparedBatch:
    """Check and plan a batch without locking anything that exists: validate the events,
    create missing buckets, group the events into entries and reserve the entries' ids.

    What depends on the buckets' cumulative gross is left to apply_batch, which locks them:
    the caller may write its own rows in between (they can name `planned` entry ids), keeping
    them out of the time the bucket locks are held. Not other ledger entries in the same
    session: on SQLite entry ids are reserved as max(id) + 1, so they would take the same ids.
    """
    now = now or utcnow()
    session.flush()
    specs = _specs(events)
    if specs:
        ensure_buckets(session, specs)
    first: dict[str, AllocationEvent] = {}
    for event in events:
        if event.source_key not in first:
            first[event.source_key] = event
            specs[event.bucket_key].new_events.append(event)
    groups = _group_events(specs)
    planned: dict[str, int] = {}
    for group, entry_id in zip(groups, reserve_entry_ids(session, len(groups)), strict=True):
        group.entry_id = entry_id
        planned.update((event.source_key, entry_id) for event in group.events)
    return PreparedBatch(events, now, specs, groups, first, planned)


def apply_batch(session: Session, batch: PreparedBatch) -> list[AllocationResult]:
    """Write a prepared batch: lock its buckets (key order), skip events already applied, then
    post one entry per planned group; results come back in the events' order."""
    if not batch.events:
        return []
    specs = batch.specs
    lock_buckets(session, specs)
    applied = applied_events(session, list(batch.first))
    before = set(applied)
    groups = batch.groups
    if applied:  # rare: a repeat, or an event applied since prepare_batch (a concurrent writer)
        groups = [_without(group, applied) for group in groups]
        groups = [group for group in groups if group.events]
    new_entries, event_rows, deltas = _entries_and_event_rows(groups, applied)
    touched = list({id(g.bucket): g.bucket for g in groups}.values())
    account_ids = {s.debit_account_id for s in touched}
    account_ids.update(p.account_id for s in touched for p in s.parties)
    write_entries(session, new_entries, batch.now, lock_accounts(session, account_ids))
    insert_event_rows(session, event_rows)
    write_rollups(session, deltas)
    update_buckets(session, touched)
    return [_result(event, applied, batch.first, before) for event in batch.events]


def allocate_batch(
    session: Session, events: Sequence[AllocationEvent], now: datetime | None = None
) -> list[AllocationResult]:
    """Apply unlocks and refunds in one go: one entry per bucket and hour group, repeats
    (same source_key) change nothing; results come back in the events' order."""
    if not events:
        return []
    return apply_batch(session, prepare_batch(session, events, now))


def _without(group: _Group, applied: dict[str, AppliedEvent]) -> _Group:
    kept = [i for i, event in enumerate(group.events) if event.source_key not in applied]
    if len(kept) == len(group.events):
        return group
    return _Group(
        group.bucket,
        group.month,
        group.available,
        [group.events[i] for i in kept],
        [group.lines[i] for i in kept],
        [group.attributes[i] for i in kept],
        group.entry_id,
    )


def _entries_and_event_rows(
    groups: list[_Group], applied: dict[str, AppliedEvent]
) -> tuple[list[NewEntry], list[EventRow], Deltas]:
    new_entries = []
    rows: list[EventRow] = []
    deltas: Deltas = {}
    for group in groups:
        spec = group.bucket
        start = spec.cumulative
        cumulative = start
        # One target() per event along the cumulative run: each event's exact money per party
        # (stored for statements), and the group's legs as the run's first-to-last difference.
        weights = tuple(p.weight for p in spec.parties)
        month = group.month  # an hour group lies in one month
        first_target = previous = target_of_weights(weights, start)
        entry_id = group.entry_id
        for event, line, attributes in zip(
            group.events, group.lines, group.attributes, strict=True
        ):
            gross = event.gross
            current = target_of_weights(weights, cumulative + gross)
            amounts = [new - old for new, old in zip(current, previous, strict=True)]
            previous = current
            rows.append(
                (
                    event.source_key,
                    spec.id,
                    entry_id,
                    gross,
                    cumulative,
                    event.effective_at,
                    event.available_at,
                    attributes,
                    amounts,
                )
            )
            add_event(deltas, spec.id, event, amounts, month, line)
            applied[event.source_key] = (spec.key, gross, entry_id, cumulative)
            cumulative += gross
        spec.cumulative = cumulative
        new_entries.append(_group_entry(group, start, first_target, previous))
    return new_entries, rows, deltas


def _group_entry(group: _Group, start: int, before: list[int], after: list[int]) -> NewEntry:
    """The entry of one hour group: the debit moved by the group's gross, each party by its
    target's difference over the run (held parties' legs available at the group's hour)."""
    spec = group.bucket
    cumulative = spec.cumulative
    available = group.available
    postings: list[tuple[int, int, datetime | None]] = []
    if cumulative != start:
        postings.append((spec.debit_account_id, cumulative - start, None))
    for party, old, new in zip(spec.parties, before, after, strict=True):
        if new != old:
            postings.append((party.account_id, old - new, available if party.held else None))
    return NewEntry(
        id=group.entry_id,
        idempotency_key=f"allocation:{group.events[0].source_key}",
        content_hash=hashlib.sha256(f"{spec.key}|{start}|{cumulative}".encode()).hexdigest(),
        effective_at=max(event.effective_at for event in group.events),
        description=f"Allocation of {len(group.events)} event(s) in {spec.key}",
        meta={
            "kind": "allocation",
            "bucket": spec.key,
            "events": len(group.events),
            "cumulative_from": start,
            "cumulative_to": cumulative,
        },
        postings=postings,
    )


def _result(
    event: AllocationEvent,
    applied: dict[str, AppliedEvent],
    first: dict[str, AllocationEvent],
    before: set[str],
) -> AllocationResult:
    bucket_key, gross, entry_id, cumulative_before = applied[event.source_key]
    if event.source_key not in before and first.get(event.source_key) is event:
        status: Status = "applied"
    elif (bucket_key, gross) == (event.bucket_key, event.gross):
        status = "duplicate"
    else:
        status = "conflict"
    return AllocationResult(event.source_key, status, entry_id, cumulative_before)


__all__ = [
    "DENOMINATOR",
    "AllocationEvent",
    "AllocationResult",
    "Party",
    "PreparedBatch",
    "allocate_batch",
    "apply_batch",
    "canonical_parties",
    "largest_remainder",
    "parties_from_json",
    "parties_hash",
    "party_amounts",
    "prepare_batch",
    "split_parties",
]
