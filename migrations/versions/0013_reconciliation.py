"""partner reports reconciled line by line, disputes (issue 15).

Reserved revision: no schema change yet.

Revision ID: 0013_reconciliation
Revises: 0012_settlements
"""

revision = '0013_reconciliation'
down_revision = '0012_settlements'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
