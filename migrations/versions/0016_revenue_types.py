"""coins, bundles, purchases, views (issue 18).

Reserved revision: no schema change yet.

Revision ID: 0016_revenue_types
Revises: 0015_deal_terms_more
"""

revision = '0016_revenue_types'
down_revision = '0015_deal_terms_more'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
