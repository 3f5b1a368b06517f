"""hardening: server-side sessions, sign-up requests, partner apps' legacy (v1) signatures.

- user_sessions: one row per logged-in browser session (log out ends it on the server).
- signup_requests: sign-ups waiting for their emailed link (the account is created then).
- episodes.media_width, media_height: an upload's picture size, read by ffprobe.
- partner_apps.legacy_signatures: v1 signatures (timestamp and body only) are accepted only for
  apps flagged legacy. Apps that exist now signed v1 until today: they are flagged, so nobody
  breaks; apps created from now on sign v2.

Revision ID: 0010_hardening
Revises: 0009_payees_abroad
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_hardening'
down_revision = '0009_payees_abroad'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('signup_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('next_path', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('creator', 'participant')", name=op.f('ck_signup_requests_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signup_requests'))
    )
    with op.batch_alter_table('signup_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signup_requests_email'), ['email'], unique=False)

    # An upload's picture size, as ffprobe reads it (NULL for links and older uploads).
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('media_height', sa.Integer(), nullable=True))

    # Existing apps keep v1 (legacy); the column's default for new rows is false.
    with op.batch_alter_table('partner_apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legacy_signatures', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute(sa.text("UPDATE partner_apps SET legacy_signatures = :yes").bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('partner_apps', schema=None) as batch_op:
        batch_op.drop_column('legacy_signatures')
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.drop_column('media_height')
        batch_op.drop_column('media_width')
    with op.batch_alter_table('signup_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signup_requests_email'))
    op.drop_table('signup_requests')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
