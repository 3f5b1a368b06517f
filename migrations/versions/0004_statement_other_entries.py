"""Statements: a partial index of the ledger entries that are not allocations (payouts,
adjustments, reversals...), so a statement finds an account's other movements of a period by
probing it with the period's postings instead of reading each allocation entry.

Only entries that are not allocations are indexed: ingestion evaluates the predicate per new
entry (one per bucket and hour) and never writes to the index for allocations.

Revision ID: 0004_statement_other_entries
Revises: 0003_entry_check_plans
Create Date: 2026-11-21 12:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0004_statement_other_entries'
down_revision = '0003_entry_check_plans'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_ledger_entries_not_allocation', 'ledger_entries', ['id'], unique=False,
        # As ledger.schema.NOT_ALLOCATION_SQL (written out: a migration does not change later).
        postgresql_where=sa.text("(metadata ->> 'kind') IS DISTINCT FROM 'allocation'"),
        sqlite_where=sa.text("json_extract(metadata, '$.kind') IS NOT 'allocation'"),
    )


def downgrade():
    op.drop_index('ix_ledger_entries_not_allocation', table_name='ledger_entries')
