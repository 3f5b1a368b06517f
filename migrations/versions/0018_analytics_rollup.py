"""analytics rollups (issue 18).

Reserved revision: no schema change yet.

Revision ID: 0018_analytics_rollup
Revises: 0017_ux
"""

revision = '0018_analytics_rollup'
down_revision = '0017_ux'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
