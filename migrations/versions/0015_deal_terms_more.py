"""flat fees, guarantees, remake royalties (issue 17).

- plan_guarantees: a plan's flat fees and minimum guarantees (beneficiary, guarantor, kind,
  period, amount, currency); guarantee_runs: their settlements, cumulative and append-only.
- remake_royalties: a localized version's royalty to members of its original's team, declared
  when it is made; plan_royalties: the royalties each plan of the remake carries.

Revision ID: 0015_deal_terms_more
Revises: 0014_ingest_plans
"""

import sqlalchemy as sa
from alembic import op


revision = '0015_deal_terms_more'
down_revision = '0014_ingest_plans'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_guarantees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_plan_guarantees_amount_positive')),
    sa.CheckConstraint('beneficiary_id <> guarantor_id', name=op.f('ck_plan_guarantees_guarantor_not_beneficiary')),
    sa.CheckConstraint("kind IN ('flat_fee', 'minimum')", name=op.f('ck_plan_guarantees_kind_known')),
    sa.CheckConstraint("period IN ('month', 'episode', 'once')", name=op.f('ck_plan_guarantees_period_known')),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['team_members.id'], name=op.f('fk_plan_guarantees_beneficiary_id_team_members')),
    sa.ForeignKeyConstraint(['guarantor_id'], ['team_members.id'], name=op.f('fk_plan_guarantees_guarantor_id_team_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['revenue_plans.id'], name=op.f('fk_plan_guarantees_plan_id_revenue_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_guarantees'))
    )
    with op.batch_alter_table('plan_guarantees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_guarantees_plan_id'), ['plan_id'], unique=False)

    op.create_table('guarantee_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('periods', sa.Integer(), nullable=False),
    sa.Column('pool', sa.BigInteger(), nullable=False),
    sa.Column('share', sa.BigInteger(), nullable=False),
    sa.Column('dues', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('owed', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('paid >= 0 AND owed >= 0 AND dues = paid + owed', name=op.f('ck_guarantee_runs_dues_add_up')),
    sa.ForeignKeyConstraint(['guarantee_id'], ['plan_guarantees.id'], name=op.f('fk_guarantee_runs_guarantee_id_plan_guarantees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantee_runs'))
    )
    with op.batch_alter_table('guarantee_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guarantee_runs_guarantee_id'), ['guarantee_id'], unique=False)

    op.create_table('remake_royalties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('bps', sa.Integer(), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('bps > 0 AND bps < 10000', name=op.f('ck_remake_royalties_bps_range')),
    sa.ForeignKeyConstraint(['member_id'], ['team_members.id'], name=op.f('fk_remake_royalties_member_id_team_members')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_remake_royalties_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remake_royalties')),
    sa.UniqueConstraint('series_id', 'member_id', name=op.f('uq_remake_royalties_series_id_member_id'))
    )
    with op.batch_alter_table('remake_royalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remake_royalties_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remake_royalties_series_id'), ['series_id'], unique=False)

    op.create_table('plan_royalties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('bps', sa.Integer(), nullable=False),
    sa.CheckConstraint('bps > 0 AND bps < 10000', name=op.f('ck_plan_royalties_bps_range')),
    sa.ForeignKeyConstraint(['member_id'], ['team_members.id'], name=op.f('fk_plan_royalties_member_id_team_members')),
    sa.ForeignKeyConstraint(['plan_id'], ['revenue_plans.id'], name=op.f('fk_plan_royalties_plan_id_revenue_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_royalties')),
    sa.UniqueConstraint('plan_id', 'member_id', name=op.f('uq_plan_royalties_plan_id_member_id'))
    )
    with op.batch_alter_table('plan_royalties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_royalties_plan_id'), ['plan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_royalties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_royalties_plan_id'))
    op.drop_table('plan_royalties')
    with op.batch_alter_table('remake_royalties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remake_royalties_series_id'))
        batch_op.drop_index(batch_op.f('ix_remake_royalties_member_id'))
    op.drop_table('remake_royalties')
    with op.batch_alter_table('guarantee_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guarantee_runs_guarantee_id'))
    op.drop_table('guarantee_runs')
    with op.batch_alter_table('plan_guarantees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_guarantees_plan_id'))
    op.drop_table('plan_guarantees')
