"""partner_events.refund_of: a partial unique index (refunds only).

Only refunds carry refund_of; the full unique constraint indexed a NULL for every unlock on the
ingestion hot path.

Revision ID: 0005_partial_refund_index
Revises: 0004_statement_other_entries
"""

import sqlalchemy as sa
from alembic import op

revision = '0005_partial_refund_index'
down_revision = '0004_statement_other_entries'
branch_labels = None
depends_on = None

_WHERE = sa.text('refund_of IS NOT NULL')


def upgrade():
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_partner_events_refund_of', type_='unique')
    op.create_index('uq_partner_events_refund_of', 'partner_events', ['refund_of'], unique=True,
                    postgresql_where=_WHERE, sqlite_where=_WHERE)


def downgrade():
    op.drop_index('uq_partner_events_refund_of', table_name='partner_events')
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_partner_events_refund_of', ['refund_of'])
