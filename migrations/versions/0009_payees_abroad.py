"""payees_abroad: payees' tax profiles (TINs encrypted), payout accounts in any country,
payout lines' withholding and currency conversion, mail retries, dead letters and opt-outs.

Revision ID: 0009_payees_abroad
Revises: 0008_ledger_runs
"""

import sqlalchemy as sa
from alembic import op

revision = '0009_payees_abroad'
down_revision = '0008_ledger_runs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tax_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=8), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('tin_type', sa.String(length=8), nullable=False),
    sa.Column('tin_encrypted', sa.Text(), nullable=False),
    sa.Column('tin_last4', sa.String(length=4), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('address_country', sa.String(length=2), nullable=False),
    sa.Column('residence_country', sa.String(length=2), nullable=False),
    sa.Column('treaty_country', sa.String(length=2), nullable=True),
    sa.Column('treaty_article', sa.String(length=60), nullable=True),
    sa.Column('treaty_rate_bps', sa.Integer(), nullable=True),
    sa.Column('certified', sa.Boolean(), nullable=False),
    sa.Column('signed_name', sa.String(length=200), nullable=False),
    sa.Column('certified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("form IN ('W-9', 'W-8BEN')", name=op.f('ck_tax_profiles_form_known')),
    sa.CheckConstraint("tin_type IN ('SSN', 'EIN', 'ITIN', 'FOREIGN')", name=op.f('ck_tax_profiles_tin_type_known')),
    sa.CheckConstraint('treaty_rate_bps IS NULL OR (treaty_rate_bps >= 0 AND treaty_rate_bps <= 10000)', name=op.f('ck_tax_profiles_treaty_rate_range')),
    sa.CheckConstraint('length(tin_last4) <= 4', name=op.f('ck_tax_profiles_tin_last4_short')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tax_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_tax_profiles_user_id'))
    )
    op.create_table('mail_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_opt_outs')),
    sa.UniqueConstraint('address', 'kind', name=op.f('uq_mail_opt_outs_address_kind'))
    )
    with op.batch_alter_table('mail_opt_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_opt_outs_address'), ['address'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='queued', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_messages_dedupe_key'), ['dedupe_key'])
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)
    op.execute("UPDATE outbox_messages SET status = 'sent' WHERE sent_at IS NOT NULL")

    with op.batch_alter_table('payout_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), server_default='US', nullable=False))
        batch_op.add_column(sa.Column('default_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('bank_currencies', sa.JSON(), server_default='[]', nullable=False))
        batch_op.alter_column('stripe_account_id', existing_type=sa.String(length=64), nullable=True)

    with op.batch_alter_table('payout_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withheld', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('withholding_bps', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('payout_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('payout_amount', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('exchange_rate', sa.String(length=32), nullable=True))
        batch_op.create_check_constraint(op.f('ck_payout_lines_withheld_not_negative'), 'withheld >= 0')


def downgrade():
    with op.batch_alter_table('payout_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payout_lines_withheld_not_negative'), type_='check')
        batch_op.drop_column('exchange_rate')
        batch_op.drop_column('payout_amount')
        batch_op.drop_column('payout_currency')
        batch_op.drop_column('withholding_bps')
        batch_op.drop_column('withheld')

    # Accounts opened where Stripe Connect cannot reach have no Stripe account: gone with it.
    op.execute('DELETE FROM payout_accounts WHERE stripe_account_id IS NULL')
    with op.batch_alter_table('payout_accounts', schema=None) as batch_op:
        batch_op.alter_column('stripe_account_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('bank_currencies')
        batch_op.drop_column('default_currency')
        batch_op.drop_column('country')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_due')
        batch_op.drop_constraint(batch_op.f('uq_outbox_messages_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('status')

    with op.batch_alter_table('mail_opt_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_opt_outs_address'))
    op.drop_table('mail_opt_outs')
    op.drop_table('tax_profiles')
