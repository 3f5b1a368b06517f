"""Account statements: opening, movements grouped by series/episode/partner/country/kind (from
the allocation events), refunds, payouts, other, closing; and the events behind any line.

Each allocation event stores its exact money per party (`party_amounts`, written at ingestion
along the bucket's cumulative run), and `ledger_bucket_parties` says where an account sits in
its buckets, so a statement is one aggregate query over the account's buckets' monthly rollup
rows (whole months) or events (the rest of the period; index on (bucket_id, effective_at)),
plus the account's other entries in the period (its postings, index on (account_id,
effective_at), probing the partial index of entries that are not allocations): nothing is
recomputed per event and no query reads the whole postings or events table. A statement may
group its event lines by fewer fields (e.g. series and episode, for a page): the database
sums them, the totals are the same.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from ledger.accounts import normal_sign
from ledger.balances import get_balances
from ledger.errors import CurrencyMismatch, UnknownAccount
from ledger.journal import is_postgresql, pg_array
from ledger.rollups import LINE_FIELDS, month_of, rollup_lines
from ledger.schema import NOT_ALLOCATION_SQL, Account, Posting, UTCDateTime, utcnow

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
        kind: "earning" (events with gross > 0), "refund" (negative-gross events), "payout"
            (entries whose metadata kind is "payout", or their reversals), or "other".
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

    Fields: source_key (the caller's event id), entry_id (the entry carrying it), effective_at,
    gross (the event's whole signed gross), amount (normal side, for the statement's accounts),
    attributes (the event's JSON facts).
    """

    source_key: str
    entry_id: int
    effective_at: datetime
    gross: int
    amount: int
    attributes: dict[str, Any]


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
    where, params = _period_params(session, ids, start, end)
    if kind is not None:
        where += " AND e.gross > 0" if kind == "earning" else " AND e.gross < 0"
    for index, name in enumerate(EVENT_FIELDS):
        if group is None or name not in group:
            continue
        column = _field_sql(session, name)
        value = group[name]
        if value is None:
            where += f" AND {column} IS NULL"
        else:
            params[f"f{index}"] = json.dumps(value) if is_postgresql(session) else value
            where += f" AND {column} = :f{index}"
    attributes = "e.attributes::text" if is_postgresql(session) else "e.attributes"
    # Only code constants and int()s are interpolated; every value is a bound parameter.
    sql = (
        f"SELECT e.source_key, e.entry_id, e.effective_at, e.gross, {_amount_sql(session)},"  # noqa: S608
        f" {attributes} FROM {_from_sql(session)} WHERE {where} ORDER BY e.effective_at, e.id"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    merged: dict[str, StatementEvent] = {}
    for source_key, entry_id, effective_at, gross, amount, attrs in session.execute(
        _bound(sql), params
    ):
        seen = merged.get(source_key)
        if seen is not None:  # an account both debited and credited by one bucket
            merged[source_key] = StatementEvent(
                seen.source_key,
                seen.entry_id,
                seen.effective_at,
                seen.gross,
                seen.amount + sign * int(amount),
                seen.attributes,
            )
            continue
        merged[source_key] = StatementEvent(
            source_key,
            entry_id,
            _aware(effective_at),
            int(gross),
            sign * int(amount),
            attrs if isinstance(attrs, dict) else json.loads(attrs),
        )
    return list(merged.values())


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


def _from_sql(session: Session, parse: bool = True) -> str:
    base = (
        "ledger_bucket_parties AS bp"
        " JOIN ledger_allocation_events AS e ON e.bucket_id = bp.bucket_id"
    )
    if parse and is_postgresql(session):
        # One JSON parse per event, however many fields are read (drill-down filters).
        columns = ", ".join(f"{name} json" for name in EVENT_FIELDS)
        base += f" CROSS JOIN LATERAL json_to_record(e.attributes) AS a({columns})"
    return base


def _field_sql(session: Session, name: str) -> str:
    if is_postgresql(session):
        return f"a.{name}::text"
    return f"json_extract(e.attributes, '$.{name}')"


def _amount_sql(session: Session) -> str:
    """The event's posting amount on one account: + gross on the debit account, - its
    credited party amount on a party's account."""
    party = (
        "e.party_amounts[bp.position + 1]"
        if is_postgresql(session)
        else "json_extract(e.party_amounts, '$[' || bp.position || ']')"
    )
    return f"CASE WHEN bp.position = -1 THEN e.gross ELSE -{party} END"


def _accounts_sql(session: Session, column: str, ids: list[int]) -> tuple[str, dict[str, Any]]:
    """`column` (a code constant) is one of the accounts: SQL and its parameters."""
    if is_postgresql(session):
        return f"{column} = ANY(CAST(:ids AS bigint[]))", {"ids": pg_array(ids)}
    return f"{column} IN ({', '.join(str(int(i)) for i in ids)})", {}


def _period_params(
    session: Session, ids: list[int], start: datetime, end: datetime
) -> tuple[str, dict[str, Any]]:
    accounts, params = _accounts_sql(session, "bp.account_id", ids)
    params.update(start=start, end=end)
    return f"{accounts} AND e.effective_at >= :start AND e.effective_at < :end", params


def _all_event_lines(
    session: Session, ids: list[int], start: datetime, end: datetime, fields: tuple[str, ...]
) -> Iterator[EventLine]:
    """Event lines of [start, end): whole UTC months from the rollup, the rest from events."""
    first = month_of(start)
    if first < start:
        first = _next_month(first)
    last = month_of(end)
    if first >= last:
        yield from _event_lines(session, ids, start, end, fields)
        return
    merged: dict[tuple[str, LineGroup], list[int]] = defaultdict(lambda: [0, 0])
    parts = [
        _event_lines(session, ids, a, b, fields) for a, b in ((start, first), (last, end)) if a < b
    ]
    parts.append(
        ("earning" if earning else "refund", tuple(zip(fields, json.loads(key), strict=True)), a, n)
        for earning, key, a, n in rollup_lines(session, ids, first, last, fields)
    )
    for part in parts:
        for kind, group, amount, count in part:
            line = merged[kind, group]
            line[0] += amount
            line[1] += count
    for (kind, group), (amount, count) in merged.items():
        yield kind, group, amount, count


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _event_lines(
    session: Session, ids: list[int], start: datetime, end: datetime, fields: tuple[str, ...]
) -> Iterator[EventLine]:
    """(kind, group, posting amount, count) per event line, aggregated in the database.

    PostgreSQL groups by the attributes' stored text (JSON is kept as written, keys sorted by
    allocate_batch), so no row's JSON is parsed; the few distinct texts are decoded here and
    merged by `fields` (refunds and pool shares carry extra keys such as unlock_id)."""
    where, params = _period_params(session, ids, start, end)
    postgres = is_postgresql(session)
    columns = ["e.attributes::text"] if postgres else [_field_sql(session, name) for name in fields]
    sql = (  # Only code constants are interpolated; every value is a bound parameter.
        # An event joins once per statement account in its bucket (a person may hold two shares
        # of one series): its money is each account's, its count is once.
        f"SELECT {', '.join(columns)}, e.gross > 0, sum({_amount_sql(session)}),"  # noqa: S608
        " count(DISTINCT e.id)"
        f" FROM {_from_sql(session, parse=False)} WHERE {where}"
        f" GROUP BY {', '.join(str(i) for i in range(1, len(columns) + 2))}"
    )
    merged: dict[tuple[str, LineGroup], list[int]] = defaultdict(lambda: [0, 0])
    for *values, earning, amount, count in session.execute(_bound(sql), params):
        if postgres:
            attributes = json.loads(values[0])
            values = [attributes.get(name) for name in fields]
        group = tuple(zip(fields, values, strict=True))
        line = merged["earning" if earning else "refund", group]
        line[0] += int(amount)
        line[1] += int(count)
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
