"""Migrations: `flask db upgrade` builds the whole schema, and the models match it exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.schema import applies_to_dialect
from marketplace.extensions import db as _db

ROOT = Path(__file__).resolve().parent.parent


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


def test_flask_db_upgrade_then_check_on_a_fresh_sqlite_database(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/fresh.sqlite3", FLASK_APP="wsgi:app")
    env.pop("CLIFFHANGER_ENV", None)
    flask = [sys.executable, "-m", "flask"]
    for args in (
        ["db", "upgrade"],
        ["db", "check"],
        ["db", "downgrade", "base"],
        ["db", "upgrade"],
    ):
        result = subprocess.run(
            flask + args,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"flask {' '.join(args)}: {result.stderr[-2000:]}"


def test_sqlite_upgrade_rebuilds_tables_that_rows_refer_to(tmp_path):
    """0005 rebuilds partner_events on SQLite (batch mode); with a refund referring to its
    unlock, that failed with foreign keys on (env.py turns them off, then checks them)."""
    import sqlite3

    path = tmp_path / "data.sqlite3"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{path}", FLASK_APP="wsgi:app")
    env.pop("CLIFFHANGER_ENV", None)

    def flask(*args):
        result = subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"flask {' '.join(args)}: {result.stderr[-2000:]}"

    flask("db", "upgrade", "0004_statement_other_entries")
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
    flask("db", "upgrade")
    with sqlite3.connect(path) as conn:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'uq_partner_events_refund_of'"
        ).fetchone()
        assert "WHERE refund_of IS NOT NULL" in sql
        assert conn.execute("SELECT count(*) FROM partner_events").fetchone() == (2,)
