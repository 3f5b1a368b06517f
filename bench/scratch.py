"""A database of the bench's own on the local PostgreSQL: created fresh, dropped at the end.

    with own_database("ledger_post") as url:   # postgresql+psycopg://root@127.0.0.1:5432/...
        ...

Its name is cliff_bench_<what>_<pid>; it is created with CREATE DATABASE (which refuses a name
already taken, so no one else's database is ever reused or dropped) and dropped WITH (FORCE)
when the block ends, unless keep is set: normally, on an error, on Ctrl-C, or on SIGTERM (which
the block turns into SystemExit, so that bench/report.py can stop a bench that overruns).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

SERVER = "root@127.0.0.1:5432"
ADMIN_URL = f"postgresql://{SERVER}/postgres"


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the local server."""
    return f"postgresql+psycopg://{SERVER}/{name}"


def psycopg_url(url: str) -> str:
    """A SQLAlchemy postgresql+psycopg URL as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def database_name(what: str, pid: int) -> str:
    """The name of the database own_database(what) creates in process pid."""
    return f"cliff_bench_{what}_{pid}"


def _exit(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def own_database(what: str, keep: bool = False) -> Iterator[str]:
    """Create cliff_bench_<what>_<pid>, yield its SQLAlchemy URL, drop it afterwards."""
    name = database_name(what, os.getpid())
    previous = signal.signal(signal.SIGTERM, _exit)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if keep:
            print(f"kept database {name}", flush=True)
        else:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
