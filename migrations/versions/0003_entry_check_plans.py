"""Commit-time entry check driven from the queue (plan-independent).

The deferred check of ledger_entry_checks was written as joins; PostgreSQL planned them as
merge or hash joins over every posting and allocation event, so each commit cost grew with the
ledger's size. The new definition reaches postings and events through LATERAL subqueries on
their entry_id indexes. SQLite has no such function: nothing changes there.

Revision ID: 0003_entry_check_plans
Revises: 0002_statements
"""

import sqlalchemy as sa
from alembic import op

revision = '0003_entry_check_plans'
down_revision = '0002_statements'
branch_labels = None
depends_on = None


def upgrade():
    _define_check(CHECK_ENTRIES_LATERAL)


def downgrade():
    # Back to 0001's definition, the joins.
    _define_check(CHECK_ENTRIES_JOINS)


def _define_check(sql):
    """(Re)define ledger_check_entries() on PostgreSQL (the trigger calling it stays)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text(sql))


# Both definitions written out: a revision must not pick up later changes to ledger/guards.py.
# Every query of the new one starts from the queue and reaches the big tables only through a
# LATERAL subquery on an indexed column (an aggregate or LIMIT keeps PostgreSQL from flattening
# it into a join), so its cost is the queued entries' own rows whatever the planner's
# statistics say.
CHECK_ENTRIES_LATERAL = """
CREATE OR REPLACE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (SELECT count(*) AS n FROM ledger_entries e WHERE e.id = q.entry_id) x
     WHERE q.entry_id > 0 AND x.n = 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: postings or events name entry %, which does not exist',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT q.entry_id, s.currency, s.total, s.strays INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (
        SELECT p.currency, sum(p.amount) AS total, count(*) FILTER (WHERE a.n = 0) AS strays
          FROM ledger_postings p
         CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM ledger_accounts a
             WHERE a.id = p.account_id AND a.currency = p.currency) a
         WHERE p.entry_id = q.entry_id GROUP BY p.currency) s
     WHERE q.entry_id > 0 AND (s.total <> 0 OR s.strays > 0)
     LIMIT 1;
    IF FOUND AND bad.total <> 0 THEN
        RAISE EXCEPTION 'ledger: entry % does not balance in % (off by % minor units)',
            bad.entry_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % posts to a missing account or in another currency',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE b.n = 0) AS n
          FROM (SELECT DISTINCT e.bucket_id FROM ledger_allocation_events e
                 WHERE e.entry_id = q.entry_id) e
         CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM ledger_allocation_buckets b WHERE b.id = e.bucket_id) b) x
     WHERE q.entry_id > 0 AND x.n > 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % has allocation events of a missing bucket',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Rows of other transactions are invisible here until they commit, and every transaction
    -- empties its own queue before it does.
    DELETE FROM ledger_entry_checks WHERE entry_id > 0 OR entry_id = NEW.entry_id;
    RETURN NULL;
END $$
"""

CHECK_ENTRIES_JOINS = """
CREATE OR REPLACE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     WHERE q.entry_id > 0 AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.id = q.entry_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: postings or events name entry %, which does not exist',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT p.entry_id, p.currency, sum(p.amount) AS total INTO bad
      FROM ledger_postings p JOIN ledger_entry_checks q ON q.entry_id = p.entry_id
     GROUP BY p.entry_id, p.currency HAVING sum(p.amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % does not balance in % (off by % minor units)',
            bad.entry_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    SELECT p.entry_id INTO bad
      FROM ledger_postings p JOIN ledger_entry_checks q ON q.entry_id = p.entry_id
     WHERE NOT EXISTS (
        SELECT 1 FROM ledger_accounts a WHERE a.id = p.account_id AND a.currency = p.currency)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % posts to a missing account or in another currency',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT e.entry_id INTO bad
      FROM ledger_allocation_events e JOIN ledger_entry_checks q ON q.entry_id = e.entry_id
     WHERE NOT EXISTS (SELECT 1 FROM ledger_allocation_buckets b WHERE b.id = e.bucket_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % has allocation events of a missing bucket',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Rows of other transactions are invisible here until they commit, and every transaction
    -- empties its own queue before it does.
    DELETE FROM ledger_entry_checks WHERE entry_id > 0 OR entry_id = NEW.entry_id;
    RETURN NULL;
END $$
"""
