"""partner settlement: contracts, statements, remittances, aging (issue 15).

- partner_contracts: versioned terms of each partner app (future-only versions); every existing
  app gets version 1 from its current terms, payout policy advance, monthly, net 30.
- partner_apps.settled_through: events before it are in closed settlement periods (added in
  place on both engines).
- settlement_statements and settlement_lines (per series, episode, country); remittances and
  remittance_applications; collected_releases (what each account got of a collected period).

Revision ID: 0012_settlements
Revises: 0011_deal_terms
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0012_settlements'
down_revision = '0011_deal_terms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partner_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('share_bps', sa.Integer(), nullable=False),
    sa.Column('hold_days', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('net_days', sa.Integer(), nullable=False),
    sa.Column('payout_policy', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("payout_policy IN ('advance', 'collected')", name=op.f('ck_partner_contracts_policy_known')),
    sa.CheckConstraint("period IN ('monthly', 'weekly')", name=op.f('ck_partner_contracts_period_known')),
    sa.CheckConstraint('hold_days >= 0 AND hold_days <= 365', name=op.f('ck_partner_contracts_hold_days_range')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_partner_contracts_currency_code')),
    sa.CheckConstraint('net_days >= 0 AND net_days <= 365', name=op.f('ck_partner_contracts_net_days_range')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_partner_contracts_number_positive')),
    sa.CheckConstraint('share_bps >= 0 AND share_bps <= 10000', name=op.f('ck_partner_contracts_share_bps_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_partner_contracts_created_by_id_users')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_apps.id'], name=op.f('fk_partner_contracts_partner_id_partner_apps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_contracts')),
    sa.UniqueConstraint('partner_id', 'number', name=op.f('uq_partner_contracts_partner_id_number'))
    )
    with op.batch_alter_table('partner_contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_contracts_partner_id'), ['partner_id'], unique=False)

    op.create_table('settlement_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('label', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unlocks', sa.Integer(), nullable=False),
    sa.Column('unlocks_gross', sa.BigInteger(), nullable=False),
    sa.Column('refunds_gross', sa.BigInteger(), nullable=False),
    sa.Column('pools_gross', sa.BigInteger(), nullable=False),
    sa.Column('gross', sa.BigInteger(), nullable=False),
    sa.Column('partner_share', sa.BigInteger(), nullable=False),
    sa.Column('amount_owed', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('overdue_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("period IN ('monthly', 'weekly')", name=op.f('ck_settlement_statements_period_known')),
    sa.CheckConstraint('amount_owed = gross - partner_share', name=op.f('ck_settlement_statements_owed_sum')),
    sa.CheckConstraint('gross = unlocks_gross - refunds_gross + pools_gross', name=op.f('ck_settlement_statements_gross_sum')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_settlement_statements_currency_code')),
    sa.CheckConstraint('paid >= 0', name=op.f('ck_settlement_statements_paid_nonnegative')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_settlement_statements_period_order')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_apps.id'], name=op.f('fk_settlement_statements_partner_id_partner_apps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_statements')),
    sa.UniqueConstraint('partner_id', 'period_start', name=op.f('uq_settlement_statements_partner_id_period_start'))
    )
    with op.batch_alter_table('settlement_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_statements_partner_id'), ['partner_id'], unique=False)

    op.create_table('collected_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('released', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['settlement_statements.id'], name=op.f('fk_collected_releases_statement_id_settlement_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collected_releases')),
    sa.UniqueConstraint('statement_id', 'account_id', name=op.f('uq_collected_releases_statement_id_account_id'))
    )
    op.create_table('remittances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=True),
    sa.Column('settled', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_remittances_amount_positive')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_remittances_currency_code')),
    sa.CheckConstraint('settled > 0', name=op.f('ck_remittances_settled_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_remittances_created_by_id_users')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_apps.id'], name=op.f('fk_remittances_partner_id_partner_apps')),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlement_statements.id'], name=op.f('fk_remittances_settlement_id_settlement_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittances')),
    sa.UniqueConstraint('partner_id', 'reference', name=op.f('uq_remittances_partner_id_reference'))
    )
    with op.batch_alter_table('remittances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remittances_partner_id'), ['partner_id'], unique=False)

    op.create_table('settlement_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('episode', sa.Integer(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('unlocks', sa.Integer(), nullable=False),
    sa.Column('unlocks_gross', sa.BigInteger(), nullable=False),
    sa.Column('refunds_gross', sa.BigInteger(), nullable=False),
    sa.Column('pools_gross', sa.BigInteger(), nullable=False),
    sa.Column('gross', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('gross = unlocks_gross - refunds_gross + pools_gross', name=op.f('ck_settlement_lines_gross_sum')),
    sa.ForeignKeyConstraint(['statement_id'], ['settlement_statements.id'], name=op.f('fk_settlement_lines_statement_id_settlement_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_lines'))
    )
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_lines_statement_id'), ['statement_id'], unique=False)

    op.create_table('remittance_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('remittance_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_remittance_applications_amount_positive')),
    sa.ForeignKeyConstraint(['remittance_id'], ['remittances.id'], name=op.f('fk_remittance_applications_remittance_id_remittances')),
    sa.ForeignKeyConstraint(['statement_id'], ['settlement_statements.id'], name=op.f('fk_remittance_applications_statement_id_settlement_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance_applications'))
    )
    with op.batch_alter_table('remittance_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remittance_applications_remittance_id'), ['remittance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remittance_applications_statement_id'), ['statement_id'], unique=False)

    op.add_column('partner_apps', sa.Column('settled_through', sa.DateTime(timezone=True), nullable=True))
    # Version 1 of every existing app's contract: its current terms, advance, monthly, net 30.
    bind = op.get_bind()
    epoch = datetime(1970, 1, 1) if bind.dialect.name == 'sqlite' else datetime(1970, 1, 1, tzinfo=timezone.utc)
    bind.execute(sa.text(
        "INSERT INTO partner_contracts (partner_id, number, effective_from, share_bps, hold_days,"
        " currency, period, net_days, payout_policy, created_at)"
        " SELECT id, 1, :epoch, share_bps, hold_days, currency, 'monthly', 30, 'advance', created_at"
        " FROM partner_apps"
    ), {'epoch': epoch})



def downgrade():
    with op.batch_alter_table('partner_apps', schema=None) as batch_op:
        batch_op.drop_column('settled_through')

    with op.batch_alter_table('remittance_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remittance_applications_statement_id'))
        batch_op.drop_index(batch_op.f('ix_remittance_applications_remittance_id'))

    op.drop_table('remittance_applications')
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_lines_statement_id'))

    op.drop_table('settlement_lines')
    with op.batch_alter_table('remittances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remittances_partner_id'))

    op.drop_table('remittances')
    op.drop_table('collected_releases')
    with op.batch_alter_table('settlement_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_statements_partner_id'))

    op.drop_table('settlement_statements')
    with op.batch_alter_table('partner_contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_contracts_partner_id'))

    op.drop_table('partner_contracts')
