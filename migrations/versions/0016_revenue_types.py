"""coins, bundles, purchases, views (issue 18).

- partner_events.kind also takes 'coins', 'bundle' and 'purchase' (the check constraint is
  replaced: on PostgreSQL with ALTER TABLE; on SQLite, which cannot alter a constraint, by
  SQLite's documented procedure for CHECK changes, rewriting the table's schema text in place,
  since a batch rebuild of the event log would copy every row).
- partner_coin_rates (a partner app's coin values, versioned, exact rationals of the minor
  unit), coin_positions (each coin bucket's cumulative coins and money), episode_views (view
  counts per partner app, series, episode, UTC day and country), commerce_splits and
  commerce_shares (a series' split of in-story commerce commissions).
- ix_partner_events_attributed: bundles and pools by occurred_at (partial: analytics reads
  their per-episode attribution; unlocks never write it).

Revision ID: 0016_revenue_types
Revises: 0015_deal_terms_more
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_revenue_types'
down_revision = '0015_deal_terms_more'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('unlock', 'refund', 'pool')"
NEW_KINDS = "kind IN ('unlock', 'refund', 'pool', 'coins', 'bundle', 'purchase')"


def _kinds(wanted):
    """Replace partner_events' kind check with `wanted`."""
    other = OLD_KINDS if wanted == NEW_KINDS else NEW_KINDS
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_partner_events_kind_known'), 'partner_events', type_='check')
        op.create_check_constraint(op.f('ck_partner_events_kind_known'), 'partner_events', wanted)
        return
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?)"
        " WHERE type = 'table' AND name = 'partner_events'",
        (other, wanted),
    )
    bind.exec_driver_sql(f'PRAGMA schema_version = {int(version) + 1}')
    bind.exec_driver_sql('PRAGMA writable_schema = OFF')


def upgrade():
    _kinds(NEW_KINDS)
    op.create_index(
        'ix_partner_events_attributed', 'partner_events', ['occurred_at'], unique=False,
        postgresql_where=sa.text("kind IN ('bundle', 'pool')"),
        sqlite_where=sa.text("kind IN ('bundle', 'pool')"),
    )
    op.create_table('coin_positions',
    sa.Column('bucket_key', sa.String(length=200), nullable=False),
    sa.Column('paid_coins', sa.BigInteger(), nullable=False),
    sa.Column('bonus_coins', sa.BigInteger(), nullable=False),
    sa.Column('money', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bucket_key', name=op.f('pk_coin_positions'))
    )
    op.create_table('episode_views',
    sa.Column('partner_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('series_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('episode', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('starts', sa.BigInteger(), nullable=False),
    sa.Column('completions', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('starts >= 0 AND completions >= 0', name=op.f('ck_episode_views_counts_nonnegative')),
    sa.PrimaryKeyConstraint('partner_id', 'series_id', 'episode', 'day', 'country', name=op.f('pk_episode_views'))
    )
    with op.batch_alter_table('episode_views', schema=None) as batch_op:
        batch_op.create_index(
            'ix_episode_views_series_day', ['series_id', 'day'], unique=False,
            postgresql_include=['episode', 'partner_id', 'country', 'starts', 'completions'],
        )
        batch_op.create_index(
            'ix_episode_views_series_episode_day', ['series_id', 'episode', 'day'], unique=False,
            postgresql_include=['partner_id', 'country', 'starts', 'completions'],
        )

    op.create_table('partner_coin_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_numerator', sa.BigInteger(), nullable=False),
    sa.Column('paid_denominator', sa.BigInteger(), nullable=False),
    sa.Column('bonus_numerator', sa.BigInteger(), nullable=False),
    sa.Column('bonus_denominator', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('paid_denominator > 0 AND bonus_denominator > 0', name=op.f('ck_partner_coin_rates_denominators_positive')),
    sa.CheckConstraint('paid_numerator >= 0 AND bonus_numerator >= 0', name=op.f('ck_partner_coin_rates_numerators_nonnegative')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_apps.id'], name=op.f('fk_partner_coin_rates_partner_id_partner_apps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_coin_rates')),
    sa.UniqueConstraint('partner_id', 'effective_from', name=op.f('uq_partner_coin_rates_partner_id_effective_from'))
    )
    with op.batch_alter_table('partner_coin_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_coin_rates_partner_id'), ['partner_id'], unique=False)

    op.create_table('commerce_splits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('platform_fee_bps', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('platform_fee_bps >= 0 AND platform_fee_bps <= 10000', name=op.f('ck_commerce_splits_platform_fee_range')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_commerce_splits_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commerce_splits'))
    )
    with op.batch_alter_table('commerce_splits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commerce_splits_series_id'), ['series_id'], unique=False)

    op.create_table('commerce_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('split_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('bps', sa.Integer(), nullable=False),
    sa.CheckConstraint('bps > 0 AND bps <= 10000', name=op.f('ck_commerce_shares_bps_range')),
    sa.ForeignKeyConstraint(['member_id'], ['team_members.id'], name=op.f('fk_commerce_shares_member_id_team_members')),
    sa.ForeignKeyConstraint(['split_id'], ['commerce_splits.id'], name=op.f('fk_commerce_shares_split_id_commerce_splits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commerce_shares')),
    sa.UniqueConstraint('split_id', 'member_id', name=op.f('uq_commerce_shares_split_id_member_id'))
    )
    with op.batch_alter_table('commerce_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commerce_shares_split_id'), ['split_id'], unique=False)



def downgrade():
    op.drop_index('ix_partner_events_attributed', table_name='partner_events')
    _kinds(OLD_KINDS)
    with op.batch_alter_table('commerce_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commerce_shares_split_id'))

    op.drop_table('commerce_shares')
    with op.batch_alter_table('commerce_splits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commerce_splits_series_id'))

    op.drop_table('commerce_splits')
    with op.batch_alter_table('partner_coin_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_coin_rates_partner_id'))

    op.drop_table('partner_coin_rates')
    with op.batch_alter_table('episode_views', schema=None) as batch_op:
        batch_op.drop_index('ix_episode_views_series_episode_day')
        batch_op.drop_index('ix_episode_views_series_day')

    op.drop_table('episode_views')
    op.drop_table('coin_positions')
