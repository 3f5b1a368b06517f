"""Commit-time entry check driven from the queue (plan-independent).

The deferred check of ledger_entry_checks was written as joins; PostgreSQL planned them as
merge or hash joins over every posting and allocation event, so each commit cost grew with the
ledger's size. The new definition reaches postings and events through LATERAL subqueries on
their entry_id indexes (see ledger/guards.py).

Revision ID: 0003_entry_check_plans
Revises: 0002_statements
"""

from alembic import op

import ledger.guards

revision = '0003_entry_check_plans'
down_revision = '0002_statements'
branch_labels = None
depends_on = None


def upgrade():
    ledger.guards.install_check_function(op.get_bind())


def downgrade():
    # The earlier definition checked the same things, only slower; keeping the new one is safe.
    pass
