"""The database guards: append-only journal, kept referenced rows, balanced entries.

Plain SQL per dialect (GUARD_SQL / DROP_GUARD_SQL, inspectable), installed by
create_database_guards(connection) after the tables exist: from the Alembic migration, and from
the ledger tests after create_all. ledger.schema re-exports these names.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_postings", "ledger_allocation_runs")
KEPT_TABLES = ("ledger_accounts", "ledger_allocation_buckets")
"""Rows that postings and events refer to: updated in place perhaps, never deleted."""

_PG_REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed; the ledger is append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$
"""

# Statement-level triggers queue the entries touched by an INSERT (or COPY) of postings or
# allocation events, plus one marker row per transaction (its negated transaction id, so
# concurrent transactions never contend for the same key). A deferred constraint trigger fires
# on the marker alone, at commit, and checks every queued entry at once, set-based: it exists,
# its postings balance per currency, name existing accounts in the account's currency, and its
# events name existing buckets. One check per transaction, not per entry: a payout batch writes
# 100,000 entries in one transaction. The check empties the queue, so an entry touched again in
# a later transaction is checked again.
_PG_QUEUE_CHECK = """
CREATE OR REPLACE FUNCTION ledger_queue_entry_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_entry_checks (entry_id)
    SELECT DISTINCT entry_id FROM new_rows ON CONFLICT DO NOTHING;
    INSERT INTO ledger_entry_checks (entry_id) VALUES (-txid_current()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$
"""

# Every query below starts from the queue and reaches the big tables only through a LATERAL
# subquery on an indexed column (an aggregate or LIMIT keeps PostgreSQL from flattening it into
# a join), so its cost is the queued entries' own rows whatever the planner's statistics say.
# Written as joins, PostgreSQL chose merge or hash joins that read every posting and every
# allocation event at each commit, and ingestion slowed down with the ledger's size.
_PG_CHECK_ENTRIES = """
CREATE OR REPLACE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (SELECT count(*) AS n FROM ledger_entries e WHERE e.id = q.entry_id) x
     WHERE q.entry_id > 0 AND x.n = 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: postings or events name entry %, which does not exist',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT q.entry_id, s.currency, s.total, s.strays INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (
        SELECT p.currency, sum(p.amount) AS total, count(*) FILTER (WHERE a.n = 0) AS strays
          FROM ledger_postings p
         CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM ledger_accounts a
             WHERE a.id = p.account_id AND a.currency = p.currency) a
         WHERE p.entry_id = q.entry_id GROUP BY p.currency) s
     WHERE q.entry_id > 0 AND (s.total <> 0 OR s.strays > 0)
     LIMIT 1;
    IF FOUND AND bad.total <> 0 THEN
        RAISE EXCEPTION 'ledger: entry % does not balance in % (off by % minor units)',
            bad.entry_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % posts to a missing account or in another currency',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE b.n = 0) AS n
          FROM (SELECT DISTINCT e.bucket_id FROM ledger_allocation_runs e
                 WHERE e.entry_id = q.entry_id) e
         CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM ledger_allocation_buckets b WHERE b.id = e.bucket_id) b) x
     WHERE q.entry_id > 0 AND x.n > 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % has an allocation run of a missing bucket',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Rows of other transactions are invisible here until they commit, and every transaction
    -- empties its own queue before it does.
    DELETE FROM ledger_entry_checks WHERE entry_id > 0 OR entry_id = NEW.entry_id;
    RETURN NULL;
END $$
"""


def install_check_function(connection: Connection) -> None:
    """(Re)define the commit-time entry check on PostgreSQL (a no-op elsewhere)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_CHECK_ENTRIES))


GUARD_SQL: dict[str, list[str]] = {
    "postgresql": [
        _PG_REFUSE_CHANGE,
        _PG_QUEUE_CHECK,
        _PG_CHECK_ENTRIES,
        *(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            for table in APPEND_ONLY_TABLES
        ),
        *(
            f"CREATE TRIGGER {table}_kept BEFORE DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            for table in KEPT_TABLES
        ),
        *(
            f"CREATE TRIGGER {table}_queue_check AFTER INSERT ON {table}"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION ledger_queue_entry_check()"
            for table in ("ledger_postings", "ledger_allocation_runs")
        ),
        "CREATE CONSTRAINT TRIGGER ledger_entry_checks_run AFTER INSERT ON ledger_entry_checks"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.entry_id < 0)"
        " EXECUTE FUNCTION ledger_check_entries()",
    ],
    "sqlite": [
        *(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN"
            f" SELECT RAISE(ABORT, 'ledger: {op} on {table} is not allowed;"
            " the ledger is append-only'); END"
            for table in APPEND_ONLY_TABLES
            for op in ("UPDATE", "DELETE")
        ),
        *(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN"
            f" SELECT RAISE(ABORT, 'ledger: DELETE on {table} is not allowed'); END"
            for table in KEPT_TABLES
        ),
        # SQLite has no deferred triggers, so an entry is sealed: its postings are inserted
        # first, the entry row last; inserting the entry checks the sum per currency, and a
        # posting for an entry that already exists is refused.
        "CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries"
        " WHEN EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id"
        " GROUP BY currency HAVING sum(amount) <> 0)"
        " BEGIN SELECT RAISE(ABORT, 'ledger: entry does not balance in every currency'); END",
        "CREATE TRIGGER ledger_postings_sealed BEFORE INSERT ON ledger_postings"
        " WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)"
        " BEGIN SELECT RAISE(ABORT, 'ledger: entry is sealed; postings come before"
        " their entry'); END",
    ],
}

DROP_GUARD_SQL: dict[str, list[str]] = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS ledger_entry_checks_run ON ledger_entry_checks",
        *(
            f"DROP TRIGGER IF EXISTS {table}_queue_check ON {table}"
            for table in ("ledger_postings", "ledger_allocation_runs")
        ),
        *(f"DROP TRIGGER IF EXISTS {table}_kept ON {table}" for table in KEPT_TABLES),
        *(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in APPEND_ONLY_TABLES),
        "DROP FUNCTION IF EXISTS ledger_check_entries()",
        "DROP FUNCTION IF EXISTS ledger_check_entry()",
        "DROP FUNCTION IF EXISTS ledger_queue_entry_check()",
        "DROP FUNCTION IF EXISTS ledger_refuse_change()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS ledger_entries_balanced",
        "DROP TRIGGER IF EXISTS ledger_postings_sealed",
        *(
            f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}"
            for table in APPEND_ONLY_TABLES
            for op in ("UPDATE", "DELETE")
        ),
        *(f"DROP TRIGGER IF EXISTS {table}_no_delete" for table in KEPT_TABLES),
    ],
}


def _statements(sql: dict[str, list[str]], connection: Connection) -> list[str]:
    name = connection.dialect.name
    if name not in sql:
        raise NotImplementedError(f"no ledger guards for the {name} dialect")
    return sql[name]


def create_database_guards(connection: Connection) -> None:
    """Install the append-only and balanced-entry triggers for the connection's dialect."""
    for statement in _statements(GUARD_SQL, connection):
        connection.execute(text(statement))


def drop_database_guards(connection: Connection) -> None:
    """Remove what create_database_guards installed (for a downgrade migration)."""
    for statement in _statements(DROP_GUARD_SQL, connection):
        connection.execute(text(statement))
