"""Where the emulated Stripe keeps its objects: in memory for tests, in SQLite for the demo.

Both stores hold JSON text keyed by (kind, id) and keep insertion order (an update keeps an
object's place), so the emulator's logic runs unchanged on either. A transaction is all or
nothing, and a savepoint inside it lets a failed API call undo its own writes while keeping
the bookkeeping (idempotency record, consumed fault) of the same request.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Any, Protocol

JSONObject = dict[str, Any]


class Transaction(Protocol):
    """Reads and writes of one atomic unit of work on a store."""

    def get(self, kind: str, object_id: str) -> JSONObject | None:
        """Return a fresh copy of the object, or None."""

    def put(self, kind: str, object_id: str, value: JSONObject) -> None:
        """Insert or replace the object (a replaced object keeps its place in `list`)."""

    def delete(self, kind: str, object_id: str) -> None:
        """Remove the object if present."""

    def list(self, kind: str) -> list[JSONObject]:
        """Every object of a kind, oldest first."""

    def savepoint(self) -> AbstractContextManager[None]:
        """Undo the writes made inside the block if it raises."""


class StateStore(Protocol):
    """Something that opens transactions; the emulator needs nothing else."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Open a transaction, committed when the block exits normally."""


_DELETED = None


class _MemoryTransaction:
    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self._data = data
        self._writes: dict[tuple[str, str], str | None] = {}

    def get(self, kind: str, object_id: str) -> JSONObject | None:
        key = (kind, object_id)
        text = self._writes[key] if key in self._writes else self._data.get(kind, {}).get(object_id)
        return None if text is None else json.loads(text)

    def put(self, kind: str, object_id: str, value: JSONObject) -> None:
        self._writes[(kind, object_id)] = json.dumps(value)

    def delete(self, kind: str, object_id: str) -> None:
        self._writes[(kind, object_id)] = _DELETED

    def list(self, kind: str) -> list[JSONObject]:
        base = self._data.get(kind, {})
        texts = [self._writes.get((kind, oid), text) for oid, text in base.items()]
        texts += [t for (k, oid), t in self._writes.items() if k == kind and oid not in base]
        return [json.loads(t) for t in texts if t is not None]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        saved = dict(self._writes)
        try:
            yield
        except BaseException:
            self._writes = saved
            raise

    def commit(self) -> None:
        for (kind, object_id), text in self._writes.items():
            objects = self._data.setdefault(kind, {})
            if text is None:
                objects.pop(object_id, None)
            else:
                objects[object_id] = text


class MemoryStore:
    """State held in this process only; what tests use."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, str]] = {}
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Serialise with other threads; commit only if the block succeeds."""
        with self._lock:
            tx = _MemoryTransaction(self._data)
            yield tx
            tx.commit()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS stripe_objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (kind, id)
)
"""


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._savepoints = 0

    def get(self, kind: str, object_id: str) -> JSONObject | None:
        row = self._conn.execute(
            "SELECT data FROM stripe_objects WHERE kind = ? AND id = ?", (kind, object_id)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind: str, object_id: str, value: JSONObject) -> None:
        self._conn.execute(
            "INSERT INTO stripe_objects (kind, id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
            (kind, object_id, json.dumps(value)),
        )

    def delete(self, kind: str, object_id: str) -> None:
        self._conn.execute(
            "DELETE FROM stripe_objects WHERE kind = ? AND id = ?", (kind, object_id)
        )

    def list(self, kind: str) -> list[JSONObject]:
        rows = self._conn.execute(
            "SELECT data FROM stripe_objects WHERE kind = ? ORDER BY seq", (kind,)
        )
        return [json.loads(data) for (data,) in rows]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        self._conn.execute(f"RELEASE {name}")


class SqliteStore:
    """State in a SQLite file, shared by processes (the demo's web server and scheduler).

    Every transaction takes SQLite's write lock up front (BEGIN IMMEDIATE), so two processes
    handling requests at once are serialised instead of interleaving their reads and writes.
    """

    def __init__(self, path: str | Path, *, busy_timeout_seconds: float = 30.0) -> None:
        self._path = str(path)
        self._timeout = busy_timeout_seconds
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One connection per transaction, so threads and forked processes never share one."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
