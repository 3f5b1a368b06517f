"""The statements' monthly rollup: allocation events summed per bucket, UTC month and
statement line (ledger_statement_rollups), written by allocate_batch in the same transaction
as the events, read by ledger.reports.statements for the whole months of a period.

A bucket's rows are only written under its row lock (allocate_batch locks its buckets first),
so concurrent batches never race on a rollup row; one upsert statement per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.orm import Session

from ledger.journal import int_array, is_postgresql, iso, pg_array
from ledger.json_text import compact_list
from ledger.schema import StatementRollup, UTCDateTime

if TYPE_CHECKING:
    from ledger.allocation.engine import AllocationEvent

LINE_FIELDS = ("series_id", "episode", "partner_id", "country", "kind")
"""The event attributes a statement line is grouped by (missing ones are None)."""

DeltaKey = tuple[int, datetime, bool, str]
"""(bucket_id, month, earning, line_key): one rollup row."""

Deltas = dict[DeltaKey, list[Any]]
"""(bucket_id, month, earning, line_key) -> [events, gross, party amounts]: a list, added to in
place on the hot path (an int, an int and a list of ints)."""


def month_of(moment: datetime) -> datetime:
    """The first instant (UTC) of the moment's UTC month."""
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def line_key(attributes: dict[str, Any]) -> str:
    """The rollup's compact key of an event's statement line."""
    return compact_list(map(attributes.get, LINE_FIELDS))


def add_event(
    deltas: Deltas,
    bucket_id: int,
    event: AllocationEvent,
    amounts: list[int],
    month: datetime | None = None,
    key: str | None = None,
) -> None:
    """Count one new event (an AllocationEvent and its per-party amounts) into the deltas.

    `month` (month_of its effective_at) and `key` (its line_key) save the work when the caller
    knows them (allocate_batch: one month per hour group, keys cached per batch)."""
    if month is None:
        month = month_of(event.effective_at)
    if key is None:
        key = line_key(event.attributes)
    found = deltas.get((bucket_id, month, event.gross > 0, key))
    if found is None:
        deltas[bucket_id, month, event.gross > 0, key] = [1, event.gross, list(amounts)]
        return
    found[0] += 1
    found[1] += event.gross
    found[2] = [a + b for a, b in zip(found[2], amounts, strict=True)]


_PG_UPSERT = """
INSERT INTO ledger_statement_rollups AS r
    (bucket_id, month, earning, line_key, events, gross, party_amounts)
SELECT u.b, u.m, u.e = 1, u.k, u.c, u.g, CAST(u.p AS bigint[])
  FROM unnest(CAST(:b AS bigint[]), CAST(:m AS timestamptz[]), CAST(:e AS int[]),
              CAST(:k AS text[]), CAST(:c AS bigint[]), CAST(:g AS bigint[]),
              CAST(:p AS text[])) AS u(b, m, e, k, c, g, p)
ON CONFLICT (bucket_id, month, earning, line_key) DO UPDATE
   SET events = r.events + excluded.events,
       gross = r.gross + excluded.gross,
       party_amounts = ARRAY(
           SELECT x + y FROM unnest(r.party_amounts, excluded.party_amounts)
                        WITH ORDINALITY AS t(x, y, i) ORDER BY i)
"""


def write_rollups(session: Session, deltas: Deltas) -> None:
    """Add a batch's deltas to the rollup rows (insert or add, one statement on PostgreSQL)."""
    if not deltas:
        return
    items = sorted(deltas.items(), key=lambda item: (item[0][0], item[0][1], item[0][3]))
    if is_postgresql(session):
        session.execute(
            text(_PG_UPSERT),
            {
                "b": int_array([k[0] for k, _ in items]),
                "m": pg_array([iso(k[1]) for k, _ in items]),
                "e": int_array([int(k[2]) for k, _ in items]),
                "k": pg_array([k[3] for k, _ in items]),
                "c": int_array([v[0] for _, v in items]),
                "g": int_array([v[1] for _, v in items]),
                # Each element an int array's own literal, quoted: digits, signs, commas only.
                "p": "{" + ",".join([f'"{int_array(v[2])}"' for _, v in items]) + "}",
            },
        )
        return
    _write_rollups_sqlite(session, items)


def _write_rollups_sqlite(session: Session, items: list[tuple[DeltaKey, list[Any]]]) -> None:
    """SQLite (one writer at a time): read the rows the batch touches, then write them."""
    table = StatementRollup.__table__
    existing: dict[DeltaKey, Row[Any]] = {}
    for bucket_id in {k[0] for k, _ in items}:
        for stored in session.execute(select(table).where(table.c.bucket_id == bucket_id)):
            existing[stored.bucket_id, stored.month, stored.earning, stored.line_key] = stored
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for (bucket_id, month, earning, key), (count, gross, amounts) in items:
        row = existing.get((bucket_id, month, earning, key))
        values = {"b_id": bucket_id, "b_m": month, "b_e": earning, "b_k": key}
        if row is None:
            inserts.append({"bucket_id": bucket_id, "month": month, "earning": earning,
                            "line_key": key, "events": count, "gross": gross,
                            "party_amounts": amounts})  # fmt: skip
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
                table.c.month == bindparam("b_m", type_=UTCDateTime),
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
    first_month: datetime,
    end_month: datetime,
    fields: Sequence[str] = LINE_FIELDS,
) -> list[tuple[bool, str, int, int]]:
    """(earning, key, posting amount on the accounts, events) per line, over the whole months
    in [first_month, end_month), from the rollup rows of the accounts' buckets.

    `key` is a JSON list of the line's values of `fields` (LINE_FIELDS, or a subset of them in
    that order): the rows' own line_key for every field, else the database's projection of it,
    summed per projected line (a page showing series and episodes gets ~100 rows a month, not
    one per partner app and country)."""
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
        "SELECT earning, line, sum(amount), sum(events) FROM ("  # noqa: S608
        f"SELECT r.earning AS earning, {_projected_key(positions, postgres)} AS line,"
        f" sum(CASE WHEN bp.position = -1 THEN r.gross ELSE -{position} END) AS amount,"
        " max(r.events) AS events"
        " FROM ledger_bucket_parties AS bp"
        " JOIN ledger_statement_rollups AS r ON r.bucket_id = bp.bucket_id"
        f" WHERE {accounts} AND r.month >= :first AND r.month < :end"
        " GROUP BY r.bucket_id, r.month, r.earning, r.line_key"
        ") AS per_row GROUP BY 1, 2"
    )
    query = text(sql).bindparams(
        bindparam("first", type_=UTCDateTime), bindparam("end", type_=UTCDateTime)
    )
    rows = session.execute(query, {**params, "first": first_month, "end": end_month})
    return [(bool(e), key, int(amount), int(count)) for e, key, amount, count in rows]


def _projected_key(positions: list[int], postgres: bool) -> str:
    """SQL for the JSON list of line_key's values at `positions` (line_key itself for all)."""
    if positions == list(range(len(LINE_FIELDS))):
        return "r.line_key"
    if postgres:  # json (kept as text), not jsonb: each -> reads a ~30-byte string
        items = ", ".join(f"CAST(r.line_key AS json) -> {int(i)}" for i in positions)
        return f"CAST(json_build_array({items}) AS text)"
    items = ", ".join(f"json_extract(r.line_key, '$[{int(i)}]')" for i in positions)
    return f"json_array({items})"
