"""episode posters and page details (issue 21).

Reserved revision: no schema change yet.

Revision ID: 0022_episode_posters
Revises: 0021_partitions
"""

revision = '0022_episode_posters'
down_revision = '0021_partitions'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
