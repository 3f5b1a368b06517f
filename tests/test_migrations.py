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
