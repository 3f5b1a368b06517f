"""The ledger's tables, the shared MetaData, and the database guards (triggers) for both engines.

The web app's models use the same `metadata`, so there is one Alembic history. The guards
(triggers) are plain SQL in ledger.guards, re-exported here: GUARD_SQL / DROP_GUARD_SQL and
`create_database_guards(connection)` / `drop_database_guards(connection)`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only aliases rowid for "INTEGER PRIMARY KEY", so ids are BIGINT elsewhere only.
Id = BigInteger().with_variant(Integer, "sqlite")
# Per-party amounts of one event: bigint[] on PostgreSQL (indexable in SQL), JSON elsewhere.
Amounts = JSON().with_variant(postgresql.ARRAY(BigInteger), "postgresql")
# Strings of a run's events (their statement line keys): text[] on PostgreSQL, JSON elsewhere.
Texts = JSON().with_variant(postgresql.ARRAY(Text), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every engine (SQLite stores naive UTC; reads come back aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive times; store UTC (naive on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ledger times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return an aware UTC time."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


NOT_ALLOCATION_SQL = {
    "postgresql": "(metadata ->> 'kind') IS DISTINCT FROM 'allocation'",
    "sqlite": "json_extract(metadata, '$.kind') IS NOT 'allocation'",
}
"""Per engine, the predicate of ix_ledger_entries_not_allocation (an entry of ledger_entries
that is not an allocation); queries that should use the index repeat it exactly."""


class LedgerBase(DeclarativeBase):
    """Declarative base of the ledger's models, bound to the shared `metadata`."""

    metadata = metadata
    if TYPE_CHECKING:
        # Declared FromClause by SQLAlchemy; every ledger model is mapped to a plain Table.
        __table__: ClassVar[Table]


class Account(LedgerBase):
    """An account: one owner, one currency, one purpose.

    Fields:
        id: surrogate key; also the lock order (ascending) for concurrent writers.
        owner_type / owner_id: who the account belongs to ("participant", "42"); owner_id is a
            string so any key fits.
        purpose: what the account holds for that owner ("payable", "receivable", "fees").
        currency: ISO 4217 code; every posting to the account is in this currency.
        type: asset, liability, income, expense or equity.
        normal_side: "debit" (asset, expense) or "credit" (liability, income, equity).
        must_not_go_negative: refuse any write that would leave posted or available below zero.
        created_at: when the row was written.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("owner_type", "owner_id", "purpose", "currency"),
        UniqueConstraint("id", "currency"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(
            "type IN ('asset', 'liability', 'income', 'expense', 'equity')", name="type"
        ),
        CheckConstraint(
            "(type IN ('asset', 'expense') AND normal_side = 'debit')"
            " OR (type IN ('liability', 'income', 'equity') AND normal_side = 'credit')",
            name="normal_side",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(50))
    owner_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    type: Mapped[str] = mapped_column(String(16))
    normal_side: Mapped[str] = mapped_column(String(6))
    must_not_go_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Entry(LedgerBase):
    """A balanced journal entry; never updated or deleted.

    Fields:
        id: surrogate key.
        idempotency_key: the caller's key; a repeat with the same content returns this entry.
        content_hash: sha256 of the entry's content, to tell a repeat from a conflict.
        effective_at: when the economic event happened (point-in-time balances use it).
        recorded_at: when the entry was written.
        description: human-readable narration.
        meta: free JSON (column "metadata"); {"kind": "payout", ...} marks payouts.
        reverses_entry_id: the entry this one reverses; unique, so a reversal happens once.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("reverses_entry_id IS NULL OR reverses_entry_id <> id", name="not_self"),
        # PostgreSQL partitions the table by month of effective_at (migration 0021), and a
        # unique key there must hold the partition key: a repeat of an entry carries the same
        # effective_at, so it meets the first in the same partition. The reference to the
        # reversed entry is checked by a row trigger there (a foreign key cannot name a
        # partitioned table's id alone).
        UniqueConstraint("idempotency_key").ddl_if(dialect="sqlite"),
        UniqueConstraint("idempotency_key", "effective_at").ddl_if(dialect="postgresql"),
        UniqueConstraint("reverses_entry_id").ddl_if(dialect="sqlite"),
        UniqueConstraint("reverses_entry_id", "effective_at").ddl_if(dialect="postgresql"),
        ForeignKeyConstraint(["reverses_entry_id"], ["ledger_entries.id"]).ddl_if(
            dialect="sqlite"
        ),
        # The entries that are not allocations (payouts, adjustments, reversals...): a small
        # index statements probe with each of an account's postings in a period, to list its
        # other movements without reading the many allocation entries (ledger/statements.py).
        Index(
            "ix_ledger_entries_not_allocation",
            "id",
            postgresql_where=text(NOT_ALLOCATION_SQL["postgresql"]),
            sqlite_where=text(NOT_ALLOCATION_SQL["sqlite"]),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    description: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    reverses_entry_id: Mapped[int | None] = mapped_column(Id)


class Posting(LedgerBase):
    """One leg of an entry; never updated or deleted.

    Fields:
        id: surrogate key.
        entry_id: the entry (checked at commit; on SQLite postings precede their entry).
        account_id: the account moved.
        amount: signed minor units, + debit / - credit; never zero.
        currency: the account's currency (checked against the account at commit).
        effective_at: the entry's effective time, copied for the (account_id, effective_at) index.
        available_at: when the money becomes available; NULL means at once.
    """

    __tablename__ = "ledger_postings"
    __table_args__ = (
        # On PostgreSQL these two references are checked at commit, once per transaction, by
        # ledger_check_entries() (see GUARD_SQL): row-by-row foreign keys cost more than the
        # whole ingestion budget. SQLite declares them (and needs the deferred one to seal).
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
        ).ddl_if(dialect="sqlite"),
        ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], deferrable=True, initially="DEFERRED"
        ).ddl_if(dialect="sqlite"),
        CheckConstraint("amount <> 0", name="nonzero"),
        Index("ix_ledger_postings_account_effective", "account_id", "effective_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entry_id: Mapped[int] = mapped_column(Id, index=True)
    account_id: Mapped[int] = mapped_column(Id)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BalanceRow(LedgerBase):
    """The maintained posted balance of one account, updated with every posting.

    Fields:
        account_id: the account (one row each, created with the account).
        posted: signed balance on the account's normal side (a credit raises a liability).
        updated_at: time of the last change.
    """

    __tablename__ = "ledger_balances"

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_accounts.id"), primary_key=True)
    posted: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingRow(LedgerBase):
    """Money of one account that becomes available at one time (normal-side sign).

    Fields:
        id: surrogate key.
        account_id: the account.
        available_at: when this amount stops being pending.
        amount: sum of the account's postings with this available_at, on the normal side.
    """

    __tablename__ = "ledger_pending"
    __table_args__ = (UniqueConstraint("account_id", "available_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_accounts.id"))
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[int] = mapped_column(BigInteger)


class AllocationBucket(LedgerBase):
    """A running cumulative split: one split version of one series for one partner.

    Fields:
        id: surrogate key.
        key: the caller's unique key ("series:12|partner:3|USD|split:7").
        currency: ISO 4217 code of every event in the bucket.
        debit_account_id: the account debited by each event's gross (partner receivable).
        parties: JSON list of [account_id, weight, held]; fixed for the bucket's life.
        parties_hash: sha256 of parties, currency and debit account (a new split = a new bucket).
        cumulative_gross: sum of every applied event's gross.
        allocated: JSON {account_id: minor units} credited so far: target(cumulative) after
            an unlock; after refunds, what the remaining events paid (within a few units).
        waterfall: NULL for a split by the parties' weights; else the revenue waterfall
            (ledger.allocation.waterfall.Waterfall.to_json()) whose target the bucket follows.
    """

    __tablename__ = "ledger_allocation_buckets"
    __table_args__ = (CheckConstraint("length(currency) = 3", name="currency_code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    debit_account_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_accounts.id"))
    parties: Mapped[list[Any]] = mapped_column(JSON)
    parties_hash: Mapped[str] = mapped_column(String(64))
    cumulative_gross: Mapped[int] = mapped_column(BigInteger, default=0)
    allocated: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    waterfall: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AllocationRun(LedgerBase):
    """The events one allocation entry carries, in the order they moved their bucket; never
    updated or deleted. The ledger keeps no row per event: a run holds its events' facts and
    exact money as arrays (bigint[]/text[] on PostgreSQL, JSON elsewhere), index i of each
    array being the run's i-th event.

    Fields:
        id: surrogate key.
        bucket_id: the bucket the events moved.
        entry_id: the entry carrying their money (one run per allocation entry).
        hour: the first instant (UTC) of the events' effective hour.
        available_at: when held parties' money becomes available (NULL: at once).
        cumulative_from: the bucket's cumulative gross before the run's first event.
        allocated_from: per canonical party, what the bucket had allocated before it.
        refs: the events' refs (the caller's ids, unique within the bucket).
        grosses: their signed gross.
        offsets: their effective time, in microseconds after `hour`.
        line_keys: their statement line keys (compact JSON of LINE_FIELDS' values).
        party_amounts: their money per party, flattened: event i's amount for party j is at
            i * len(parties) + j (credit-positive); per party they sum to the entry's legs.
        reverses: per event, the ref of the event it refunds, or 0.
        rounding: per party, what the run posts beside its events to bring the bucket back to
            target(C) after refunds (zeros unless a refund came before; see the engine).
        min_ref, max_ref: the smallest and largest ref (a refund finds its unlock's run).
    """

    __tablename__ = "ledger_allocation_runs"
    __table_args__ = (
        Index("ix_ledger_allocation_runs_bucket_hour", "bucket_id", "hour"),
        Index("ix_ledger_allocation_runs_bucket_max_ref", "bucket_id", "max_ref"),
        ForeignKeyConstraint(["bucket_id"], ["ledger_allocation_buckets.id"]).ddl_if(
            dialect="sqlite"
        ),
        ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"]).ddl_if(dialect="sqlite"),
        # PostgreSQL partitions the table by month of hour (migration 0021): the unique key
        # holds it there.
        UniqueConstraint("entry_id").ddl_if(dialect="sqlite"),
        UniqueConstraint("entry_id", "hour").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    bucket_id: Mapped[int] = mapped_column(Id)
    entry_id: Mapped[int] = mapped_column(Id)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cumulative_from: Mapped[int] = mapped_column(BigInteger)
    allocated_from: Mapped[list[int]] = mapped_column(Amounts)
    refs: Mapped[list[int]] = mapped_column(Amounts)
    grosses: Mapped[list[int]] = mapped_column(Amounts)
    offsets: Mapped[list[int]] = mapped_column(Amounts)
    line_keys: Mapped[list[str]] = mapped_column(Texts)
    party_amounts: Mapped[list[int]] = mapped_column(Amounts)
    reverses: Mapped[list[int]] = mapped_column(Amounts)
    rounding: Mapped[list[int]] = mapped_column(Amounts)
    min_ref: Mapped[int] = mapped_column(BigInteger)
    max_ref: Mapped[int] = mapped_column(BigInteger)


class BucketParty(LedgerBase):
    """Which accounts a bucket moves, and where: the statements' way from an account to its
    buckets' events without reading every bucket. Written once, when the bucket is created.

    Fields:
        account_id: an account the bucket's events post to.
        bucket_id: the bucket.
        position: the account's index in the bucket's canonical parties (and so in each
            event's party_amounts), or -1 for the bucket's debit account (moved by the gross).
    """

    __tablename__ = "ledger_bucket_parties"
    __table_args__ = (
        PrimaryKeyConstraint("account_id", "bucket_id", "position"),
        CheckConstraint("position >= -1", name="position_range"),
    )

    account_id: Mapped[int] = mapped_column(Id, autoincrement=False)
    bucket_id: Mapped[int] = mapped_column(
        Id, ForeignKey("ledger_allocation_buckets.id"), autoincrement=False
    )
    position: Mapped[int] = mapped_column(Integer, autoincrement=False)


class StatementRollup(LedgerBase):
    """The allocation events of one bucket, UTC month and statement line, summed: what
    statements read for whole months (daily rows for other whole days, runs only for partial
    days and drill-downs). Maintained by allocate_batch in the same transaction as the runs,
    under the bucket's row lock (so writers of one bucket never race on its rows).

    Fields:
        bucket_id: the bucket.
        month: the first instant (UTC) of the events' effective month.
        earning: true for events with gross > 0, false for refunds (gross < 0).
        line_key: JSON list of the events' values of ledger.allocation.engine.LINE_FIELDS
            (series_id, episode, partner_id, country, kind), compact, e.g. [12,3,2,"US","unlock"].
        events: how many events.
        gross: the sum of their gross.
        party_amounts: per position of the bucket's canonical parties, the sum of the events'
            party_amounts.
    """

    __tablename__ = "ledger_statement_rollups"
    __table_args__ = (
        PrimaryKeyConstraint("bucket_id", "month", "earning", "line_key"),
        CheckConstraint("events > 0", name="events_positive"),
    )

    bucket_id: Mapped[int] = mapped_column(Id, autoincrement=False)
    month: Mapped[datetime] = mapped_column(UTCDateTime)
    earning: Mapped[bool] = mapped_column(Boolean)
    line_key: Mapped[str] = mapped_column(String(400))
    events: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    party_amounts: Mapped[list[int]] = mapped_column(Amounts)


class StatementDay(LedgerBase):
    """StatementRollup per UTC day instead of month: what statements read for the whole days
    of a period outside its whole months. Same fields, with `day` (the day's first instant)
    in place of `month`; maintained with it."""

    __tablename__ = "ledger_statement_days"
    __table_args__ = (
        PrimaryKeyConstraint("bucket_id", "day", "earning", "line_key"),
        CheckConstraint("events > 0", name="events_positive"),
    )

    bucket_id: Mapped[int] = mapped_column(Id, autoincrement=False)
    day: Mapped[datetime] = mapped_column(UTCDateTime)
    earning: Mapped[bool] = mapped_column(Boolean)
    line_key: Mapped[str] = mapped_column(String(400))
    events: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    party_amounts: Mapped[list[int]] = mapped_column(Amounts)


class EntryCheck(LedgerBase):
    """PostgreSQL's queue of entries to verify at commit (empty between transactions).

    Fields:
        entry_id: an entry that received postings or allocation events in this transaction;
            a negative value is the transaction's marker (-txid), on which the one set-based
            check of every queued entry fires at commit.
    """

    __tablename__ = "ledger_entry_checks"

    entry_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)


# The guards live next door; the contract (and the Alembic migration) imports them from here.
from ledger.guards import (  # noqa: E402
    APPEND_ONLY_TABLES,
    DROP_GUARD_SQL,
    GUARD_SQL,
    KEPT_TABLES,
    create_database_guards,
    drop_database_guards,
)

__all__ = [
    "APPEND_ONLY_TABLES",
    "DROP_GUARD_SQL",
    "GUARD_SQL",
    "KEPT_TABLES",
    "NAMING_CONVENTION",
    "Account",
    "AllocationBucket",
    "AllocationRun",
    "BalanceRow",
    "BucketParty",
    "Entry",
    "EntryCheck",
    "LedgerBase",
    "PendingRow",
    "Posting",
    "StatementDay",
    "StatementRollup",
    "UTCDateTime",
    "create_database_guards",
    "drop_database_guards",
    "metadata",
    "utcnow",
]


PARTITION_NAME = re.compile(r"\w+_(\d{4}_\d{2}|default)")
"""The name of a monthly partition (`<table>_YYYY_MM`) or a default one (`<table>_default`) of
a table partitioned on PostgreSQL (marketplace/books/partitions.py); no model has such a name."""


def applies_to_dialect(schema_object: Any, dialect_name: str) -> bool:
    """Whether a table item (e.g. a foreign key marked `.ddl_if(dialect="sqlite")`) exists on
    this dialect; schema comparisons (Alembic autogenerate) skip the ones that do not, and the
    partitions of partitioned tables (not models of their own)."""
    table = schema_object if isinstance(schema_object, Table) else getattr(
        schema_object, "table", None
    )
    if isinstance(table, Table) and PARTITION_NAME.fullmatch(table.name):
        return False  # a monthly partition (PostgreSQL), managed outside the models
    condition = getattr(schema_object, "_ddl_if", None)
    if condition is None or condition.dialect is None:
        return True
    dialects = (
        condition.dialect
        if isinstance(condition.dialect, (list, tuple, set))
        else [condition.dialect]
    )
    return dialect_name in dialects
