"""The partner event log: every unlock, refund and revenue pool a partner app reported to us."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

Id = BigInteger().with_variant(Integer, "sqlite")

EVENT_KINDS = ("unlock", "refund", "pool", "coins", "bundle", "purchase")


def N_(text: str) -> str:
    """Marks a name for translation (extracted); pages translate it when they show it."""
    return text


REVENUE_TYPES = {
    "unlock": N_("Paid unlocks"),
    "coins": N_("Coin unlocks"),
    "bundle": N_("Bundles"),
    "purchase": N_("In-story commerce"),
    "pool": N_("Subscription and ads pools"),
    "refund": N_("Refunds"),
}
"""The revenue types (a ledger event's kind) and their English names for people (pages show
them translated: gettext at display; CSV and API keep the kind)."""


class PartnerEvent(Model):
    """One accepted event of a partner app (the API's idempotency record).

    Fields:
        partner_id: the partner app that reported it.
        external_id: the partner's own id for it (<= 64 chars, unique per partner app, shared
            by unlocks, refunds and pools).
        kind: "unlock", "refund", "pool", "coins" (a coin unlock: coins in details, its money
            decided by the poster from the coin position), "bundle" (a series or episode
            range bought at once) or "purchase" (in-story commerce: amount is the platform's
            commission, details the price and featured members).
        status: "accepted"; an unlock later refunded becomes "refunded".
        series_id, episode: what was unlocked (NULL for pools; refunds copy their unlock's).
        amount: gross in minor units of `currency` (>= 0; a refund's equals its unlock's).
        currency: the partner's contract currency.
        occurred_at: when it happened, as reported (for a pool: its period_end).
        country, viewer: as reported (optional).
        content_hash: SHA-256 of the reported content: a repeat with the same id and hash is a
            duplicate, with another hash a conflict.
        refund_of: for a refund, the refunded unlock's row (unique: refunded at most once).
        entry_id: for events posted before the ledger poster existed, the entry carrying the
            money; NULL since (the ledger's runs name each event by this row's id, its `ref`).
        details: JSON extras (a refund's reason, a pool's kind, period and per-series shares
            with the split version of each).
        split_version_id: the split version in force at occurred_at (a refund: its unlock's);
            with series, partner and currency it names the ledger bucket. NULL for pools.
        available_at: when participants' money from it becomes available (occurred_at plus
            the partner app's hold; a refund: its unlock's). NULL for pools.
        txid: PostgreSQL only: the id of the transaction that accepted it, so that the poster
            reads events in an order no later commit can slip into (see ingest/poster.py).
        created_at: when we accepted it.
    """

    __tablename__ = "partner_events"
    __table_args__ = (
        # On PostgreSQL the table is partitioned by month of occurred_at (migration 0021,
        # marketplace/books/partitions.py), and every unique key must hold the partition key:
        # a repeat reports the same occurred_at, so it meets the first in the same partition.
        UniqueConstraint("partner_id", "external_id").ddl_if(dialect="sqlite"),
        UniqueConstraint("partner_id", "external_id", "occurred_at").ddl_if(dialect="postgresql"),
        # Partial: only refunds carry refund_of, and a full index would take an entry (NULL)
        # for every unlock on the ingestion hot path.
        Index(
            "uq_partner_events_refund_of",
            "refund_of",
            unique=True,
            sqlite_where=text("refund_of IS NOT NULL"),
        ).ddl_if(dialect="sqlite"),
        Index(
            "uq_partner_events_refund_of_occurred_at",
            "refund_of",
            "occurred_at",
            unique=True,
            postgresql_where=text("refund_of IS NOT NULL"),
        ).ddl_if(dialect="postgresql"),
        # PostgreSQL: a row trigger checks refund_of (a foreign key cannot name a partitioned
        # table's id alone).
        ForeignKeyConstraint(["refund_of"], ["partner_events.id"]).ddl_if(dialect="sqlite"),
        # The poster reads accepted events in (txid, id) order (PostgreSQL; SQLite uses id).
        Index("ix_partner_events_txid_id", "txid", "id").ddl_if(dialect="postgresql"),
        # A settlement period's events (statements, reconciliation) by app and moment.
        Index("ix_partner_events_partner_id_occurred_at", "partner_id", "occurred_at"),
        # Analytics reads a period's bundles and pools (their per-episode attribution);
        # partial, so the unlocks' hot path never writes it.
        Index(
            "ix_partner_events_attributed",
            "occurred_at",
            postgresql_where=text("kind IN ('bundle', 'pool')"),
            sqlite_where=text("kind IN ('bundle', 'pool')"),
        ),
        # Statements read the coins behind a series' coin-unlock earnings; partial, so no
        # other kind writes it.
        Index(
            "ix_partner_events_coins",
            "series_id",
            "occurred_at",
            postgresql_where=text("kind = 'coins'"),
            sqlite_where=text("kind = 'coins'"),
        ),
        CheckConstraint(
            "kind IN ('unlock', 'refund', 'pool', 'coins', 'bundle', 'purchase')",
            name="kind_known",
        ),
        CheckConstraint("status IN ('accepted', 'refunded')", name="status_known"),
        CheckConstraint("amount >= 0", name="amount_nonnegative"),
        CheckConstraint("(kind = 'refund') = (refund_of IS NOT NULL)", name="refund_has_unlock"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="accepted")
    series_id: Mapped[int | None] = mapped_column(Integer)
    episode: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    country: Mapped[str | None] = mapped_column(String(2))
    viewer: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    refund_of: Mapped[int | None] = mapped_column(Id)
    entry_id: Mapped[int | None] = mapped_column(Id)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    split_version_id: Mapped[int | None] = mapped_column(Integer)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    txid: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PosterCursor(Model):
    """How far the ledger poster has posted the event log, per shard (partner_id % SHARDS):
    every event at or before (txid, event_id) in the poster's order is in the ledger.

    Fields: shard, txid (PostgreSQL's order; 0 on SQLite), event_id, through (when the last
    posted event was accepted: balances include everything accepted before it), events
    (posted so far), updated_at.
    """

    __tablename__ = "ingest_poster_cursors"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerEventRejection(Model):
    """The latest rejection of an event id a partner app sent (for GET /events/{id}).

    Only written when a request rejected something; an accepted event with the same id takes
    precedence when both exist (e.g. a later `conflict`). Fields: partner_id, external_id,
    kind, code, message, field, rejected_at.
    """

    __tablename__ = "partner_event_rejections"
    __table_args__ = (UniqueConstraint("partner_id", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str | None] = mapped_column(String(80))
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerCoinRate(Model):
    """The cash value of a partner app's coins from `effective_from` on (versions, set for the
    future only: `flask coins set`), as exact rationals of the app currency's minor unit.

    Fields: partner_id, effective_from, paid_numerator / paid_denominator (one paid coin),
    bonus_numerator / bonus_denominator (one bonus coin, often 0), created_at. A coin value
    belongs in the partner's versioned contract; this table holds it until then.
    """

    __tablename__ = "partner_coin_rates"
    __table_args__ = (
        UniqueConstraint("partner_id", "effective_from"),
        CheckConstraint(
            "paid_numerator >= 0 AND bonus_numerator >= 0", name="numerators_nonnegative"
        ),
        CheckConstraint(
            "paid_denominator > 0 AND bonus_denominator > 0", name="denominators_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_numerator: Mapped[int] = mapped_column(BigInteger)
    paid_denominator: Mapped[int] = mapped_column(BigInteger)
    bonus_numerator: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_denominator: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CoinPosition(Model):
    """A coin bucket's exact position: every paid and bonus coin posted to it so far. Its
    money is floor(paid x paid value + bonus x bonus value); the rational remainder stays in
    the coins, so no event's money is ever rounded on its own. Written by the poster only.

    Fields: bucket_key (the ledger bucket: a split version and a coin rate), paid_coins,
    bonus_coins, money (the floor, what the bucket's cumulative gross holds), updated_at.
    """

    __tablename__ = "coin_positions"

    bucket_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paid_coins: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_coins: Mapped[int] = mapped_column(BigInteger, default=0)
    money: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EpisodeViews(Model):
    """Views of one episode on one partner app, per UTC day and country, as the app counted
    them (pre-aggregated: no row per view). A report replaces the day's counts, so a repeat
    changes nothing.

    Fields: partner_id, series_id, episode, day, country ("" when unknown), starts,
    completions, updated_at.
    """

    __tablename__ = "episode_views"
    __table_args__ = (
        CheckConstraint("starts >= 0 AND completions >= 0", name="counts_nonnegative"),
        # Analytics reads these rows only for a country filter (else episode_view_days); on
        # PostgreSQL the index carries the rest of the row, so those reads are index-only.
        Index(
            "ix_episode_views_series_country_day",
            "series_id",
            "country",
            "day",
            postgresql_include=["episode", "partner_id", "starts", "completions"],
        ),
    )

    partner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    episode: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    starts: Mapped[int] = mapped_column(BigInteger, default=0)
    completions: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EpisodeViewDays(Model):
    """Views of one episode on one partner app per UTC day, every country together: the sum of
    the day's episode_views rows, kept by the same ingestion that upserts them (a tenth or
    less of their rows: what analytics reads when no country is chosen).

    Fields: series_id, day, episode, partner_id, starts, completions.
    """

    __tablename__ = "episode_view_days"
    __table_args__ = (
        CheckConstraint("starts >= 0 AND completions >= 0", name="counts_nonnegative"),
        # Key order: a series' days first, the page's range scan; on PostgreSQL the key's
        # index carries the counts too, so that scan is index-only.
        PrimaryKeyConstraint(
            "series_id", "day", "episode", "partner_id",
            postgresql_include=["starts", "completions"],
        ),
    )  # fmt: skip

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    episode: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    partner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    starts: Mapped[int] = mapped_column(BigInteger, default=0)
    completions: Mapped[int] = mapped_column(BigInteger, default=0)


class SeriesRevenueDays(Model):
    """A series' money per UTC day (of occurred_at), episode, partner app, revenue type and
    currency, every country together: events (a refund counts -1) and gross (signed minor
    units), added by the same call that posts them to the ledger (ingest/revenue_days.py).
    What analytics reads unless a country is chosen: one row per episode and day or so.

    Fields: series_id, day, episode (0: none, as for a bundle or pool share), partner_id,
    kind (the fact's: "unlock", "coins", "bundle", "purchase", "pool", "refund"), currency,
    events, gross.
    """

    __tablename__ = "series_revenue_days"
    __table_args__ = (
        # A series' days first (the page's range scan), index-only on PostgreSQL.
        PrimaryKeyConstraint(
            "series_id", "day", "episode", "partner_id", "kind", "currency",
            postgresql_include=["events", "gross"],
        ),
    )  # fmt: skip

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    episode: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    partner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
