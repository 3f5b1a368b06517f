"""deal terms: revenue waterfalls.

- ledger_allocation_buckets.waterfall: NULL for a split by weights (every existing bucket);
  a waterfall bucket's plan (ledger.allocation.waterfall.Waterfall.to_json()). Added in place
  (ADD COLUMN on both engines): SQLite's batch rebuild would DELETE bucket rows, which the
  ledger's guards refuse.

Revision ID: 0011_deal_terms
Revises: 0010_hardening
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_deal_terms'
down_revision = '0010_hardening'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('ledger_allocation_buckets', sa.Column('waterfall', sa.JSON(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE ledger_allocation_buckets DROP COLUMN waterfall')
    else:
        op.drop_column('ledger_allocation_buckets', 'waterfall')
