"""monthly partitions (issue 19).

On PostgreSQL, the tables that grow with events become range-partitioned by UTC month of a
time column each row already carries (marketplace/books/partitions.py: PARTITION_KEYS):
partner_events by occurred_at, ledger_entries and ledger_postings by effective_at,
ledger_allocation_runs by hour. Each table is rebuilt: a partitioned table of the same columns,
defaults and checks, its monthly partitions (every month holding rows, the previous month, the
current one and three ahead, plus a default partition), the rows copied, the old table dropped;
then its constraints, indexes and triggers are recreated as they were, except that:

- the primary key and every unique key also hold the partition key (PostgreSQL requires it):
  a repeat carries the same time, so it still meets the unique index of its own month;
- a foreign key cannot reference a partitioned table by id alone: the three that did
  (partner_events.refund_of, reconciliation_lines.event_row_id, ledger_entries.
  reverses_entry_id) become row triggers that refuse a missing row (and, for partner events,
  a DELETE of a row still referred to), with the foreign key's error code; refund_of and
  reverses_entry_id were unique on their own, and their triggers keep them so across months
  (under a transaction lock of the value: refunds and reversals are rare rows).

SQLite stays unpartitioned: nothing changes there. The downgrade rebuilds plain tables with the
original keys, foreign keys and triggers.

Revision ID: 0021_partitions
Revises: 0020_settlements_more
"""

import re
from datetime import UTC, date, datetime

from alembic import op
from sqlalchemy import text

from marketplace.books.partitions import (
    MONTHS_AHEAD,
    PARTITION_KEYS,
    create_month_partitions,
    month_start,
    months_between,
    next_month,
)

revision = '0021_partitions'
down_revision = '0020_settlements_more'
branch_labels = None
depends_on = None

# (table, column, referenced table, constraint name, unique): the foreign keys into partitioned
# tables; `unique`: the column was unique on its own too (a refund refunds one unlock, an entry
# is reversed once), which the partitioned unique key (column, partition key) no longer says.
REFERENCES = [
    ("partner_events", "refund_of", "partner_events",
     "fk_partner_events_refund_of_partner_events", True),
    ("reconciliation_lines", "event_row_id", "partner_events",
     "fk_reconciliation_lines_event_row_id_partner_events", False),
    ("ledger_entries", "reverses_entry_id", "ledger_entries",
     "fk_ledger_entries_reverses_entry_id_ledger_entries", True),
]  # fmt: skip

_CHECK_REFERENCE = """
CREATE FUNCTION {name}_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {referenced} WHERE id = NEW.{column}) THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key "{name}"',
            TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key ({column})=(%s) is not present in table "{referenced}".',
                            NEW.{column});
    END IF;{unique}
    RETURN NULL;
END $$
"""
# Unique across months: writers of the same value queue on a transaction lock of it, so the
# later one's query (a new snapshot) sees the earlier one's committed row. Refunds and
# reversals only: rare rows, one lock each.
_UNIQUE_ACROSS_MONTHS = """
    PERFORM pg_advisory_xact_lock(hashtext('{table}.{column}'), hashtext(NEW.{column}::text));
    IF (SELECT count(*) FROM {table} WHERE {column} = NEW.{column}) > 1 THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint "uq_{table}_{column}"'
            USING ERRCODE = 'unique_violation',
            DETAIL = format('Key ({column})=(%s) already exists.', NEW.{column});
    END IF;"""
# After the statement's rows are in (as a foreign key checks), and only for rows that refer.
_CHECK_TRIGGER = (
    "CREATE TRIGGER {name} AFTER INSERT OR UPDATE OF {column} ON {table}"
    " FOR EACH ROW WHEN (NEW.{column} IS NOT NULL) EXECUTE FUNCTION {name}_check()"
)
# Partner events are not append-only (a refund marks its unlock), so the referenced side too.
_KEPT_EVENT = """
CREATE FUNCTION partner_events_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM partner_events WHERE refund_of = OLD.id)
       OR EXISTS (SELECT 1 FROM reconciliation_lines WHERE event_row_id = OLD.id) THEN
        RAISE EXCEPTION 'delete on table "partner_events" violates a foreign key: event % is'
            ' still referenced', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$
"""
_KEPT_EVENT_TRIGGER = (
    "CREATE TRIGGER partner_events_referenced BEFORE DELETE ON partner_events"
    " FOR EACH ROW EXECUTE FUNCTION partner_events_referenced_check()"
)


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table, _, _, name, _ in REFERENCES:
        conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    today = datetime.now(UTC).date()
    around = months_between(previous_month(today), ahead(today))
    for table, key in PARTITION_KEYS.items():
        partition(conn, table, key, around)
    for table, column, referenced, name, unique in REFERENCES:
        check = _UNIQUE_ACROSS_MONTHS.format(table=table, column=column) if unique else ""
        conn.execute(text(_CHECK_REFERENCE.format(name=name, column=column,
                                                  referenced=referenced, unique=check)))  # fmt: skip
        conn.execute(text(_CHECK_TRIGGER.format(name=name, column=column, table=table)))
    conn.execute(text(_KEPT_EVENT))
    conn.execute(text(_KEPT_EVENT_TRIGGER))


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("DROP TRIGGER partner_events_referenced ON partner_events"))
    conn.execute(text("DROP FUNCTION partner_events_referenced_check()"))
    for table, _, _, name, _ in REFERENCES:
        conn.execute(text(f"DROP TRIGGER {name} ON {table}"))
        conn.execute(text(f"DROP FUNCTION {name}_check()"))
    for table, key in PARTITION_KEYS.items():
        unpartition(conn, table, key)
    for table, column, referenced, name, _ in REFERENCES:
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name}"
                          f" FOREIGN KEY ({column}) REFERENCES {referenced}(id)"))  # fmt: skip


def previous_month(today: date) -> date:
    """The first day of the month before today's."""
    first = month_start(today)
    return month_start(date.fromordinal(first.toordinal() - 1))


def ahead(today: date) -> date:
    """The first day of the month MONTHS_AHEAD after today's."""
    month = month_start(today)
    for _ in range(MONTHS_AHEAD):
        month = next_month(month)
    return month


def definitions(conn, table: str) -> tuple[list, list, list]:
    """The table's constraints but checks ((name, type, definition)), its indexes that no
    constraint owns (definitions), and its own triggers (definitions)."""
    constraints = conn.execute(
        text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f')"
            " ORDER BY conname"
        ),
        {"t": table},
    ).all()
    indexes = conn.execute(
        text(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = CAST(:t AS regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY c.relname"
        ),
        {"t": table},
    ).scalars().all()
    triggers = conn.execute(
        text(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal AND tgparentid = 0"
            " ORDER BY tgname"
        ),
        {"t": table},
    ).scalars().all()
    return list(constraints), list(indexes), list(triggers)


_COLUMNS = re.compile(r"\(([^()]*)\)")


def with_key(definition: str, key: str) -> str:
    """A key's or index's definition with the partition key appended to its first column
    list (and, for an index, to its name)."""
    definition = _COLUMNS.sub(lambda m: f"({m.group(1)}, {key})", definition, count=1)
    return re.sub(r"^(CREATE UNIQUE INDEX )(\w+)", rf"\1\2_{key}", definition)


def without_key(definition: str, key: str) -> str:
    """with_key undone."""
    definition = definition.replace(f", {key})", ")", 1)
    return re.sub(rf"^(CREATE UNIQUE INDEX )(\w+)_{key}\b", r"\1\2", definition)


def rebuild(conn, table: str, partition_by: str, months: list[date]) -> None:
    """Replace `table` by a copy of its columns, defaults and checks (partitioned by
    `partition_by` with these months, or plain when it is empty), rows included."""
    conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}__old"))
    suffix = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    conn.execute(text(f"CREATE TABLE {table} (LIKE {table}__old INCLUDING DEFAULTS"
                      f" INCLUDING CONSTRAINTS INCLUDING STORAGE){suffix}"))  # fmt: skip
    if partition_by:
        create_month_partitions(conn, table, months)
    conn.execute(text(f"INSERT INTO {table} SELECT * FROM {table}__old"))
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                            {"t": f"{table}__old"}).scalar()  # fmt: skip
    if sequence:
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id"))
    conn.execute(text(f"DROP TABLE {table}__old"))


def partition(conn, table: str, key: str, around: list[date]) -> None:
    """Rebuild one table partitioned by month of `key`, its keys widened to hold `key`."""
    constraints, indexes, triggers = definitions(conn, table)
    months = f"SELECT DISTINCT date_trunc('month', {key} AT TIME ZONE 'UTC')::date FROM {table}"
    held = conn.execute(text(months)).scalars().all()
    rebuild(conn, table, key, sorted(set(held) | set(around)))
    for name, kind, definition in constraints:
        if kind == "p":
            definition = f"PRIMARY KEY (id, {key})"
        elif kind == "u":
            name, definition = f"{name}_{key}", with_key(definition, key)
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for definition in indexes:
        conn.execute(text(with_key(definition, key) if " UNIQUE " in definition else definition))
    for definition in triggers:
        conn.execute(text(definition))
    conn.execute(text(f"ANALYZE {table}"))


def unpartition(conn, table: str, key: str) -> None:
    """partition() undone: a plain table with the original keys, indexes and triggers."""
    constraints, indexes, triggers = definitions(conn, table)
    rebuild(conn, table, "", [])
    for name, kind, definition in constraints:
        if kind == "p":
            definition = "PRIMARY KEY (id)"
        elif kind == "u":
            name, definition = name.removesuffix(f"_{key}"), without_key(definition, key)
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for definition in indexes:
        definition = definition.replace(" ON ONLY ", " ON ", 1)
        conn.execute(text(without_key(definition, key) if " UNIQUE " in definition
                          else definition))  # fmt: skip
    for definition in triggers:
        conn.execute(text(definition))
