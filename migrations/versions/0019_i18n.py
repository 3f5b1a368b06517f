"""languages and locales (issue 21).

users.language came with 0017_ux (NULL: the browser's Accept-Language decides). The site now
speaks English and Spanish (translations/<code>/): a language it does not speak is cleared, so
the browser decides again, and the column is refused anything but a known code or NULL. Adding
a language means a revision widening the check (README: Translations).

Revision ID: 0019_i18n
Revises: 0018_analytics_rollup
"""

from alembic import op

revision = '0019_i18n'
down_revision = '0018_analytics_rollup'
branch_labels = None
depends_on = None

KNOWN = "language IS NULL OR language IN ('en', 'es')"


def upgrade():
    op.execute(f"UPDATE users SET language = NULL WHERE NOT ({KNOWN})")
    with op.batch_alter_table('users') as batch:
        batch.create_check_constraint('language_known', KNOWN)


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('language_known', type_='check')
