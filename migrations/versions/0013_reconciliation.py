"""partner reports reconciled line by line, disputes (issue 15).

- reconciliation_reports: a partner's report of a month, with its counts per class.
- reconciliation_staging: a report's lines while it is matched (emptied once matched).
- reconciliation_lines: the differing lines, both sides; reconciliation_disputes on them.

Revision ID: 0013_reconciliation
Revises: 0012_settlements
"""

import sqlalchemy as sa
from alembic import op

revision = '0013_reconciliation'
down_revision = '0012_settlements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reconciliation_staging',
    sa.Column('report_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('line_no', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.BigInteger(), nullable=False),
    sa.Column('episode', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('report_id', 'line_no', name=op.f('pk_reconciliation_staging'))
    )
    with op.batch_alter_table('reconciliation_staging', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_staging_report_event', ['report_id', 'event_id'], unique=False)

    op.create_table('reconciliation_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('source', sa.String(length=3), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('only_theirs', sa.Integer(), nullable=False),
    sa.Column('only_ours', sa.Integer(), nullable=False),
    sa.Column('currency_differs', sa.Integer(), nullable=False),
    sa.Column('amount_differs', sa.Integer(), nullable=False),
    sa.Column('date_differs', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('api', 'web', 'cli')", name=op.f('ck_reconciliation_reports_source_known')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_apps.id'], name=op.f('fk_reconciliation_reports_partner_id_partner_apps')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_reconciliation_reports_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_reports'))
    )
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_reports_partner_id'), ['partner_id'], unique=False)

    op.create_table('reconciliation_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('event_row_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('their_series_id', sa.BigInteger(), nullable=True),
    sa.Column('their_episode', sa.BigInteger(), nullable=True),
    sa.Column('their_amount', sa.BigInteger(), nullable=True),
    sa.Column('their_currency', sa.String(length=3), nullable=True),
    sa.Column('their_occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('our_series_id', sa.Integer(), nullable=True),
    sa.Column('our_episode', sa.Integer(), nullable=True),
    sa.Column('our_amount', sa.BigInteger(), nullable=True),
    sa.Column('our_currency', sa.String(length=3), nullable=True),
    sa.Column('our_occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('only_theirs', 'only_ours', 'currency_differs', 'amount_differs', 'date_differs')", name=op.f('ck_reconciliation_lines_kind_known')),
    sa.ForeignKeyConstraint(['event_row_id'], ['partner_events.id'], name=op.f('fk_reconciliation_lines_event_row_id_partner_events')),
    sa.ForeignKeyConstraint(['report_id'], ['reconciliation_reports.id'], name=op.f('fk_reconciliation_lines_report_id_reconciliation_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_lines'))
    )
    with op.batch_alter_table('reconciliation_lines', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_lines_report_kind', ['report_id', 'kind', 'id'], unique=False)

    op.create_table('reconciliation_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('ingested_event_ids', sa.String(length=200), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.CheckConstraint("status <> 'kept' OR length(resolution_note) > 0", name=op.f('ck_reconciliation_disputes_kept_has_note')),
    sa.CheckConstraint("status IN ('open', 'accepted', 'kept')", name=op.f('ck_reconciliation_disputes_status_known')),
    sa.ForeignKeyConstraint(['line_id'], ['reconciliation_lines.id'], name=op.f('fk_reconciliation_disputes_line_id_reconciliation_lines')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_reconciliation_disputes_opened_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_reconciliation_disputes_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_disputes')),
    sa.UniqueConstraint('line_id', name=op.f('uq_reconciliation_disputes_line_id'))
    )


def downgrade():
    op.drop_table('reconciliation_disputes')
    with op.batch_alter_table('reconciliation_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_lines_report_kind')

    op.drop_table('reconciliation_lines')
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_reports_partner_id'))

    op.drop_table('reconciliation_reports')
    with op.batch_alter_table('reconciliation_staging', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_staging_report_event')

    op.drop_table('reconciliation_staging')
