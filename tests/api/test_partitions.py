"""Monthly partitions (PostgreSQL): the event log and the journal are partitioned by month,
the months ahead exist, every partition keeps the statements' indexes and the ledger's guards,
and a poster batch whose events straddle a month boundary posts into both months. SQLite keeps
plain tables."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.books.partitions import (
    MONTHS_AHEAD,
    PARTITION_KEYS,
    ensure_partitions,
    month_start,
    next_month,
    partition_name,
    partitioned_tables,
    partitions_of,
)
from marketplace.chart import ledger_account
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.poster import post_pending
from marketplace.splits.models import SplitVersion
from tests.api.conftest import unlock
from tests.api.test_unlocks import codes

POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="partitions are PostgreSQL's")


def this_month() -> date:
    return month_start(datetime.now(UTC).date())


def months_after(month: date, n: int) -> date:
    for _ in range(n):
        month = next_month(month)
    return month


def last_month() -> date:
    return month_start(this_month() - timedelta(days=1))


@needs_postgres
def test_the_event_log_and_the_journal_are_partitioned_by_month_with_months_ahead(db):
    rows = db.session.execute(
        text(
            "SELECT c.relname, a.attname FROM pg_partitioned_table p"
            " JOIN pg_class c ON c.oid = p.partrelid"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " WHERE p.partstrat = 'r' AND c.relnamespace = current_schema()::regnamespace"
        )
    ).all()
    assert {name: key for name, key in rows} == PARTITION_KEYS
    months = [last_month(), *(months_after(this_month(), n) for n in range(MONTHS_AHEAD + 1))]
    for table in PARTITION_KEYS:
        names = partitions_of(db.session, table)
        assert {partition_name(table, month) for month in months} <= set(names)
        assert names[-1] == f"{table}_default"


@needs_postgres
def test_every_partition_keeps_the_statement_indexes_and_the_unique_keys(db):
    def indexes(partition):
        return {
            definition.split(" USING btree ")[1]
            for (definition,) in db.session.execute(
                text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": partition}
            )
        }

    for partition in partitions_of(db.session, "ledger_postings"):
        assert {"(account_id, effective_at)", "(entry_id)"} <= indexes(partition)
    for partition in partitions_of(db.session, "ledger_allocation_runs"):
        assert {"(bucket_id, hour)", "(bucket_id, max_ref)", "(entry_id, hour)"} <= indexes(
            partition
        )
    for partition in partitions_of(db.session, "partner_events"):
        found = indexes(partition)
        assert "(partner_id, external_id, occurred_at)" in found
        assert "(txid, id)" in found


@needs_postgres
def test_partitions_are_created_ahead_once_and_guarded_like_their_table(db):
    through = months_after(this_month(), MONTHS_AHEAD + 2)
    created = ensure_partitions(db.session, through=through)
    new_months = [months_after(this_month(), MONTHS_AHEAD + n) for n in (1, 2)]
    assert sorted(created) == sorted(
        partition_name(table, month) for table in PARTITION_KEYS for month in new_months
    )
    assert ensure_partitions(db.session, through=through) == []
    newest = partition_name("ledger_postings", new_months[-1])
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(f"DELETE FROM {newest}"))


@needs_postgres
def test_references_into_partitioned_tables_are_still_checked(db, make_partner):
    partner = make_partner()
    refund = (
        "INSERT INTO partner_events (partner_id, external_id, kind, status, amount, currency,"
        " occurred_at, content_hash, refund_of, created_at) VALUES"
        " (:p, 'r1', 'refund', 'accepted', 49, 'USD', now(), 'x', 987654321, now())"
    )
    with pytest.raises(IntegrityError, match="refund_of"), db.session.begin_nested():
        db.session.execute(text(refund), {"p": partner.app.id})
    reversal = (
        "INSERT INTO ledger_entries (idempotency_key, content_hash, effective_at, recorded_at,"
        " description, metadata, reverses_entry_id)"
        " VALUES ('t:rev', 'x', now(), now(), '', '{}', 987654321)"
    )
    with pytest.raises(IntegrityError, match="reverses_entry_id"), db.session.begin_nested():
        db.session.execute(text(reversal))


@needs_postgres
def test_an_entry_is_reversed_once_whatever_the_months(db):
    entry = (
        "INSERT INTO ledger_entries (idempotency_key, content_hash, effective_at, recorded_at,"
        " description, metadata, reverses_entry_id)"
        " VALUES (:key, 'x', :at, now(), '', '{}', :reverses) RETURNING id"
    )
    now = datetime.now(UTC)
    first = db.session.execute(text(entry), {"key": "t:a", "at": now, "reverses": None})
    original = first.scalar_one()
    db.session.execute(text(entry), {"key": "t:r1", "at": now, "reverses": original})
    again = {"key": "t:r2", "at": now - timedelta(days=40), "reverses": original}
    with pytest.raises(IntegrityError, match="reverses_entry_id"), db.session.begin_nested():
        db.session.execute(text(entry), again)  # another month's partition: still refused


def test_a_batch_across_a_month_boundary_posts_into_both_months(
    db, make_partner, make_live_series, runner
):
    partner = make_partner()
    boundary = datetime.combine(this_month(), datetime.min.time(), tzinfo=UTC)
    series = make_live_series(partner.app, live_at=boundary - timedelta(days=10))
    for version in db.session.scalars(
        select(SplitVersion).where(SplitVersion.series_id == series.id)
    ):
        version.effective_from = boundary - timedelta(days=11)
    db.session.flush()
    moments = [boundary - timedelta(seconds=1), boundary]  # e.g. 11-30T23:59:59Z, 12-01T00:00Z
    events = [
        unlock(f"edge{i}", series, occurred_at=moment.isoformat().replace("+00:00", "Z"))
        for i, moment in enumerate(moments)
    ]
    response = partner.post("/api/v1/unlocks", {"events": events}, post=False)
    assert codes(response) == ["accepted", "accepted"]
    assert post_pending(db.session()).events == 2

    for event in events:
        status = partner.get(f"/api/v1/events/{event['id']}", post=False).get_json()
        assert status["ledger"]["status"] == "posted" and len(status["ledger"]["entry_ids"]) == 1
    commission = ledger_account(db.session, "partner_commission", "USD", partner.app.id)
    later = datetime.now(UTC) + timedelta(days=30)
    posted = get_balance(db.session, commission.id, now=later).posted
    assert abs(posted - 2 * 49 * Fraction(3, 10)) < 1
    assert check_ledger(db.session) == []
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output

    if not POSTGRES:
        return
    homes = db.session.execute(
        select(text("tableoid::regclass::text"), PartnerEvent.external_id).where(
            PartnerEvent.partner_id == partner.app.id
        )
    ).all()
    assert sorted(homes) == [
        (partition_name("partner_events", last_month()), "edge0"),
        (partition_name("partner_events", this_month()), "edge1"),
    ]
    entry_ids = [
        partner.get(f"/api/v1/events/{e['id']}", post=False).get_json()["ledger"]["entry_ids"][0]
        for e in events
    ]
    for table, column in [("ledger_postings", "entry_id"), ("ledger_entries", "id")]:
        found = db.session.execute(
            text(
                f"SELECT DISTINCT tableoid::regclass::text FROM {table}"
                f" WHERE {column} = ANY(:ids)"
            ),
            {"ids": entry_ids},
        ).scalars()
        assert sorted(found) == [
            partition_name(table, last_month()),
            partition_name(table, this_month()),
        ]


@pytest.mark.skipif(POSTGRES, reason="SQLite's tables")
def test_sqlite_keeps_plain_tables(db):
    assert partitioned_tables(db.session.connection()) == []
    assert ensure_partitions(db.session) == []
