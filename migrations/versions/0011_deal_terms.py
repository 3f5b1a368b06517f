"""deal terms: revenue waterfalls.

- revenue_plans (versions, future-only; status pending/active/declined/expired), plan_consents
  (who must accept a version, their answers), plan_tiers, plan_holders, plan_shares, plan_advances;
  budget_lines (costs a creator records, each with its holder and tier).
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
    op.create_table('revenue_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_revenue_plans_currency_code')),
    sa.CheckConstraint("status IN ('pending', 'active', 'declined', 'expired')", name=op.f('ck_revenue_plans_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_revenue_plans_created_by_id_users')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_revenue_plans_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revenue_plans')),
    sa.UniqueConstraint('series_id', 'number', name=op.f('uq_revenue_plans_series_id_number'))
    )
    with op.batch_alter_table('revenue_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revenue_plans_series_id'), ['series_id'], unique=False)

    op.create_table('budget_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('receipt_url', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_budget_lines_amount_positive')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_budget_lines_currency_code')),
    sa.CheckConstraint('tier >= 1', name=op.f('ck_budget_lines_tier_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_budget_lines_created_by_id_users')),
    sa.ForeignKeyConstraint(['holder_id'], ['team_members.id'], name=op.f('fk_budget_lines_holder_id_team_members')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_budget_lines_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_lines'))
    )
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_lines_series_id'), ['series_id'], unique=False)

    op.create_table('plan_advances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('payer_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_plan_advances_amount_positive')),
    sa.CheckConstraint('recipient_id <> payer_id', name=op.f('ck_plan_advances_payer_not_recipient')),
    sa.ForeignKeyConstraint(['payer_id'], ['team_members.id'], name=op.f('fk_plan_advances_payer_id_team_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['revenue_plans.id'], name=op.f('fk_plan_advances_plan_id_revenue_plans')),
    sa.ForeignKeyConstraint(['recipient_id'], ['team_members.id'], name=op.f('fk_plan_advances_recipient_id_team_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_advances'))
    )
    with op.batch_alter_table('plan_advances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_advances_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('bps', sa.Integer(), nullable=False),
    sa.CheckConstraint('bps > 0 AND bps <= 10000', name=op.f('ck_plan_shares_bps_range')),
    sa.ForeignKeyConstraint(['member_id'], ['team_members.id'], name=op.f('fk_plan_shares_member_id_team_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['revenue_plans.id'], name=op.f('fk_plan_shares_plan_id_revenue_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_shares')),
    sa.UniqueConstraint('plan_id', 'member_id', name=op.f('uq_plan_shares_plan_id_member_id'))
    )
    with op.batch_alter_table('plan_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_shares_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_tiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('premium_bps', sa.Integer(), nullable=False),
    sa.CheckConstraint('position >= 1', name=op.f('ck_plan_tiers_position_positive')),
    sa.CheckConstraint('premium_bps >= 10000 AND premium_bps <= 100000', name=op.f('ck_plan_tiers_premium_range')),
    sa.ForeignKeyConstraint(['plan_id'], ['revenue_plans.id'], name=op.f('fk_plan_tiers_plan_id_revenue_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_tiers')),
    sa.UniqueConstraint('plan_id', 'position', name=op.f('uq_plan_tiers_plan_id_position'))
    )
    with op.batch_alter_table('plan_tiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_tiers_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_holders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_plan_holders_amount_positive')),
    sa.ForeignKeyConstraint(['member_id'], ['team_members.id'], name=op.f('fk_plan_holders_member_id_team_members')),
    sa.ForeignKeyConstraint(['tier_id'], ['plan_tiers.id'], name=op.f('fk_plan_holders_tier_id_plan_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_holders')),
    sa.UniqueConstraint('tier_id', 'member_id', name=op.f('uq_plan_holders_tier_id_member_id'))
    )
    with op.batch_alter_table('plan_holders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_holders_tier_id'), ['tier_id'], unique=False)
    op.create_table('plan_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'declined')", name=op.f('ck_plan_consents_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_plan_consents_decided_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['team_members.id'], name=op.f('fk_plan_consents_member_id_team_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['revenue_plans.id'], name=op.f('fk_plan_consents_plan_id_revenue_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_consents')),
    sa.UniqueConstraint('plan_id', 'member_id', name=op.f('uq_plan_consents_plan_id_member_id'))
    )
    with op.batch_alter_table('plan_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_consents_plan_id'), ['plan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_consents_plan_id'))

    op.drop_table('plan_consents')
    with op.batch_alter_table('plan_holders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_holders_tier_id'))

    op.drop_table('plan_holders')
    with op.batch_alter_table('plan_tiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_tiers_plan_id'))

    op.drop_table('plan_tiers')
    with op.batch_alter_table('plan_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_shares_plan_id'))

    op.drop_table('plan_shares')
    with op.batch_alter_table('plan_advances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_advances_plan_id'))

    op.drop_table('plan_advances')
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_lines_series_id'))

    op.drop_table('budget_lines')
    with op.batch_alter_table('revenue_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revenue_plans_series_id'))

    op.drop_table('revenue_plans')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE ledger_allocation_buckets DROP COLUMN waterfall')
    else:
        op.drop_column('ledger_allocation_buckets', 'waterfall')
