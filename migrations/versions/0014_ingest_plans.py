"""ingestion and poster (issue 19).

Reserved revision: no schema change yet.

Revision ID: 0014_ingest_plans
Revises: 0013_reconciliation
"""

revision = '0014_ingest_plans'
down_revision = '0013_reconciliation'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
