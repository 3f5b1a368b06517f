"""listing_windows: a listing's earlier live windows, kept when it goes live again.

Relisting a withdrawn series overwrote the listing's live_at and withdrawn_at, so unlocks and
revenue pools from the first live window, reported after the relisting, were refused as
series_not_live. Listings relisted before this migration have lost that window already.

Revision ID: 0006_listing_windows
Revises: 0005_partial_refund_index
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_listing_windows'
down_revision = '0005_partial_refund_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('listing_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('live_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('live_at < withdrawn_at', name=op.f('ck_listing_windows_window_ordered')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_windows_listing_id_listings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_windows'))
    )
    with op.batch_alter_table('listing_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_windows_listing_id'), ['listing_id'], unique=False)


def downgrade():
    with op.batch_alter_table('listing_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_windows_listing_id'))
    op.drop_table('listing_windows')
