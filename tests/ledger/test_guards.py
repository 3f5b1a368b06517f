"""The database itself refuses unbalanced entries and any UPDATE or DELETE of the journal.

These tests really commit, so each runs on a schema (or SQLite file) of its own."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry
from tests.ledger.factories import T0, World, account

ENTRY = (
    "INSERT INTO ledger_entries (id, idempotency_key, content_hash, effective_at, recorded_at,"
    " description, metadata) VALUES (:id, :key, 'raw', :at, :at, 'raw sql', '{}')"
)
POSTING = (
    "INSERT INTO ledger_postings (entry_id, account_id, amount, currency, effective_at)"
    " VALUES (:id, :account, :amount, 'USD', :at)"
)


@pytest.fixture
def accounts(committing_engine):
    with Session(committing_engine) as session:
        ids = account(session, "cash", "asset"), account(session, "payable", "liability")
        session.commit()
    return ids


def raw_entry(engine, entry_id, legs):
    """Insert an entry and its postings with raw SQL (postings first, as SQLite requires)."""
    at = T0.isoformat() if engine.dialect.name == "postgresql" else "2025-01-01 00:00:00"
    with engine.connect() as connection:
        for account_id, amount in legs:
            connection.execute(
                text(POSTING), {"id": entry_id, "account": account_id, "amount": amount, "at": at}
            )
        connection.execute(text(ENTRY), {"id": entry_id, "key": f"raw-{entry_id}", "at": at})
        connection.commit()


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_balanced_raw_entry_is_accepted(committing_engine, accounts):
    cash, payable = accounts
    raw_entry(committing_engine, 500, [(cash, 100), (payable, -100)])
    assert count(committing_engine, "ledger_entries") == 1


def test_an_unbalanced_raw_entry_is_refused_by_commit(committing_engine, accounts):
    cash, payable = accounts
    with pytest.raises(DBAPIError, match="does not balance"):
        raw_entry(committing_engine, 501, [(cash, 100), (payable, -99)])
    assert count(committing_engine, "ledger_entries") == 0
    assert count(committing_engine, "ledger_postings") == 0


def test_postings_cannot_be_added_to_a_committed_entry(committing_engine, accounts):
    cash, payable = accounts
    raw_entry(committing_engine, 502, [(cash, 100), (payable, -100)])
    at = "2025-01-01 00:00:00"
    with pytest.raises(DBAPIError), committing_engine.connect() as connection:
        connection.execute(text(POSTING), {"id": 502, "account": cash, "amount": 5, "at": at})
        connection.commit()
    assert count(committing_engine, "ledger_postings") == 2


def test_postings_without_an_entry_are_refused_by_commit(committing_engine, accounts):
    cash, payable = accounts
    at = "2025-01-01 00:00:00"
    with committing_engine.connect() as connection:
        for account_id, amount in ((cash, 7), (payable, -7)):
            connection.execute(
                text(POSTING), {"id": 777, "account": account_id, "amount": amount, "at": at}
            )
        with pytest.raises(DBAPIError):
            connection.commit()
        if committing_engine.dialect.name == "sqlite":
            # A deferred foreign key failing at COMMIT leaves SQLite's transaction open.
            connection.connection.driver_connection.rollback()
    assert count(committing_engine, "ledger_postings") == 0


@pytest.fixture
def journal(committing_engine):
    """A committed entry and a committed allocation event."""
    from ledger.allocation.engine import allocate_batch

    with Session(committing_engine) as session:
        world = World(session)
        post_entry(
            session,
            idempotency_key="one",
            effective_at=T0,
            description="one",
            legs=[Leg(world.receivable, 10), Leg(world.in_transit, -10)],
        )
        allocate_batch(session, [world.unlock("u1", 199, world.parties([5000, 3000, 2000]))])
        session.commit()
    return committing_engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount = amount + 1",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET description = 'rewritten'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_allocation_runs SET cumulative_from = cumulative_from + 1",
        "DELETE FROM ledger_allocation_runs",
        "DELETE FROM ledger_accounts",
    ],
)
def test_the_journal_cannot_be_rewritten(journal, statement):
    before = (count(journal, "ledger_postings"), count(journal, "ledger_entries"))
    with pytest.raises(DBAPIError, match="not allowed"), journal.connect() as connection:
        connection.execute(text(statement))
        connection.commit()
    assert (count(journal, "ledger_postings"), count(journal, "ledger_entries")) == before


def test_postings_to_a_missing_account_are_refused(committing_engine, accounts):
    cash, _ = accounts
    with pytest.raises(DBAPIError):
        raw_entry(committing_engine, 503, [(cash, 100), (999_999, -100)])
    assert count(committing_engine, "ledger_postings") == 0
