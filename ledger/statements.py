"""Account statements: opening, movements grouped by series/episode/partner/country/kind (from
the allocation events), refunds, payouts, other, closing; and the events behind any line.

Each allocation event stores its exact money per party (`party_amounts`, written at ingestion
along the bucket's cumulative run), and `ledger_bucket_parties` says where an account sits in
its buckets, so a statement is one aggregate query over the account's buckets' events in the
period (index on (bucket_id, effective_at)) plus the account's other postings in the period
(index on (account_id, effective_at)): nothing is recomputed per event and no query reads
the whole postings or events table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from ledger.accounts import normal_sign
from ledger.balances import get_balances
from ledger.errors import CurrencyMismatch, UnknownAccount
from ledger.journal import is_postgresql, pg_array
from ledger.rollups import LINE_FIELDS, month_of, rollup_lines
from ledger.schema import Account, Entry, Posting, UTCDateTime, utcnow

EVENT_FIELDS = LINE_FIELDS
"""The event attributes a statement line is grouped by (missing ones are None)."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """Money of one kind and one group, within the period (normal side, minor units).

    Fields:
        kind: "earning" (events with gross > 0), "refund" (negative-gross events), "payout"
            (entries whose metadata kind is "payout", or their reversals), or "other".
        group: for events, ((field, value), ...) over EVENT_FIELDS; for other entries, their
            metadata items, sorted.
        amount: the signed total.
        count: how many events (or entries) it sums.
        entry_ids: for lines of entries without events, the entries summed.
    """

    kind: str
    group: tuple[tuple[str, Any], ...]
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
) -> Statement:
    """Return one statement summing several accounts of one currency and normal side (a
    person's memberships), for [start, end) by effective time."""
    session.flush()
    ids, currency, sign = _accounts(session, account_ids)
    lines: dict[tuple[str, tuple], list] = defaultdict(lambda: [0, 0, []])
    for kind, group, amount, count in _all_event_lines(session, ids, start, end):
        line = lines[kind, group]
        line[0] += sign * amount
        line[1] += count
    for entry_id, meta, amount in _other_entries(session, ids, start, end):
        kind = meta.get("kind")
        if kind == "reversal" and meta.get("reverses_kind") == "payout":
            kind = "payout"
        line = lines["payout" if kind == "payout" else "other", _metadata_group(meta)]
        line[0] += sign * amount
        line[1] += 1
        line[2].append(entry_id)
    balances = get_balances(session, ids, now)
    posted = sign * sum(b.posted for b in balances.values())  # debit-positive, like postings
    closing = _posted_before(session, ids, end, posted)
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
    ids, _, sign = _accounts(session, account_ids)
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


def _accounts(session: Session, account_ids: Sequence[int]) -> tuple[list[int], str, int]:
    ids = sorted(set(account_ids))
    if not ids:
        raise UnknownAccount("a statement needs at least one account")
    rows = session.execute(
        select(Account.id, Account.currency, Account.normal_side).where(Account.id.in_(ids))
    ).all()
    if len(rows) != len(ids):
        missing = set(ids) - {row[0] for row in rows}
        raise UnknownAccount(f"no such ledger account(s): {sorted(missing)}")
    if len({(row[1], row[2]) for row in rows}) != 1:
        raise CurrencyMismatch("a statement sums accounts of one currency and one normal side")
    return ids, rows[0][1], normal_sign(rows[0][2])


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


def _period_params(session: Session, ids: list[int], start: datetime, end: datetime):
    if is_postgresql(session):
        accounts = "bp.account_id = ANY(CAST(:ids AS bigint[]))"
        params: dict[str, Any] = {"ids": pg_array(ids), "start": start, "end": end}
    else:
        accounts = f"bp.account_id IN ({', '.join(str(int(i)) for i in ids)})"
        params = {"start": start, "end": end}
    return f"{accounts} AND e.effective_at >= :start AND e.effective_at < :end", params


def _all_event_lines(session: Session, ids: list[int], start: datetime, end: datetime):
    """Event lines of [start, end): whole UTC months from the rollup, the rest from events."""
    first = month_of(start)
    if first < start:
        first = _next_month(first)
    last = month_of(end)
    if first >= last:
        yield from _event_lines(session, ids, start, end)
        return
    merged: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    parts = [_event_lines(session, ids, a, b) for a, b in ((start, first), (last, end)) if a < b]
    parts.append(
        ("earning" if earning else "refund", _group(key), a, n)
        for earning, key, a, n in rollup_lines(session, ids, first, last)
    )
    for part in parts:
        for kind, group, amount, count in part:
            line = merged[kind, group]
            line[0] += amount
            line[1] += count
    for (kind, group), (amount, count) in merged.items():
        yield kind, group, amount, count


def _group(key: str) -> tuple[tuple[str, Any], ...]:
    return tuple(zip(EVENT_FIELDS, json.loads(key), strict=True))


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _event_lines(session: Session, ids: list[int], start: datetime, end: datetime):
    """(kind, group, posting amount, count) per event line, aggregated in the database.

    PostgreSQL groups by the attributes' stored text (JSON is kept as written, keys sorted by
    allocate_batch), so no row's JSON is parsed; the few distinct texts are decoded here and
    merged by EVENT_FIELDS (refunds and pool shares carry extra keys such as unlock_id)."""
    where, params = _period_params(session, ids, start, end)
    if is_postgresql(session):
        fields = ["e.attributes::text"]
    else:
        fields = [_field_sql(session, name) for name in EVENT_FIELDS]
    sql = (  # Only code constants are interpolated; every value is a bound parameter.
        f"SELECT {', '.join(fields)}, e.gross > 0, sum({_amount_sql(session)}), count(*)"  # noqa: S608
        f" FROM {_from_sql(session, parse=False)} WHERE {where}"
        f" GROUP BY {', '.join(str(i) for i in range(1, len(fields) + 2))}"
    )
    merged: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    postgres = is_postgresql(session)
    for *values, earning, amount, count in session.execute(_bound(sql), params):
        if postgres:
            attributes = json.loads(values[0])
            values = [attributes.get(name) for name in EVENT_FIELDS]
        group = tuple(zip(EVENT_FIELDS, values, strict=True))
        line = merged["earning" if earning else "refund", group]
        line[0] += int(amount)
        line[1] += int(count)
    for (kind, group), (amount, count) in merged.items():
        yield kind, group, amount, count


def _other_entries(session: Session, ids: list[int], start: datetime, end: datetime):
    """(entry id, metadata, posting sum) of the accounts' entries in the period carrying no
    allocation events (allocation entries are exactly those of kind "allocation")."""
    kind = Entry.meta["kind"].as_string()
    rows = session.execute(
        select(Entry.id, Entry.meta, func.sum(Posting.amount))
        .join(Entry, Entry.id == Posting.entry_id)
        .where(
            Posting.account_id.in_(ids),
            Posting.effective_at >= start,
            Posting.effective_at < end,
            (kind.is_(None)) | (kind != "allocation"),
        )
        .group_by(Entry.id)
    ).all()
    return [(entry_id, meta or {}, int(amount)) for entry_id, meta, amount in rows]


def _posted_before(session: Session, ids: list[int], moment: datetime, posted: int) -> int:
    """The accounts' posting sum effective before `moment` (debit-positive), read from the
    shorter side of the index: the postings before it, or the maintained balance minus the
    postings since (recent periods, the common case, read only a few rows)."""
    born = min(  # one index probe per account
        (
            found
            for found in (
                session.scalar(
                    select(func.min(Posting.effective_at)).where(Posting.account_id == i)
                )
                for i in ids
            )
            if found is not None
        ),
        default=None,
    )
    since_moment = (utcnow() - moment) < (moment - born) if born else False
    bound = Posting.effective_at >= moment if since_moment else Posting.effective_at < moment
    total = session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(Posting.account_id.in_(ids), bound)
    )
    return posted - int(total) if since_moment else int(total)


def _bound(sql: str):
    """The query with its period bound as UTCDateTime (naive UTC text on SQLite)."""
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime), bindparam("end", type_=UTCDateTime)
    )


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _line_order(item) -> tuple:
    (kind, group), _ = item
    return (kind, repr(group))


def _metadata_group(meta: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        sorted((str(k), v if isinstance(v, str | int) else str(v)) for k, v in meta.items())
    )
