"""analytics rollups (issue 18).

episode_view_days: the views of an episode on a partner app per UTC day, every country
together, kept by the views ingestion next to episode_views (the analytics page reads it unless
a country is chosen). series_revenue_days: a series' money per UTC day, episode, partner app,
kind and currency, every country together, added by the ledger poster's post_revenue with the
entries it sums (what the page reads unless a country is chosen). Both backfilled here, from
episode_views and from the ledger's daily statement rollups of the series' buckets. episode_views' two series indexes give
way to one on (series_id, country, day), what the country filter reads. partner_events gets a
partial index on coin unlocks (series_id, occurred_at): the coins behind statements.

Revision ID: 0018_analytics_rollup
Revises: 0017_ux
"""

import sqlalchemy as sa
from alembic import op

revision = '0018_analytics_rollup'
down_revision = '0017_ux'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'episode_view_days',
        sa.Column('series_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('episode', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('partner_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('starts', sa.BigInteger(), nullable=False),
        sa.Column('completions', sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            'starts >= 0 AND completions >= 0',
            name=op.f('ck_episode_view_days_counts_nonnegative'),
        ),
        sa.PrimaryKeyConstraint(
            'series_id', 'day', 'episode', 'partner_id', name=op.f('pk_episode_view_days'),
            postgresql_include=['starts', 'completions'],
        ),
    )
    op.execute(
        'INSERT INTO episode_view_days'
        ' (series_id, day, episode, partner_id, starts, completions)'
        ' SELECT series_id, day, episode, partner_id, sum(starts), sum(completions)'
        ' FROM episode_views GROUP BY series_id, day, episode, partner_id'
    )
    op.create_table(
        'series_revenue_days',
        sa.Column('series_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('episode', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('partner_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('events', sa.BigInteger(), nullable=False),
        sa.Column('gross', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            'series_id', 'day', 'episode', 'partner_id', 'kind', 'currency',
            name=op.f('pk_series_revenue_days'), postgresql_include=['events', 'gross'],
        ),
    )
    _backfill_revenue_days()
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_partner_events_coins', ['series_id', 'occurred_at'], unique=False,
            postgresql_where=sa.text("kind = 'coins'"), sqlite_where=sa.text("kind = 'coins'"),
        )
    with op.batch_alter_table('episode_views', schema=None) as batch_op:
        batch_op.drop_index('ix_episode_views_series_episode_day')
        batch_op.drop_index('ix_episode_views_series_day')
        batch_op.create_index(
            'ix_episode_views_series_country_day', ['series_id', 'country', 'day'],
            unique=False, postgresql_include=['episode', 'partner_id', 'starts', 'completions'],
        )


def downgrade():
    with op.batch_alter_table('episode_views', schema=None) as batch_op:
        batch_op.drop_index('ix_episode_views_series_country_day')
        batch_op.create_index(
            'ix_episode_views_series_day', ['series_id', 'day'], unique=False,
            postgresql_include=['episode', 'partner_id', 'country', 'starts', 'completions'],
        )
        batch_op.create_index(
            'ix_episode_views_series_episode_day', ['series_id', 'episode', 'day'], unique=False,
            postgresql_include=['partner_id', 'country', 'starts', 'completions'],
        )
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_events_coins')
    op.drop_table('series_revenue_days')
    op.drop_table('episode_view_days')


def _backfill_revenue_days():
    """From the daily statement rollups: their line key is a JSON list (series_id, episode,
    partner_id, country, kind); a refund line's events count negative; no rounding lines."""
    if op.get_bind().dialect.name == 'postgresql':
        field = "CAST(r.line_key AS json) ->> {}"
        day = "CAST(r.day AT TIME ZONE 'UTC' AS date)"
    else:
        field = "json_extract(r.line_key, '$[{}]')"
        day = "date(r.day)"
    series, episode, partner, kind = (field.format(i) for i in (0, 1, 2, 4))
    op.execute(
        'INSERT INTO series_revenue_days'
        ' (series_id, day, episode, partner_id, kind, currency, events, gross)'
        f' SELECT CAST({series} AS integer), {day}, coalesce(CAST({episode} AS integer), 0),'
        f' CAST({partner} AS integer), {kind}, b.currency,'
        ' sum(CASE WHEN r.earning THEN r.events ELSE -r.events END), sum(r.gross)'
        ' FROM ledger_statement_days AS r'
        ' JOIN ledger_allocation_buckets AS b ON b.id = r.bucket_id'
        f" WHERE {series} IS NOT NULL AND {partner} IS NOT NULL AND {kind} <> 'rounding'"
        ' GROUP BY 1, 2, 3, 4, 5, 6'
    )
