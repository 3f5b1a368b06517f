"""settlement gaps (issue 15).

Reserved revision: no schema change yet.

Revision ID: 0020_settlements_more
Revises: 0019_i18n
"""

revision = '0020_settlements_more'
down_revision = '0019_i18n'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
