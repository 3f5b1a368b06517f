"""The statements' rollups: allocation events summed per bucket, UTC month (or UTC day) and
statement line (ledger_statement_rollups, ledger_statement_days), written by allocate_batch in
the same transaction as the runs, read by ledger.reports.statements for the whole months (and
the other whole days) of a period.

A bucket's rows are only written under its row lock (allocate_batch locks its buckets first),
so concurrent batches never race on a rollup row; one upsert statement per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from operator import add
from typing import Any

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.orm import Session

from ledger.journal import int_array, is_postgresql, iso, pg_array, text_array
from ledger.json_text import compact_list
from ledger.schema import StatementDay, StatementRollup, UTCDateTime

LINE_FIELDS = ("series_id", "episode", "partner_id", "country", "kind")
"""The event attributes a statement line is grouped by (missing ones are None)."""

ROUNDING = "rounding"
"""The `kind` of a bucket's rounding line: what a run posts beside its events to bring every
party back to target(C) after refunds (see ledger.allocation.engine); gross 0, one per run."""

MONTH, DAY = "month", "day"
"""The two spans a rollup row sums: a UTC month (ledger_statement_rollups) or day (_days)."""

DeltaKey = tuple[int, str, datetime, bool, str]
"""(bucket_id, span, start of the month or day, earning, line_key): one rollup row."""

Deltas = dict[tuple[int, str, datetime], dict[tuple[bool, str], list[Any]]]
"""(bucket_id, span, start) -> (earning, line_key) -> [events, gross, party amounts]: a
batch's rollup rows, grouped so that the hot path hashes a start time once per run, not once
per line; the lists are added to in place."""

_TABLES = {MONTH: "ledger_statement_rollups", DAY: "ledger_statement_days"}


def month_of(moment: datetime) -> datetime:
    """The first instant (UTC) of the moment's UTC month."""
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def line_key(attributes: dict[str, Any]) -> str:
    """The rollup's compact key of an event's statement line."""
    return compact_list(map(attributes.get, LINE_FIELDS))


def day_of(moment: datetime) -> datetime:
    """The first instant (UTC) of the moment's UTC day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def add_event(
    deltas: Deltas,
    bucket_id: int,
    gross: int,
    amounts: Sequence[int],
    month: datetime,
    day: datetime,
    key: str,
) -> None:
    """Count one event (its gross and per-party amounts, its month, day and line key) into the
    deltas of both spans."""
    add_lines(deltas, bucket_id, month, day, {(gross > 0, key): [1, gross, tuple(amounts)]})


def add_lines(
    deltas: Deltas,
    bucket_id: int,
    month: datetime,
    day: datetime,
    lines: dict[tuple[bool, str], list[Any]],
) -> None:
    """Add one run's line sums ((earning, line key) -> [events, gross, per-party amounts as a
    tuple]), all in one month and day, into the deltas of both spans."""
    for span, start in ((MONTH, month), (DAY, day)):
        rows = deltas.get((bucket_id, span, start))
        if rows is None:
            deltas[bucket_id, span, start] = {key: [c, g, a] for key, (c, g, a) in lines.items()}
            continue
        for key, (count, gross, amounts) in lines.items():
            found = rows.get(key)
            if found is None:
                rows[key] = [count, gross, amounts]
                continue
            found[0] += count
            found[1] += gross
            found[2] = tuple(map(add, found[2], amounts))


_PG_UPSERT = """
INSERT INTO {table} AS r
    (bucket_id, {span}, earning, line_key, events, gross, party_amounts)
SELECT u.b, u.m, u.e = 1, u.k, u.c, u.g, CAST(u.p AS bigint[])
  FROM unnest(CAST(:b AS bigint[]), CAST(:m AS timestamptz[]), CAST(:e AS int[]),
              CAST(:k AS text[]), CAST(:c AS bigint[]), CAST(:g AS bigint[]),
              CAST(:p AS text[])) AS u(b, m, e, k, c, g, p)
ON CONFLICT (bucket_id, {span}, earning, line_key) DO UPDATE
   SET events = r.events + excluded.events,
       gross = r.gross + excluded.gross,
       party_amounts = ARRAY(
           SELECT x + y FROM unnest(r.party_amounts, excluded.party_amounts)
                        WITH ORDINALITY AS t(x, y, i) ORDER BY i)
"""


def write_rollups(session: Session, deltas: Deltas) -> None:
    """Add a batch's deltas to the rollup rows of both spans (insert or add: one statement a
    span on PostgreSQL)."""
    by_span: dict[str, list[tuple[DeltaKey, list[Any]]]] = {MONTH: [], DAY: []}
    for (bucket_id, span, start), rows in deltas.items():
        by_span[span].extend(
            ((bucket_id, span, start, earning, key), value)
            for (earning, key), value in rows.items()
        )
    for span in (MONTH, DAY):
        items = by_span[span]
        items.sort()  # by bucket, start, sign and line: keys are unique, no value is compared
        if not items:
            continue
        if is_postgresql(session):
            _write_rollups_postgresql(session, span, items)
        else:
            _write_rollups_sqlite(session, span, items)


def _write_rollups_postgresql(
    session: Session, span: str, items: list[tuple[DeltaKey, list[Any]]]
) -> None:
    keys = [k for k, _ in items]
    values = [v for _, v in items]
    starts = {k[2]: f'"{iso(k[2])}"' for k in keys}  # a batch spans a few months or days
    session.execute(
        text(_PG_UPSERT.format(table=_TABLES[span], span=span)),
        {
            "b": int_array([k[0] for k in keys]),
            "m": "{" + ",".join([starts[k[2]] for k in keys]) + "}",
            "e": "{" + ",".join(["1" if k[3] else "0" for k in keys]) + "}",
            "k": text_array([k[4] for k in keys]),
            "c": int_array([v[0] for v in values]),
            "g": int_array([v[1] for v in values]),
            # Each element an int array's own literal, quoted: digits, signs, commas only.
            "p": '{"{' + '}","{'.join([",".join(map(str, v[2])) for v in values]) + '}"}',
        },
    )


def _write_rollups_sqlite(
    session: Session, span: str, items: list[tuple[DeltaKey, list[Any]]]
) -> None:
    """SQLite (one writer at a time): read the rows the batch touches, then write them."""
    table = (StatementRollup if span == MONTH else StatementDay).__table__
    start_column = table.c[span]
    existing: dict[tuple[int, datetime, bool, str], Row[Any]] = {}
    for bucket_id in {k[0] for k, _ in items}:
        starts = sorted({k[2] for k, _ in items if k[0] == bucket_id})
        for stored in session.execute(
            select(table).where(table.c.bucket_id == bucket_id, start_column.in_(starts))
        ):
            start = stored._mapping[span]
            existing[stored.bucket_id, start, stored.earning, stored.line_key] = stored
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for (bucket_id, _, start, earning, key), (count, gross, amounts) in items:
        row = existing.get((bucket_id, start, earning, key))
        values = {"b_id": bucket_id, "b_m": start, "b_e": earning, "b_k": key}
        if row is None:
            inserts.append({"bucket_id": bucket_id, span: start, "earning": earning,
                            "line_key": key, "events": count, "gross": gross,
                            "party_amounts": list(amounts)})  # fmt: skip
        else:
            total = [a + b for a, b in zip(row.party_amounts, amounts, strict=True)]
            updates.append({**values, "b_c": row.events + count, "b_g": row.gross + gross,
                            "b_p": total})  # fmt: skip
    if inserts:
        session.execute(table.insert(), inserts)
    if updates:
        session.execute(
            table.update()
            .where(
                table.c.bucket_id == bindparam("b_id"),
                start_column == bindparam("b_m", type_=UTCDateTime),
                table.c.earning == bindparam("b_e"),
                table.c.line_key == bindparam("b_k"),
            )
            .values(
                events=bindparam("b_c"),
                gross=bindparam("b_g"),
                party_amounts=bindparam("b_p", type_=table.c.party_amounts.type),
            ),
            updates,
        )


def rollup_lines(
    session: Session,
    ids: Sequence[int],
    first: datetime,
    end: datetime,
    fields: Sequence[str] = LINE_FIELDS,
    span: str = MONTH,
) -> list[tuple[str, str, int, int]]:
    """(kind, key, posting amount on the accounts, events) per line, over the whole months (or
    days, span DAY) in [first, end), from the rollup rows of the accounts' buckets; kind is
    "earning" (gross > 0), "refund" (gross < 0) or ROUNDING (a bucket's rounding line).

    `key` is a JSON list of the line's values of `fields` (LINE_FIELDS, or a subset of them in
    that order): the rows' own line_key for every field, else the database's projection of it,
    summed per projected line (a page showing series and episodes gets ~100 rows a month, not
    one per partner app and country)."""
    if span not in _TABLES:
        raise ValueError(f"span is {MONTH!r} or {DAY!r}, got {span!r}")
    positions = [LINE_FIELDS.index(name) for name in fields]
    if positions != sorted(set(positions)):
        raise ValueError(f"fields must be LINE_FIELDS or a subset of them in order: {fields}")
    postgres = is_postgresql(session)
    position = (
        "r.party_amounts[bp.position + 1]"
        if postgres
        else "json_extract(r.party_amounts, '$[' || bp.position || ']')"
    )
    if postgres:
        accounts, params = "bp.account_id = ANY(CAST(:ids AS bigint[]))", {"ids": pg_array(ids)}
    else:
        accounts, params = f"bp.account_id IN ({', '.join(str(int(i)) for i in ids)})", {}
    # Only code constants and int()s are interpolated; values are bound. A rollup row joins
    # once per statement account in its bucket (a person may hold two shares of one series):
    # its money is summed over them, its events counted once (the inner GROUP BY is the row's
    # primary key).
    sql = (
        "SELECT earning, rounding, line, sum(amount), sum(events) FROM ("  # noqa: S608
        "SELECT r.earning AS earning, r.line_key LIKE :rounding AS rounding,"
        f" {_projected_key(positions, postgres)} AS line,"
        f" sum(CASE WHEN bp.position = -1 THEN r.gross ELSE -{position} END) AS amount,"
        " max(r.events) AS events"
        " FROM ledger_bucket_parties AS bp"
        f" JOIN {_TABLES[span]} AS r ON r.bucket_id = bp.bucket_id"
        f" WHERE {accounts} AND r.{span} >= :first AND r.{span} < :end"
        f" GROUP BY r.bucket_id, r.{span}, r.earning, r.line_key"
        ") AS per_row GROUP BY 1, 2, 3"
    )
    query = text(sql).bindparams(
        bindparam("first", type_=UTCDateTime), bindparam("end", type_=UTCDateTime)
    )
    rounding = f'%"{ROUNDING}"]'
    rows = session.execute(query, {**params, "first": first, "end": end, "rounding": rounding})
    return [
        (ROUNDING if r else "earning" if e else "refund", key, int(amount), int(count))
        for e, r, key, amount, count in rows
    ]


def _projected_key(positions: list[int], postgres: bool) -> str:
    """SQL for the JSON list of line_key's values at `positions` (line_key itself for all)."""
    if positions == list(range(len(LINE_FIELDS))):
        return "r.line_key"
    if postgres:  # json (kept as text), not jsonb: each -> reads a ~30-byte string
        items = ", ".join(f"CAST(r.line_key AS json) -> {int(i)}" for i in positions)
        return f"CAST(json_build_array({items}) AS text)"
    items = ", ".join(f"json_extract(r.line_key, '$[{int(i)}]')" for i in positions)
    return f"json_array({items})"
