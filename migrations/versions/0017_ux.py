"""people's settings: time zone, language (issue 21).

users.time_zone: an IANA name ("Asia/Manila"), set from the browser when the account is created
and editable in the settings; every date a person reads is shown in it. users.language: "en",
"es" or NULL (the browser's Accept-Language decides). ADD COLUMN in place on both engines.

Revision ID: 0017_ux
Revises: 0016_revenue_types
"""

import sqlalchemy as sa
from alembic import op

revision = '0017_ux'
down_revision = '0016_revenue_types'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'users',
        sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False),
    )
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    for column in ('language', 'time_zone'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE users DROP COLUMN {column}')
        else:
            op.drop_column('users', column)
