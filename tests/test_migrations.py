"""Migrations: `flask db upgrade` builds the whole schema from an empty database, the models
match it exactly (`flask db check`), and the revisions downgrade and upgrade again.

The `flask db` tests run the real command on a database of their own: a temporary SQLite file,
or on PostgreSQL (TEST_DATABASE_URL) a database created next to that one and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ledger.schema import applies_to_dialect
from marketplace.extensions import db as _db

ROOT = Path(__file__).resolve().parent.parent

# What the database holds besides its rows, per catalogue query (PostgreSQL).
PG_SCHEMA_QUERIES = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default"
    " FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = current_schema() ORDER BY 1, 2",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
    " WHERE NOT tgisinternal ORDER BY 1, 2",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc"
    " WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
}
SQLITE_SQL = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"


@pytest.fixture
def fresh_url(tmp_path):
    """The URL of an empty database of the test engine's kind, of this test's own."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path}/fresh.sqlite3"
        return
    name = f"cliff_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def flask_db(url: str, *args: str) -> str:
    """Run `flask db ARGS` on the database at `url`; return its output (it must succeed)."""
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="wsgi:app")
    env.pop("CLIFFHANGER_ENV", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"flask db {' '.join(args)}: {result.stderr[-3000:]}"
    return result.stdout + result.stderr


def schema_of(url: str) -> dict[str, list[tuple]]:
    """Everything the database holds but rows: tables, constraints, indexes, triggers and
    (PostgreSQL) functions, with their definitions as the database reports them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                return {name: [tuple(row) for row in conn.execute(text(sql))]
                        for name, sql in PG_SCHEMA_QUERIES.items()}  # fmt: skip
            rows = conn.execute(text(SQLITE_SQL)).all()
            return {"objects": [(*row[:3], table_lines(row[3])) for row in rows]}
    finally:
        engine.dispose()


def table_lines(sql: str | None) -> tuple[str, ...]:
    """A CREATE TABLE's lines with its columns and constraints sorted: Alembic's batch mode
    (0005 rebuilds partner_events on SQLite) writes the constraints in set order, which changes
    from one process to the next; the order means nothing to SQLite."""
    lines = (sql or "").splitlines()
    if len(lines) < 3:
        return tuple(lines)
    first, *body, last = lines
    return (first, *sorted(line.rstrip().rstrip(",") for line in body), last)


def test_upgraded_schema_matches_the_models(app):
    """The session's database was built by `flask db upgrade` on an empty database."""
    with app.app_context(), _db.engine.connect() as conn:
        dialect = conn.dialect.name
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_object": lambda obj, *_: applies_to_dialect(obj, dialect),
            },
        )
        diff = compare_metadata(context, _db.metadata)
    assert diff == []


def test_flask_db_upgrade_from_empty_then_check_finds_nothing_to_do(fresh_url):
    flask_db(fresh_url, "upgrade")
    assert "No new upgrade operations detected." in flask_db(fresh_url, "check")


def test_every_revision_downgrades_to_an_empty_database_and_upgrades_again(fresh_url):
    empty = schema_of(fresh_url)
    flask_db(fresh_url, "upgrade")
    built = schema_of(fresh_url)
    flask_db(fresh_url, "downgrade", "base")
    left = schema_of(fresh_url)
    flask_db(fresh_url, "upgrade")
    assert schema_of(fresh_url) == built
    assert "No new upgrade operations detected." in flask_db(fresh_url, "check")
    # Nothing but Alembic's own (emptied) version table is left.
    assert {k: [r for r in rows if "alembic_version" not in r] for k, rows in left.items()} == empty


def test_0003_downgrades_to_the_0002_schema_and_upgrades_again(fresh_url):
    """0003 redefines PostgreSQL's commit-time entry check (LATERAL probes, not joins); its
    downgrade gives back the schema 0002 built, and the guards work under either definition."""
    flask_db(fresh_url, "upgrade", "0002_statements")
    at_0002 = schema_of(fresh_url)
    flask_db(fresh_url, "upgrade", "0003_entry_check_plans")
    at_0003 = schema_of(fresh_url)

    flask_db(fresh_url, "downgrade", "0002_statements")
    assert schema_of(fresh_url) == at_0002
    assert_entries_are_checked(fresh_url, first_id=1)
    flask_db(fresh_url, "upgrade", "0003_entry_check_plans")
    assert schema_of(fresh_url) == at_0003
    assert_entries_are_checked(fresh_url, first_id=10)

    if make_url(fresh_url).get_backend_name() == "postgresql":
        check_0002, check_0003 = (
            dict(schema["functions"])["ledger_check_entries"] for schema in (at_0002, at_0003)
        )
        assert "LATERAL" not in check_0002
        assert "CROSS JOIN LATERAL" in check_0003
    else:
        assert at_0003 == at_0002  # SQLite has no such function: 0003 changes nothing there


def insert(conn, table: str, **values) -> None:
    """INSERT one row (table and column names are this module's own; values are bound)."""
    names = ", ".join(values)
    places = ", ".join(f":{name}" for name in values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({places})"), values)


def at(conn, moment: str) -> str:
    """A UTC time as each engine's column takes it (SQLite stores naive UTC)."""
    return moment if conn.dialect.name == "sqlite" else moment + "+00"


def write_account(conn, account_id: int, kind: str = "asset", side: str = "debit") -> None:
    """A USD account."""
    insert(conn, "ledger_accounts", id=account_id, owner_type="test", owner_id=str(account_id),
           purpose="main", currency="USD", type=kind, normal_side=side,
           must_not_go_negative=False, created_at=at(conn, "2026-10-01 00:00:00"))  # fmt: skip


def write_entry(conn, entry_id: int, moment: str, legs: list[tuple[int, int]], kind: str) -> None:
    """An entry and its postings, (account, amount) each; the postings first (SQLite seals an
    entry as its row is written)."""
    for account_id, amount in legs:
        insert(conn, "ledger_postings", entry_id=entry_id, account_id=account_id, amount=amount,
               currency="USD", effective_at=at(conn, moment))  # fmt: skip
    insert(conn, "ledger_entries", id=entry_id, idempotency_key=f"{kind}:{entry_id}",
           content_hash="x", effective_at=at(conn, moment), recorded_at=at(conn, moment),
           description="", metadata=json.dumps({"kind": kind}))  # fmt: skip


def assert_entries_are_checked(url: str, first_id: int) -> None:
    """The ledger's guards take a balanced entry and refuse an unbalanced one (PostgreSQL at
    commit, SQLite as the entry row is written)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for account_id in (first_id, first_id + 1):
                write_account(conn, account_id)
            write_entry(conn, first_id, "2026-11-01 00:00:00",
                        [(first_id, 100), (first_id + 1, -100)], "test")  # fmt: skip
        with pytest.raises(DBAPIError, match="does not balance"), engine.begin() as conn:
            write_entry(conn, first_id + 1, "2026-11-01 00:00:00",
                        [(first_id, 100), (first_id + 1, -99)], "test")  # fmt: skip
    finally:
        engine.dispose()


def write_allocations(conn) -> None:
    """Allocations as they stood before 0002 (events without party_amounts): two buckets, the
    second without events, and three events of the first, two in October (entry 1) and one in
    November (entry 2). A bucket's parties are [account, weight over 10^12, held]."""
    write_account(conn, 1)
    for account_id in (2, 3, 4):
        write_account(conn, account_id, "liability", "credit")
    for bucket_id, parties in [
        (1, [[2, 6 * 10**11, True], [3, 3 * 10**11, True], [4, 10**11, False]]),
        (2, [[3, 5 * 10**11, True], [4, 5 * 10**11, False]]),
    ]:
        insert(conn, "ledger_allocation_buckets", id=bucket_id, key=f"bucket:{bucket_id}",
               currency="USD", debit_account_id=1, parties=json.dumps(parties),
               parties_hash="h", cumulative_gross=0, allocated="{}")  # fmt: skip
    write_entry(conn, 1, "2026-10-31 23:30:00", [(1, 199), (2, -119), (3, -60), (4, -20)],
                "allocation")  # fmt: skip
    write_entry(conn, 2, "2026-11-02 10:00:00", [(1, 99), (2, -60), (3, -29), (4, -10)],
                "allocation")  # fmt: skip
    line = {"series_id": 1, "episode": 2, "partner_id": 1, "country": "US", "kind": "unlock"}
    for event_id, entry_id, gross, before, moment, attributes in [
        (1, 1, 100, 0, "2026-10-31 23:30:00", line),
        (2, 1, 99, 100, "2026-10-31 23:40:00", line),
        (3, 2, 99, 199, "2026-11-02 10:00:00", {**line, "episode": 3, "country": None}),
    ]:
        insert(conn, "ledger_allocation_events", id=event_id, source_key=f"unlock:{event_id}",
               bucket_id=1, entry_id=entry_id, gross=gross, cumulative_before=before,
               effective_at=at(conn, moment), attributes=json.dumps(attributes))  # fmt: skip


def as_list(value) -> list:
    """A JSON column's value (SQLite hands raw SQL its text) or a bigint[] as a list."""
    return json.loads(value) if isinstance(value, str) else list(value)


def test_0002_backfills_the_statements_of_existing_allocations(fresh_url):
    flask_db(fresh_url, "upgrade", "0001_initial")
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as conn:
            write_allocations(conn)
        flask_db(fresh_url, "upgrade", "0007_free_episodes_changes")
        with engine.connect() as conn:
            bucket_parties = conn.execute(
                text("SELECT bucket_id, position, account_id FROM ledger_bucket_parties")
            ).all()
            events = conn.execute(
                text("SELECT id, party_amounts FROM ledger_allocation_events ORDER BY id")
            ).all()
            rollups = conn.execute(
                text(
                    "SELECT bucket_id, month, earning, line_key, events, gross, party_amounts"
                    " FROM ledger_statement_rollups ORDER BY month"
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(tuple(row) for row in bucket_parties) == [
        (1, -1, 1), (1, 0, 2), (1, 1, 3), (1, 2, 4), (2, -1, 1), (2, 0, 3), (2, 1, 4),
    ]  # fmt: skip
    assert [(id_, as_list(amounts)) for id_, amounts in events] == [
        (1, [60, 30, 10]),  # target(100) - target(0)
        (2, [59, 30, 10]),  # target(199) = 119, 60, 20: the two units left go to .9 and .7
        (3, [60, 29, 10]),  # target(298) = 179, 89, 30: .8 and .8 tie, the earlier party first
    ]
    assert [
        (bucket, str(month)[:10], bool(earning), key, count, gross, as_list(amounts))
        for bucket, month, earning, key, count, gross, amounts in rollups
    ] == [
        (1, "2026-10-01", True, '[1,2,1,"US","unlock"]', 2, 199, [119, 60, 20]),
        (1, "2026-11-01", True, '[1,3,1,null,"unlock"]', 1, 99, [60, 29, 10]),
    ]


def test_0008_turns_allocation_events_into_runs_and_daily_rollups(fresh_url):
    """Each entry's events become one run, in their order, with their money; the days are
    summed beside the months; the buckets' events table is gone."""
    flask_db(fresh_url, "upgrade", "0001_initial")
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as conn:
            write_allocations(conn)
        flask_db(fresh_url, "upgrade")
        with engine.connect() as conn:
            runs = conn.execute(
                text(
                    "SELECT bucket_id, entry_id, cumulative_from, allocated_from, refs, grosses,"
                    " party_amounts, reverses, rounding, min_ref, max_ref"
                    " FROM ledger_allocation_runs ORDER BY entry_id"
                )
            ).all()
            days = conn.execute(
                text(
                    "SELECT day, line_key, events, gross, party_amounts"
                    " FROM ledger_statement_days ORDER BY day"
                )
            ).all()
            tables = sa_inspect(conn).get_table_names()
    finally:
        engine.dispose()
    assert [
        (b, e, c, as_list(a), as_list(r), as_list(g), as_list(p), as_list(v), as_list(o), lo, hi)
        for b, e, c, a, r, g, p, v, o, lo, hi in runs
    ] == [
        (1, 1, 0, [0, 0, 0], [1, 2], [100, 99], [60, 30, 10, 59, 30, 10], [0, 0], [0, 0, 0],
         1, 2),
        (1, 2, 199, [119, 60, 20], [3], [99], [60, 29, 10], [0], [0, 0, 0], 3, 3),
    ]  # fmt: skip
    assert [(str(d)[:10], k, n, g, as_list(p)) for d, k, n, g, p in days] == [
        ("2026-10-31", '[1,2,1,"US","unlock"]', 2, 199, [119, 60, 20]),
        ("2026-11-02", '[1,3,1,null,"unlock"]', 1, 99, [60, 29, 10]),
    ]
    assert "ledger_allocation_events" not in tables


def test_sqlite_upgrade_rebuilds_tables_that_rows_refer_to(tmp_path):
    """0005 rebuilds partner_events on SQLite (batch mode); with a refund referring to its
    unlock, that failed with foreign keys on (env.py turns them off, then checks them)."""
    import sqlite3

    path = tmp_path / "data.sqlite3"
    url = f"sqlite:///{path}"
    flask_db(url, "upgrade", "0004_statement_other_entries")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO partner_apps"
            " (id, name, currency, share_bps, hold_days, active, created_at)"
            " VALUES (1, 'P', 'USD', 3000, 7, 1, '2026-11-01 00:00:00')"
        )
        event = (
            "INSERT INTO partner_events (id, partner_id, external_id, kind, status, amount,"
            " currency, occurred_at, content_hash, refund_of, created_at)"
            " VALUES (?, 1, ?, ?, ?, 49, 'USD', '2026-11-01 00:00:00', 'x', ?,"
            " '2026-11-01 00:00:00')"
        )
        conn.execute(event, (1, "u1", "unlock", "refunded", None))
        conn.execute(event, (2, "r1", "refund", "accepted", 1))
    flask_db(url, "upgrade")
    with sqlite3.connect(path) as conn:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'uq_partner_events_refund_of'"
        ).fetchone()
        assert "WHERE refund_of IS NOT NULL" in sql
        assert conn.execute("SELECT count(*) FROM partner_events").fetchone() == (2,)
