"""Account statements: opening, movements grouped by series/episode/partner/country/kind (from
the allocation runs), refunds, payouts, other, closing; and the events behind any line.

Each run stores its events' exact money per party (written when they were posted), and
`ledger_bucket_parties` says where an account sits in its buckets, so a statement sums the
account's buckets' rollup rows: monthly rows for the period's whole UTC months, daily rows for
its other whole UTC days, and the runs themselves only for the partial days at its edges
(index on (bucket_id, hour)); plus the account's other entries in the period (its postings,
index on (account_id, effective_at), probing the partial index of entries that are not
allocations). Nothing reads the whole postings table or every run. A statement may group its
event lines by fewer fields (e.g. series and episode, for a page): the totals are the same.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from ledger.accounts import normal_sign
from ledger.balances import get_balances
from ledger.errors import CurrencyMismatch, UnknownAccount
from ledger.journal import is_postgresql, pg_array
from ledger.rollups import DAY, LINE_FIELDS, MONTH, ROUNDING, day_of, month_of, rollup_lines
from ledger.schema import (
    NOT_ALLOCATION_SQL,
    Account,
    AllocationBucket,
    AllocationRun,
    Posting,
    UTCDateTime,
    utcnow,
)

EVENT_FIELDS = LINE_FIELDS
"""The event attributes a statement line is grouped by (missing ones are None)."""

LineGroup = tuple[tuple[str, Any], ...]
"""A line's group: ((field, value), ...) (see StatementLine.group)."""

EventLine = tuple[str, LineGroup, int, int]
"""(kind, group, posting amount, count) of one event line, as the queries return it."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """Money of one kind and one group, within the period (normal side, minor units).

    Fields:
        kind: "earning" (events with gross > 0), "refund" (negative-gross events),
            "rounding" (a bucket's rounding after refunds, see ledger.allocation.engine),
            "payout" (entries whose metadata kind is "payout", or their reversals), or "other".
        group: for events, ((field, value), ...) over the statement's fields (EVENT_FIELDS
            or fewer); for other entries, their metadata items, sorted.
        amount: the signed total.
        count: how many events (or entries) it sums.
        entry_ids: for lines of entries without events, the entries summed.
    """

    kind: str
    group: LineGroup
    amount: int
    count: int
    entry_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementEvent:
    """One allocation event behind a statement line, with its exact money for the accounts.

    Fields: ref (the caller's event id), entry_id (the entry carrying it), effective_at,
    gross (the event's whole signed gross), amount (normal side, for the statement's accounts),
    attributes (its statement line's facts: EVENT_FIELDS' values), reverses (the ref of the
    event a refund gives back, else None).
    """

    ref: int
    entry_id: int
    effective_at: datetime
    gross: int
    amount: int
    attributes: dict[str, Any]
    reverses: int | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """One or more accounts of one currency over [start, end): opening + sum(lines) == closing.

    Fields:
        account_id: the (first) account; account_ids: every account summed.
        currency: the accounts' currency.
        start, end: the period, by effective time, start included, end excluded.
        opening: posted balance of postings effective before start.
        lines: the period's movements, grouped (see StatementLine).
        closing: posted balance of postings effective before end.
        pending, available: the accounts' pending and available amounts at `now`.
        fields: the event fields its event lines are grouped by.
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
    account_ids: tuple[int, ...] = ()
    fields: tuple[str, ...] = EVENT_FIELDS

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
    return accounts_statement(session, [account_id], start, end, now)


def accounts_statement(
    session: Session,
    account_ids: Sequence[int],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    fields: Sequence[str] = EVENT_FIELDS,
) -> Statement:
    """Return one statement summing several accounts of one currency and normal side (a
    person's memberships), for [start, end) by effective time; its event lines are grouped by
    `fields` (EVENT_FIELDS, or fewer of them in that order: a coarser statement, same totals)."""
    fields = tuple(fields)
    if fields != tuple(name for name in EVENT_FIELDS if name in fields):
        raise ValueError(f"fields must be EVENT_FIELDS or a subset of them in order: {fields}")
    session.flush()
    ids, currency, sign, born = _accounts(session, account_ids)
    # (kind, group) -> [amount, count, entry ids]: added to in place.
    lines: dict[tuple[str, LineGroup], list[Any]] = defaultdict(lambda: [0, 0, []])
    for kind, group, amount, count in _all_event_lines(session, ids, start, end, fields):
        line = lines[kind, group]
        line[0] += sign * amount
        line[1] += count
    for entry_id, meta, amount in _other_entries(session, ids, start, end):
        entry_kind = meta.get("kind")
        if entry_kind == "reversal" and meta.get("reverses_kind") == "payout":
            entry_kind = "payout"
        line = lines["payout" if entry_kind == "payout" else "other", _metadata_group(meta)]
        line[0] += sign * amount
        line[1] += 1
        line[2].append(entry_id)
    balances = get_balances(session, ids, now)
    posted = sign * sum(b.posted for b in balances.values())  # debit-positive, like postings
    closing = _posted_before(session, ids, end, posted, born)
    opening = closing - sign * sum(amount for amount, _, _ in lines.values())
    return Statement(
        account_id=ids[0],
        currency=currency,
        start=start,
        end=end,
        opening=sign * opening,
        lines=tuple(
            StatementLine(kind, group, amount, count, tuple(sorted(entries)))
            for (kind, group), (amount, count, entries) in sorted(lines.items(), key=_line_order)
        ),
        closing=sign * closing,
        pending=sum(b.pending for b in balances.values()),
        available=sum(b.available for b in balances.values()),
        account_ids=tuple(ids),
        fields=fields,
    )


def statement_events(
    session: Session,
    account_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    kind: str | None = None,
    group: dict[str, Any] | None = None,
    limit: int | None = None,
) -> list[StatementEvent]:
    """Return the allocation events behind a statement's event lines (all, or one line's: its
    kind "earning"/"refund" and group fields), each with its exact money, in time order."""
    session.flush()
    ids, _, sign, _ = _accounts(session, account_ids)
    wanted = {
        index: value for index, name in enumerate(EVENT_FIELDS) if group and name in group
        for value in [group[name]]
    }
    found: list[StatementEvent] = []
    for event in _run_events(session, ids, start, end):
        if kind is not None and _kind(event) != kind:
            continue
        values = event.values
        if any(values[index] != value for index, value in wanted.items()):
            continue
        found.append(
            StatementEvent(
                event.ref,
                event.entry_id,
                event.effective_at,
                event.gross,
                sign * event.amount,
                dict(zip(EVENT_FIELDS, values, strict=True)),
                event.reverses or None,
            )
        )
    found.sort(key=lambda e: (e.effective_at, e.entry_id, e.ref))
    return found if limit is None else found[: int(limit)]


@dataclass(frozen=True, slots=True)
class _RunEvent:
    """One event of a run as the statement's accounts see it (posting amount, debit-positive,
    summed over the accounts it touches)."""

    ref: int
    entry_id: int
    effective_at: datetime
    gross: int
    amount: int
    line_key: str
    values: tuple[Any, ...]
    reverses: int


def _run_events(
    session: Session, ids: list[int], start: datetime, end: datetime
) -> Iterator[_RunEvent]:
    """The events of the accounts' buckets effective in [start, end), from their runs (those
    of the hours overlapping the period: index on (bucket_id, hour))."""
    positions: dict[int, list[int]] = defaultdict(list)
    accounts, params = _accounts_sql(session, "account_id", ids)
    for bucket_id, position in session.execute(
        text(f"SELECT bucket_id, position FROM ledger_bucket_parties WHERE {accounts}"),  # noqa: S608
        params,
    ):
        positions[bucket_id].append(position)
    if not positions:
        return
    widths = {
        bucket_id: len(parties if isinstance(parties, list) else json.loads(parties))
        for bucket_id, parties in session.execute(
            select(AllocationBucket.id, AllocationBucket.parties).where(
                AllocationBucket.id.in_(positions)
            )
        )
    }
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    runs = AllocationRun.__table__
    rows = session.execute(
        select(
            runs.c.bucket_id,
            runs.c.entry_id,
            runs.c.hour,
            runs.c.refs,
            runs.c.grosses,
            runs.c.offsets,
            runs.c.line_keys,
            runs.c.party_amounts,
            runs.c.reverses,
            runs.c.rounding,
        )
        .where(runs.c.bucket_id.in_(positions), runs.c.hour >= first_hour, runs.c.hour < end)
        .order_by(runs.c.hour, runs.c.id)
    )
    decoded: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        bucket_id, entry_id, hour, refs, grosses, offsets, keys, amounts, reverses, rounding = row
        hour = _aware(hour)
        width, where = widths[bucket_id], positions[bucket_id]
        last = hour + timedelta(microseconds=max(offsets))  # the entry's effective_at
        if any(rounding) and start <= last < end:
            # The run's rounding (after refunds): a line of its own, at its entry's time.
            first = json.loads(keys[0])
            rounding_values: tuple[Any, ...] = (first[0], None, first[2], None, ROUNDING)
            amount = sum(-rounding[p] for p in where if p >= 0)
            yield _RunEvent(0, entry_id, last, 0, amount, "", rounding_values, 0)
        for i, ref in enumerate(refs):
            moment = hour + timedelta(microseconds=offsets[i])
            if moment < start or moment >= end:
                continue
            gross = grosses[i]
            amount = sum(gross if p == -1 else -amounts[i * width + p] for p in where)
            values = decoded.get(keys[i])
            if values is None:
                values = decoded[keys[i]] = tuple(json.loads(keys[i]))
            yield _RunEvent(ref, entry_id, moment, gross, amount, keys[i], values, reverses[i])


def _accounts(
    session: Session, account_ids: Sequence[int]
) -> tuple[list[int], str, int, datetime | None]:
    """(sorted ids, currency, normal sign, first posting's effective time or None)."""
    ids = sorted(set(account_ids))
    if not ids:
        raise UnknownAccount("a statement needs at least one account")
    first_posting = (  # per account, one probe of the (account_id, effective_at) index
        select(func.min(Posting.effective_at)).where(Posting.account_id == Account.id)
    ).scalar_subquery()
    rows = session.execute(
        select(Account.id, Account.currency, Account.normal_side, first_posting).where(
            Account.id.in_(ids)
        )
    ).all()
    if len(rows) != len(ids):
        missing = set(ids) - {row[0] for row in rows}
        raise UnknownAccount(f"no such ledger account(s): {sorted(missing)}")
    if len({(row[1], row[2]) for row in rows}) != 1:
        raise CurrencyMismatch("a statement sums accounts of one currency and one normal side")
    born = min((_aware(row[3]) for row in rows if row[3] is not None), default=None)
    return ids, rows[0][1], normal_sign(rows[0][2]), born


def _accounts_sql(session: Session, column: str, ids: list[int]) -> tuple[str, dict[str, Any]]:
    """`column` (a code constant) is one of the accounts: SQL and its parameters."""
    if is_postgresql(session):
        return f"{column} = ANY(CAST(:ids AS bigint[]))", {"ids": pg_array(ids)}
    return f"{column} IN ({', '.join(str(int(i)) for i in ids)})", {}


def _all_event_lines(
    session: Session, ids: list[int], start: datetime, end: datetime, fields: tuple[str, ...]
) -> Iterator[EventLine]:
    """Event lines of [start, end): whole UTC months from the monthly rollup, other whole UTC
    days from the daily one, the partial days at the edges from the runs."""
    day_start, day_end = _ceil_day(start), day_of(end)
    if day_start >= day_end:
        yield from _run_lines(session, ids, start, end, fields)
        return
    month_start, month_end = _ceil_month(day_start), month_of(day_end)
    parts: list[Iterable[EventLine]] = [
        _run_lines(session, ids, a, b, fields)
        for a, b in ((start, day_start), (day_end, end))
        if a < b
    ]
    if month_start < month_end:
        spans = [(MONTH, month_start, month_end), (DAY, day_start, month_start),
                 (DAY, month_end, day_end)]  # fmt: skip
    else:
        spans = [(DAY, day_start, day_end)]
    for span, a, b in spans:
        if a < b:
            parts.append(_rollup_lines(session, ids, a, b, fields, span))
    merged: dict[tuple[str, LineGroup], list[int]] = defaultdict(lambda: [0, 0])
    for part in parts:
        for kind, group, amount, count in part:
            line = merged[kind, group]
            line[0] += amount
            line[1] += count
    for (kind, group), (amount, count) in merged.items():
        yield kind, group, amount, count


def _rollup_lines(
    session: Session,
    ids: list[int],
    start: datetime,
    end: datetime,
    fields: tuple[str, ...],
    span: str,
) -> Iterator[EventLine]:
    for kind, key, amount, count in rollup_lines(session, ids, start, end, fields, span):
        yield kind, tuple(zip(fields, json.loads(key), strict=True)), amount, count


def _kind(event: _RunEvent) -> str:
    if event.values[-1] == ROUNDING:
        return ROUNDING
    return "earning" if event.gross > 0 else "refund"


def _ceil_day(moment: datetime) -> datetime:
    day = day_of(moment)
    return day if day == moment else day + timedelta(days=1)


def _ceil_month(moment: datetime) -> datetime:
    month = month_of(moment)
    if month == moment:
        return month
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _run_lines(
    session: Session, ids: list[int], start: datetime, end: datetime, fields: tuple[str, ...]
) -> Iterator[EventLine]:
    """(kind, group, posting amount, count) per event line of [start, end), from the runs (a
    partial day at most, so few runs)."""
    positions = [EVENT_FIELDS.index(name) for name in fields]
    merged: dict[tuple[str, LineGroup], list[int]] = defaultdict(lambda: [0, 0])
    for event in _run_events(session, ids, start, end):
        group = tuple((EVENT_FIELDS[i], event.values[i]) for i in positions)
        line = merged[_kind(event), group]
        line[0] += event.amount
        line[1] += 1
    for (kind, group), (amount, count) in merged.items():
        yield kind, group, amount, count


def _other_entries(
    session: Session, ids: list[int], start: datetime, end: datetime
) -> list[tuple[int, dict[str, Any], int]]:
    """(entry id, metadata, posting sum) of the accounts' entries in the period carrying no
    allocation events (allocation entries are exactly those of kind "allocation").

    The period's postings (index on (account_id, effective_at)) are tested against the partial
    index of entries that are not allocations (migration 0004): a probe that finds nothing for
    the many allocation entries, so only payouts, adjustments and the like are read."""
    accounts, params = _accounts_sql(session, "p.account_id", ids)
    sql = (  # Only code constants and int()s are interpolated; values are bound.
        "SELECT e.id, e.metadata, o.amount FROM ("  # noqa: S608
        " SELECT p.entry_id, sum(p.amount) AS amount FROM ledger_postings AS p"
        f" WHERE {accounts} AND p.effective_at >= :start AND p.effective_at < :end"
        " AND EXISTS (SELECT 1 FROM ledger_entries WHERE ledger_entries.id = p.entry_id"
        f" AND {NOT_ALLOCATION_SQL[session.get_bind().dialect.name]})"
        " GROUP BY p.entry_id) AS o JOIN ledger_entries AS e ON e.id = o.entry_id"
    )
    rows = session.execute(_bound(sql), {**params, "start": start, "end": end}).all()
    return [
        (entry_id, (meta if isinstance(meta, dict) else json.loads(meta)) or {}, int(amount))
        for entry_id, meta, amount in rows
    ]


def _posted_before(
    session: Session, ids: list[int], moment: datetime, posted: int, born: datetime | None
) -> int:
    """The accounts' posting sum effective before `moment` (debit-positive), read from the
    shorter side of the index (`born`: their first posting's time): the postings before it, or
    the maintained balance minus the postings since (recent periods, the common case)."""
    since_moment = (utcnow() - moment) < (moment - born) if born else False
    bound = Posting.effective_at >= moment if since_moment else Posting.effective_at < moment
    total = session.execute(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(Posting.account_id.in_(ids), bound)
    ).scalar_one()
    return posted - int(total) if since_moment else int(total)


def _bound(sql: str) -> TextClause:
    """The query with its period bound as UTCDateTime (naive UTC text on SQLite)."""
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime), bindparam("end", type_=UTCDateTime)
    )


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _line_order(item: tuple[tuple[str, LineGroup], list[Any]]) -> tuple[str, str]:
    (kind, group), _ = item
    return (kind, repr(group))


def _metadata_group(meta: dict[str, Any]) -> LineGroup:
    return tuple(
        sorted((str(k), v if isinstance(v, str | int) else str(v)) for k, v in meta.items())
    )
