"""free_episodes_changes: when a series' free episodes changed, and the number before.

Ingestion judged a late-reported unlock by today's free episodes: raising them refused unlocks
made while the episode was paid. Changes made before this migration are not known.

Revision ID: 0007_free_episodes_changes
Revises: 0006_listing_windows
"""

import sqlalchemy as sa
from alembic import op

revision = '0007_free_episodes_changes'
down_revision = '0006_listing_windows'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('free_episodes_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('free_before', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_free_episodes_changes_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_free_episodes_changes'))
    )
    with op.batch_alter_table('free_episodes_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_free_episodes_changes_series_id'), ['series_id'], unique=False)


def downgrade():
    with op.batch_alter_table('free_episodes_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_free_episodes_changes_series_id'))
    op.drop_table('free_episodes_changes')
