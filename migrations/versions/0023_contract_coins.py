"""coin values in partner contracts, refunds of every revenue kind (issue 18).

Reserved revision: no schema change yet.

Revision ID: 0023_contract_coins
Revises: 0022_episode_posters
"""

revision = '0023_contract_coins'
down_revision = '0022_episode_posters'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
