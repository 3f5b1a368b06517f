"""monthly partitions (issue 19).

Reserved revision: no schema change yet.

Revision ID: 0021_partitions
Revises: 0020_settlements_more
"""

revision = '0021_partitions'
down_revision = '0020_settlements_more'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
