"""settlement gaps (issue 15): a negative statement's credit carried to the next ones, and
the event log's (partner, occurred_at) index for period queries.

- remittance_applications: remittance_id becomes optional and credit_statement_id names the
  statement whose negative amount owed (refunds over its gross) the part comes from; exactly
  one of the two is set.
- partner_events: index (partner_id, occurred_at), read by statements and reconciliation.
- reconciliation: a line kind content_differs (series or episode differs) and its count.

Revision ID: 0020_settlements_more
Revises: 0019_i18n
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_settlements_more'
down_revision = '0019_i18n'
branch_labels = None
depends_on = None

_OLD_KINDS = ("kind IN ('only_theirs', 'only_ours', 'currency_differs', 'amount_differs', "
              "'date_differs')")
_KINDS = ("kind IN ('only_theirs', 'only_ours', 'currency_differs', 'amount_differs', "
          "'content_differs', 'date_differs')")


def upgrade():
    with op.batch_alter_table('remittance_applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_statement_id', sa.Integer(), nullable=True))
        batch_op.alter_column('remittance_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_remittance_applications_credit_statement_id_settlement_statements'),
            'settlement_statements', ['credit_statement_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_remittance_applications_one_source'),
            '(remittance_id IS NULL) <> (credit_statement_id IS NULL)')
    op.create_index('ix_partner_events_partner_id_occurred_at', 'partner_events',
                    ['partner_id', 'occurred_at'], unique=False)
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_differs', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('reconciliation_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reconciliation_lines_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_reconciliation_lines_kind_known'), _KINDS)


def downgrade():
    op.execute("DELETE FROM reconciliation_disputes WHERE line_id IN "
               "(SELECT id FROM reconciliation_lines WHERE kind = 'content_differs')")
    op.execute("DELETE FROM reconciliation_lines WHERE kind = 'content_differs'")
    with op.batch_alter_table('reconciliation_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reconciliation_lines_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_reconciliation_lines_kind_known'), _OLD_KINDS)
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.drop_column('content_differs')
    op.drop_index('ix_partner_events_partner_id_occurred_at', table_name='partner_events')
    op.execute('DELETE FROM remittance_applications WHERE credit_statement_id IS NOT NULL')
    with op.batch_alter_table('remittance_applications', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('ck_remittance_applications_one_source'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_remittance_applications_credit_statement_id_settlement_statements'),
            type_='foreignkey')
        batch_op.alter_column('remittance_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('credit_statement_id')
