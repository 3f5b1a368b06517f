"""people's settings: time zone, language (issue 21).

Reserved revision: no schema change yet.

Revision ID: 0017_ux
Revises: 0016_revenue_types
"""

revision = '0017_ux'
down_revision = '0016_revenue_types'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
