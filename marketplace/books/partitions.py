"""Monthly partitions of the tables that grow with events (PostgreSQL only).

The event log and the journal (partner_events, ledger_entries, ledger_postings,
ledger_allocation_runs) are range-partitioned by UTC month of a time column each row already
carries (PARTITION_KEYS): one partition per month, named `<table>_YYYY_MM`, plus
`<table>_default` for a row whose month has no partition yet (a safety net: the scheduler's daily
job and the poster's start create the months ahead, so it stays empty). Migration 0021 converts
the tables; `ensure_partitions` creates the months ahead, idempotently, and is what the
scheduler, the poster and the migration call. SQLite (and any unpartitioned schema, such as the
ledger tests' create_all one) is left alone.

PostgreSQL fires a statement-level trigger only for the table a statement names, and the
ledger's append-only and balance guards are statement-level: every partition gets its own copy,
so that writing to a partition directly is refused or checked like writing to its parent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

PARTITION_KEYS: dict[str, str] = {
    "partner_events": "occurred_at",
    "ledger_entries": "effective_at",
    "ledger_postings": "effective_at",
    "ledger_allocation_runs": "hour",
}
"""Each partitioned table and its partition key: the row's own UTC time, which a repeat of the
same content repeats, so a unique key that includes it still tells a repeat from a new row."""

APPEND_ONLY = ("ledger_entries", "ledger_postings", "ledger_allocation_runs")
QUEUE_CHECKED = ("ledger_postings", "ledger_allocation_runs")

MONTHS_AHEAD = 3
"""ensure_partitions' default: the current month and this many after it."""

_LOCK_KEY = 190_021
"""Advisory lock serializing partition creation (two schedulers, a poster starting)."""


class PartitionError(RuntimeError):
    """A month cannot get its partition (its rows already sit in the default partition)."""


def month_start(moment: date) -> date:
    """The first day of the moment's month."""
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    """The first day of the month after `month` (a first day)."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of every month from first's through last's, in order."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def partition_name(table: str, month: date) -> str:
    """`<table>_YYYY_MM`."""
    return f"{table}_{month.year:04d}_{month.month:02d}"


def _connection(target: Session | Connection) -> Connection:
    return target if isinstance(target, Connection) else target.connection()


def partitioned_tables(connection: Connection) -> list[str]:
    """Which of PARTITION_KEYS' tables are partitioned in this database (none on SQLite)."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace"
            " AND c.relname = ANY(:names)"
        ),
        {"names": list(PARTITION_KEYS)},
    )
    found = {row[0] for row in rows}
    return [table for table in PARTITION_KEYS if table in found]


def _exists(connection: Connection, name: str) -> bool:
    return connection.execute(
        text("SELECT to_regclass(current_schema() || '.' || :name) IS NOT NULL"), {"name": name}
    ).scalar_one()


def guard_statements(table: str, partition: str) -> list[str]:
    """The ledger's statement-level guards of `table`, for one of its partitions."""
    statements = []
    if table in APPEND_ONLY:
        statements.append(
            f"CREATE TRIGGER {partition}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
            f" ON {partition} FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )
    if table in QUEUE_CHECKED:
        statements.append(
            f"CREATE TRIGGER {partition}_queue_check AFTER INSERT ON {partition}"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION ledger_queue_entry_check()"
        )
    return statements


def _create(connection: Connection, table: str, partition: str, bounds: str) -> None:
    connection.execute(text(f"CREATE TABLE {partition} PARTITION OF {table} {bounds}"))
    for statement in guard_statements(table, partition):
        connection.execute(text(statement))


def _bounds(month: date) -> str:
    start, end = month.isoformat(), next_month(month).isoformat()
    return f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"


def create_month_partitions(
    connection: Connection, table: str, months: Iterable[date]
) -> list[str]:
    """Create `table`'s partitions of these months (first days) and its default partition,
    those missing only; returns the names created. A month whose rows already sit in the
    default partition raises PartitionError (PostgreSQL would refuse the partition)."""
    created = []
    default = f"{table}_default"
    if not _exists(connection, default):
        _create(connection, table, default, "DEFAULT")
        created.append(default)
    key = PARTITION_KEYS[table]
    for month in months:
        name = partition_name(table, month)
        if _exists(connection, name):
            continue
        stray = connection.execute(
            text(f"SELECT 1 FROM {default} WHERE {key} >= :start AND {key} < :end LIMIT 1"),  # noqa: S608 - constants only
            {"start": _utc(month), "end": _utc(next_month(month))},
        ).first()
        if stray is not None:
            raise PartitionError(
                f"{default} holds rows of {month:%Y-%m}: move them into a new partition"
                f" {name} by hand (detach {default}, create {name}, move, attach)"
            )
        _create(connection, table, name, _bounds(month))
        created.append(name)
    return created


def _utc(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def ensure_partitions(
    target: Session | Connection,
    *,
    through: date | None = None,
    since: date | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Create every partitioned table's monthly partitions from `since` (default: the current
    month) through `through` (default: MONTHS_AHEAD months after the current one), and their
    default partitions; idempotent, under an advisory lock; returns the partitions created.
    Does nothing where the tables are not partitioned (SQLite). The caller commits."""
    connection = _connection(target)
    tables = partitioned_tables(connection)
    if not tables:
        return []
    today = (now or datetime.now(UTC)).date()
    first = month_start(since or today)
    last = through
    if last is None:
        last = today
        for _ in range(MONTHS_AHEAD):
            last = next_month(month_start(last))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    created = []
    for table in tables:
        created += create_month_partitions(connection, table, months_between(first, last))
    if created:
        log.info("created partitions: %s", ", ".join(created), extra={"partitions": created})
    return created


def partitions_of(target: Session | Connection, table: str) -> list[str]:
    """The names of a partitioned table's partitions, in name order (default last)."""
    rows = _connection(target).execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(current_schema() || '.' || :table)"
            " ORDER BY c.relname LIKE '%\\_default', c.relname"
        ),
        {"table": table},
    )
    return [row[0] for row in rows]


__all__ = [
    "MONTHS_AHEAD",
    "PARTITION_KEYS",
    "PartitionError",
    "ensure_partitions",
    "partition_name",
    "partitioned_tables",
    "partitions_of",
]
