"""Allocation of unlocks and refunds between parties, posted in aggregated runs.

A bucket (one split version of one series for one partner) keeps its cumulative gross C and
what it has allocated to each party so far. An event that is not a refund pays each party its
step target(C + g) - target(C); a refund names the event it reverses and gives back exactly
what that event paid each party. After refunds `allocated` can differ from target(C) by a few
units (each refund's step is within two units of its exact share); the next event that is
not a refund also posts that difference, target(C) - allocated, as the run's rounding, so that
after it every party holds exactly target(C + g): within one minor unit of its exact share.
The rounding is the bucket's, not the event's: refunding the event later gives back its step
only. The arithmetic (target, largest_remainder) lives in ledger.allocation.splits.

allocate_batch posts one entry per bucket and (effective UTC hour, availability hour) group
and one run row holding the group's events in order, each with its exact money per party: the
ledger keeps no row per event. The caller posts each event once (the poster's cursor advances
in the same transaction); an entry's idempotency key (bucket and first event) refuses a replay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from operator import add, sub
from typing import Any, NamedTuple

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
    BucketSpec,
    RunRow,
    ensure_buckets,
    insert_runs,
    lock_buckets,
    reversed_amounts,
    update_buckets,
)
from ledger.allocation.waterfall import Waterfall, common_denominator, waterfall_target
from ledger.errors import BucketMismatch, LedgerError
from ledger.journal import NewEntry, lock_accounts, reserve_entry_ids, write_entries
from ledger.json_text import compact_list
from ledger.money import check_currency, check_minor_units
from ledger.rollups import (
    LINE_FIELDS,
    ROUNDING,
    Deltas,
    add_lines,
    day_of,
    month_of,
    write_rollups,
)
from ledger.schema import utcnow


@dataclass(frozen=True, slots=True)
class AllocationEvent:
    """One unlock (gross > 0), refund (gross < 0, `reverses` set) or other event to split.

    Fields:
        ref: the caller's id of the event (a positive integer, e.g. its event log row id);
            unique within its bucket: runs list their events by it.
        bucket_key: the bucket's unique key ("series:12|partner:3|USD|split:7").
        currency: ISO 4217 code of the gross.
        debit_account_id: the account debited by the gross (the partner's receivable).
        parties: the split; must be the same for every event of a bucket.
        gross: signed minor units; never zero.
        effective_at: when the event happened (aware).
        available_at: when held parties' money becomes available (occurred_at + hold days);
            a refund passes its unlock's available_at. None: available at once.
        attributes: facts for statements (series_id, episode, partner_id, country, kind).
        reverses: for a refund, the ref of the event of the same bucket it gives back in
            full (gross == -that event's gross); its parties give back exactly what it paid
            (in a waterfall's bucket: what the waterfall gives back from the top, see below).
        waterfall: None for a split by weights; else the bucket's revenue waterfall (its
            parties must be waterfall.parties()). Every event of such a bucket, refunds too,
            pays target(C + g) - target(C) of the waterfall: a refund walks the waterfall back
            from where the bucket stands, so one below break-even takes money back from the
            tier it falls into, and every party always holds exactly target(C).
    """

    ref: int
    bucket_key: str
    currency: str
    debit_account_id: int
    parties: Sequence[Party]
    gross: int
    effective_at: datetime
    available_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    reverses: int | None = None
    waterfall: Waterfall | None = None


class AllocationResult(NamedTuple):
    """What allocate_batch did with one event.

    Fields:
        ref: the event's ref.
        bucket_key: its bucket.
        entry_id: the entry carrying its money.
        amounts: its money per party (credit-positive), in the bucket's canonical order (the
            run's rounding, if any, is not part of it).
    """

    ref: int
    bucket_key: str
    entry_id: int
    amounts: tuple[int, ...]


@dataclass(slots=True)
class _Group:
    """The events of one bucket and (effective hour, availability hour): one entry, one run."""

    bucket: BucketSpec
    hour: datetime
    available: datetime | None
    events: list[AllocationEvent] = field(default_factory=list)
    entry_id: int = 0


def _specs(events: Sequence[AllocationEvent]) -> dict[str, BucketSpec]:
    specs: dict[str, BucketSpec] = {}
    sources: dict[str, Sequence[Party]] = {}
    refs: set[tuple[str, int]] = set()
    for event in events:
        if type(event.gross) is not int or event.gross == 0:
            check_minor_units(event.gross)
            raise ValueError(f"event {event.ref!r} has a zero gross")
        if type(event.ref) is not int or event.ref <= 0:
            raise ValueError(f"event refs are positive integers, got {event.ref!r}")
        if (event.bucket_key, event.ref) in refs:
            raise ValueError(f"event {event.ref} appears twice in bucket {event.bucket_key!r}")
        refs.add((event.bucket_key, event.ref))
        if event.effective_at.tzinfo is None or (
            event.available_at is not None and event.available_at.tzinfo is None
        ):
            raise ValueError(f"event {event.ref!r} has a naive datetime")
        spec = specs.get(event.bucket_key)
        if spec is None:
            parties = canonical_parties(event.parties)
            check_currency(event.currency)
            digest = parties_hash(event.currency, event.debit_account_id, parties)
            if event.waterfall is not None:
                if parties != event.waterfall.parties():
                    raise ValueError(
                        f"event {event.ref}: a waterfall's parties are waterfall.parties()"
                    )
                digest = waterfall_hash(digest, event.waterfall)
            spec = specs[event.bucket_key] = BucketSpec(
                event.bucket_key,
                event.currency,
                event.debit_account_id,
                parties,
                digest,
                event.waterfall,
            )
            sources[event.bucket_key] = event.parties
        elif (
            event.currency != spec.currency
            or event.debit_account_id != spec.debit_account_id
            or (event.waterfall is not spec.waterfall and event.waterfall != spec.waterfall)
            or (
                event.parties is not sources[event.bucket_key]
                and canonical_parties(event.parties) != spec.parties
            )
        ):
            raise BucketMismatch(f"events of bucket {event.bucket_key!r} disagree on its split")
        spec.new_events.append(event)
    return specs


def _hour(moment: datetime) -> int:
    """Hours since the epoch of a moment's UTC hour (float timestamps are within 0.25 us of
    the exact time for centuries yet: an event 1 us before the hour stays in it)."""
    return int(moment.timestamp() // 3600)


def _group_events(specs: dict[str, BucketSpec]) -> list[_Group]:
    """Each bucket's events by (effective UTC hour, availability hour, ceiled): one run each,
    in that order; within a run the events keep the caller's order.

    UTC hours: with an offset like +05:30 a local hour straddles two UTC hours, and could
    straddle two UTC months, whose statements must each get their own entries."""
    groups: list[_Group] = []
    for spec in specs.values():
        by_hour: dict[tuple[int, int], _Group] = {}
        for event in spec.new_events:
            hour = _hour(event.effective_at)
            available = event.available_at
            key = (hour, -1) if available is None else (hour, -int(-available.timestamp() // 3600))
            group = by_hour.get(key)
            if group is None:
                start = datetime.fromtimestamp(hour * 3600, UTC)
                ready = None if key[1] < 0 else datetime.fromtimestamp(key[1] * 3600, UTC)
                group = by_hour[key] = _Group(spec, start, ready)
            group.events.append(event)
        groups.extend(by_hour[key] for key in sorted(by_hour))
    return groups


Then = Callable[[list[AllocationResult]], Sequence[AllocationEvent]]
"""allocate_batch's second stage: from the first events' results, the events to post next."""


def allocate_batch(
    session: Session,
    events: Sequence[AllocationEvent],
    now: datetime | None = None,
    then: Then | None = None,
) -> list[AllocationResult]:
    """Post events: lock their buckets (key order), split each event, write one entry and one
    run per bucket and hour group, the statements' rollups and the buckets' totals. Results
    come back in the events' order. The caller commits, and posts each event once.

    `then`, if given, is called with those results and returns more events (of other
    buckets: e.g. the money the first events put in a pool, allocated on through a waterfall),
    split the same way after the first ones; both are written in one pass (one lock of the
    accounts, one statement per table). Only the first events' results are returned."""
    if not events:
        return []
    now = now or utcnow()
    session.flush()
    specs, (entries, runs, deltas, results) = _stage(session, events)
    ordered = [results[event.bucket_key, event.ref] for event in events]
    touched = list(specs.values())
    more = then(ordered) if then is not None else ()
    if more:
        if any(event.bucket_key in specs for event in more):
            raise ValueError("a second stage's events must go to buckets of their own")
        after = max((entry.id for entry in entries), default=0)
        specs_then, (entries_then, runs_then, deltas_then, _) = _stage(session, more, after)
        entries.extend(entries_then)
        runs.extend(runs_then)
        deltas.update(deltas_then)  # keyed by bucket id: the two stages' buckets are disjoint
        touched.extend(specs_then.values())
    account_ids = {s.debit_account_id for s in touched}
    account_ids.update(p.account_id for s in touched for p in s.parties)
    write_entries(session, entries, now, lock_accounts(session, account_ids))
    insert_runs(session, runs)
    write_rollups(session, deltas)
    update_buckets(session, touched)
    return ordered


def _stage(
    session: Session, events: Sequence[AllocationEvent], after: int = 0
) -> tuple[
    dict[str, BucketSpec],
    tuple[list[NewEntry], list[RunRow], Deltas, dict[tuple[str, int], AllocationResult]],
]:
    """Lock the events' buckets and split the events along them (nothing written yet; entry
    ids above `after`)."""
    specs = _specs(events)
    ensure_buckets(session, specs)
    lock_buckets(session, specs)
    groups = _group_events(specs)
    ids = reserve_entry_ids(session, len(groups), after)
    for group, entry_id in zip(groups, ids, strict=True):
        group.entry_id = entry_id
    return specs, _walk(groups, _reversed_elsewhere(session, specs))


def _reversed_elsewhere(
    session: Session, specs: dict[str, BucketSpec]
) -> dict[tuple[int, int], tuple[tuple[int, ...], int]]:
    """(bucket id, ref) -> (amounts, gross) of the already posted events that this batch's
    refunds reverse (those reversing an event of the same batch are resolved in the walk)."""
    wanted: dict[int, set[int]] = {}
    for spec in specs.values():
        batch_refs = {event.ref for event in spec.new_events}
        for event in spec.new_events:
            if event.reverses is not None and event.reverses not in batch_refs:
                wanted.setdefault(spec.id, set()).add(event.reverses)
    return reversed_amounts(session, wanted) if wanted else {}


def _walk(
    groups: list[_Group], earlier: dict[tuple[int, int], tuple[tuple[int, ...], int]]
) -> tuple[list[NewEntry], list[RunRow], Deltas, dict[tuple[str, int], AllocationResult]]:
    """Split every event along its bucket's run: the entries, runs, rollup deltas, results.

    The hot path of posting (once per event): each event costs one target() (the previous
    one is carried over while no refund moved the bucket), its line's key (cached across
    batches) and a few appends; a run's totals are summed per party over its events' money at
    the end, and its rollup lines once per run (a run is one hour: one month, one day)."""
    entries: list[NewEntry] = []
    runs: list[RunRow] = []
    deltas: Deltas = {}
    results: dict[tuple[str, int], AllocationResult] = {}
    paid: dict[tuple[int, int], tuple[tuple[int, ...], int]] = dict(earlier)
    line_keys = _LINE_KEYS
    if len(line_keys) > _LINE_KEYS_KEPT:
        line_keys.clear()
    for group in groups:
        spec = group.bucket
        bucket_id, key, entry_id, waterfall = spec.id, spec.key, group.entry_id, spec.waterfall
        target = bucket_target(spec.parties, waterfall)
        width = len(spec.parties)
        start, allocated_from = spec.cumulative, list(spec.allocated)
        cumulative, allocated = start, spec.allocated
        hour = group.hour
        flat: list[int] = []
        offsets, grosses, refs, reverses, lines = [], [], [], [], []
        rounding = [0] * width
        sums: dict[tuple[bool, str], list[Any]] = {}  # (earning, line) -> [events, gross, money]
        current: list[int] | None = None  # target(cumulative), while no refund moved it
        for event in group.events:
            gross, ref, reversed_ref = event.gross, event.ref, event.reverses
            if reversed_ref is None or waterfall is not None:
                if reversed_ref is not None:
                    _reversal(spec, event, paid)  # checks it; the waterfall decides the money
                before = current if current is not None else target(cumulative)
                after = target(cumulative + gross)
                amounts = tuple(map(sub, after, before))
                if allocated != before:
                    rounding = list(map(add, rounding, map(sub, before, allocated)))
                allocated = current = after
            else:
                amounts = _reversal(spec, event, paid)
                allocated = list(map(add, allocated, amounts))
                current = None
            cumulative += gross
            paid[bucket_id, ref] = (amounts, gross)
            values = tuple(map(event.attributes.get, LINE_FIELDS))
            line = line_keys.get(values)
            if line is None:
                line = line_keys[values] = compact_list(values)
            summed = sums.get((gross > 0, line))
            if summed is None:
                sums[gross > 0, line] = [1, gross, amounts]
            else:
                summed[0] += 1
                summed[1] += gross
                summed[2] = tuple(map(add, summed[2], amounts))
            flat.extend(amounts)
            refs.append(ref)
            grosses.append(gross)
            reverses.append(reversed_ref or 0)
            lines.append(line)
            offsets.append((event.effective_at - hour) // _MICROSECOND)
            results[key, ref] = AllocationResult(ref, key, entry_id, amounts)
        totals = [sum(flat[j::width]) for j in range(width)]
        if any(rounding):
            first = group.events[0].attributes
            line = compact_list([first.get("series_id"), None, first.get("partner_id"), None,
                                 ROUNDING])  # fmt: skip
            summed = sums.get((False, line))
            if summed is None:
                sums[False, line] = [1, 0, tuple(rounding)]
            else:  # counted as one line entry, as statements have always shown it
                summed[0] += 1
                summed[2] = tuple(map(add, summed[2], rounding))
            totals = list(map(add, totals, rounding))
        add_lines(deltas, bucket_id, month_of(hour), day_of(hour), sums)
        spec.cumulative, spec.allocated = cumulative, allocated
        entries.append(_group_entry(group, start, cumulative, totals))
        runs.append(
            RunRow(
                bucket_id,
                entry_id,
                hour,
                group.available,
                start,
                allocated_from,
                refs,
                grosses,
                offsets,
                lines,
                flat,
                reverses,
                rounding,
            )
        )
    return entries, runs, deltas, results


_MICROSECOND = timedelta(microseconds=1)

_LINE_KEYS: dict[tuple[Any, ...], str] = {}
"""Statement line values -> their compact JSON key, kept across batches (a process posts the
same series, episodes and countries again and again); emptied past _LINE_KEYS_KEPT."""

_LINE_KEYS_KEPT = 200_000


def bucket_target(
    parties: tuple[Party, ...], waterfall: Waterfall | None
) -> Callable[[int], list[int]]:
    """target(C) of a bucket: its waterfall's, or the split of its parties' weights."""
    if waterfall is None:
        return partial(target_of_weights, tuple(p.weight for p in parties))
    q = common_denominator(waterfall)
    return lambda cumulative: waterfall_target(waterfall, cumulative, q)


def waterfall_hash(digest: str, waterfall: Waterfall) -> str:
    """A bucket's hash with its waterfall: a waterfall bucket's terms never change either."""
    return hashlib.sha256(f"{digest}|waterfall:{waterfall.digest()}".encode()).hexdigest()


def _reversal(
    spec: BucketSpec,
    event: AllocationEvent,
    paid: dict[tuple[int, int], tuple[tuple[int, ...], int]],
) -> tuple[int, ...]:
    """A refund's money: exactly the negation of what the event it reverses paid."""
    assert event.reverses is not None
    found = paid.get((spec.id, event.reverses))
    if found is None:
        raise LedgerError(
            f"event {event.ref} reverses event {event.reverses}, which bucket"
            f" {spec.key!r} has not posted (or posts later)"
        )
    amounts, gross = found
    if gross == 0:
        raise LedgerError(f"event {event.reverses} is reversed twice in one batch")
    if event.gross != -gross:
        raise LedgerError(
            f"event {event.ref} reverses event {event.reverses} of gross {gross}"
            f" with gross {event.gross}: a refund gives back the whole gross"
        )
    # Reversed at most once within a batch; across batches the caller's own record refuses a
    # second refund (the event log's unique refund_of).
    paid[spec.id, event.reverses] = (amounts, 0)
    return tuple(-amount for amount in amounts)


def _group_entry(group: _Group, start: int, end: int, totals: list[int]) -> NewEntry:
    """The entry of one run: the debit moved by the run's gross, each party by its total (held
    parties' legs available at the group's hour)."""
    spec = group.bucket
    available = group.available
    postings: list[tuple[int, int, datetime | None]] = []
    if end != start:
        postings.append((spec.debit_account_id, end - start, None))
    for party, total in zip(spec.parties, totals, strict=True):
        if total:
            postings.append((party.account_id, -total, available if party.held else None))
    first = group.events[0].ref
    return NewEntry(
        id=group.entry_id,
        idempotency_key=f"allocation:{spec.id}:{first}",
        content_hash=hashlib.sha256(f"{spec.key}|{start}|{end}|{totals}".encode()).hexdigest(),
        effective_at=max(event.effective_at for event in group.events),
        description=f"Allocation of {len(group.events)} event(s) in {spec.key}",
        meta={
            "kind": "allocation",
            "bucket": spec.key,
            "events": len(group.events),
            "cumulative_from": start,
            "cumulative_to": end,
        },
        postings=postings,
    )


__all__ = [
    "DENOMINATOR",
    "AllocationEvent",
    "AllocationResult",
    "Party",
    "Then",
    "allocate_batch",
    "bucket_target",
    "canonical_parties",
    "largest_remainder",
    "parties_from_json",
    "parties_hash",
    "party_amounts",
    "split_parties",
    "waterfall_hash",
]
