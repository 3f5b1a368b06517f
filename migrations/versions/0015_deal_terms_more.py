"""flat fees, guarantees, remake royalties (issue 17).

Reserved revision: no schema change yet.

Revision ID: 0015_deal_terms_more
Revises: 0014_ingest_plans
"""

revision = '0015_deal_terms_more'
down_revision = '0014_ingest_plans'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
