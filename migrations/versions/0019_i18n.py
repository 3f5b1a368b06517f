"""languages and locales (issue 21).

Reserved revision: no schema change yet.

Revision ID: 0019_i18n
Revises: 0018_analytics_rollup
"""

revision = '0019_i18n'
down_revision = '0018_analytics_rollup'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
