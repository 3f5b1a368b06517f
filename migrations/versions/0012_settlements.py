"""partner settlement: contracts, statements, remittances, aging (issue 15).

Reserved revision: no schema change yet.

Revision ID: 0012_settlements
Revises: 0011_deal_terms
"""

revision = '0012_settlements'
down_revision = '0011_deal_terms'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
