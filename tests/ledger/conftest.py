"""Ledger test fixtures: plain SQLAlchemy, no Flask.

SQLite (a temp file) by default; PostgreSQL when TEST_DATABASE_URL is set. On PostgreSQL every
engine here lives in a schema of its own (ledger_test_<pid>_<n>), reached through search_path,
so the web app's tests keep the public schema to themselves; the schema is dropped afterwards.
Tests roll back per test; tests that must commit use `committing_engine` (a fresh schema).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session

from ledger.schema import create_database_guards, metadata

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")

# The same Hypothesis profiles as tests/conftest.py, so that `--confcutdir tests/ledger` (no app
# imported) runs with them too: no per-example deadline, 1,000 examples under ci.
settings.register_profile("ci", max_examples=1000, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
_schemas = itertools.count()



def needs_postgres(test):
    """Mark a test as PostgreSQL's (the `postgres` marker) and skip it without one."""
    skip = pytest.mark.skipif(
        not POSTGRES_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL (row locks, real commits)"
    )
    return pytest.mark.postgres(skip(test))


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    # The deferred posting -> entry foreign key is half of SQLite's sealed-entry guard; and
    # pysqlite's own BEGIN handling breaks SAVEPOINTs, so we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _on_sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


@contextmanager
def ledger_engine(tmp_dir: Path) -> Iterator[Engine]:
    """Yield an engine on a fresh ledger schema (tables + guards), dropped afterwards."""
    if POSTGRES_URL:
        schema = f"ledger_test_{os.getpid()}_{next(_schemas)}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    else:
        schema = None
        path = tmp_dir / f"ledger-{next(_schemas)}.sqlite3"
        engine = create_engine(f"sqlite:///{path}")
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    with engine.begin() as connection:
        metadata.create_all(connection)
        create_database_guards(connection)
    try:
        yield engine
    finally:
        engine.dispose()
        if schema:
            with admin.connect() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Iterator[Engine]:
    """The session-wide ledger engine; tests on it roll back."""
    with ledger_engine(tmp_path_factory.mktemp("ledger")) as engine:
        yield engine


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Session]:
    """Yield a session inside a transaction that is rolled back at the end."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with rolled_back(engine) as session:
        yield session


@pytest.fixture
def committing_engine(tmp_path) -> Iterator[Engine]:
    """A fresh ledger schema of the test's own, for tests that must really commit."""
    with ledger_engine(tmp_path) as engine:
        yield engine
