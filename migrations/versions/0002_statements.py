"""Statements read model: each allocation event's exact money per party (party_amounts), an
index of buckets by account (ledger_bucket_parties) and events by (bucket, effective time), and
the monthly rollup of events per statement line (ledger_statement_rollups).

Existing buckets and events are backfilled here (the event guards are lifted for the backfill
only: party_amounts is derived data, recomputed with ledger.splits.party_amounts).

Revision ID: 0002_statements
Revises: 0001_initial
Create Date: 2026-11-21 11:09:12.984038

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import ledger.schema
from ledger.allocation.splits import parties_from_json, party_amounts

# revision identifiers, used by Alembic.
revision = '0002_statements'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('ledger_bucket_parties',
    sa.Column('account_id', Id, autoincrement=False, nullable=False),
    sa.Column('bucket_id', Id, autoincrement=False, nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.CheckConstraint('position >= -1', name=op.f('ck_ledger_bucket_parties_position_range')),
    sa.ForeignKeyConstraint(['bucket_id'], ['ledger_allocation_buckets.id'], name=op.f('fk_ledger_bucket_parties_bucket_id_ledger_allocation_buckets')),
    sa.PrimaryKeyConstraint('account_id', 'bucket_id', 'position', name=op.f('pk_ledger_bucket_parties'))
    )
    op.create_table('ledger_statement_rollups',
    sa.Column('bucket_id', Id, autoincrement=False, nullable=False),
    sa.Column('month', sa.DateTime(timezone=True), nullable=False),
    sa.Column('earning', sa.Boolean(), nullable=False),
    sa.Column('line_key', sa.String(length=400), nullable=False),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.Column('gross', sa.BigInteger(), nullable=False),
    sa.Column('party_amounts', sa.JSON().with_variant(postgresql.ARRAY(sa.BigInteger()), 'postgresql'), nullable=False),
    sa.CheckConstraint('events > 0', name=op.f('ck_ledger_statement_rollups_events_positive')),
    sa.PrimaryKeyConstraint('bucket_id', 'month', 'earning', 'line_key', name=op.f('pk_ledger_statement_rollups'))
    )
    # Plain ADD COLUMN / CREATE INDEX: no table rebuild, so SQLite's guard triggers stay.
    op.add_column('ledger_allocation_events', sa.Column('party_amounts', sa.JSON().with_variant(postgresql.ARRAY(sa.BigInteger()), 'postgresql'), nullable=True))
    op.create_index('ix_ledger_allocation_events_bucket_effective', 'ledger_allocation_events', ['bucket_id', 'effective_at'], unique=False)
    _backfill(op.get_bind())


def _backfill(bind):
    """Index existing buckets by account and store existing events' per-party money."""
    buckets = {
        row.id: (row.debit_account_id, parties_from_json(row.parties))
        for row in bind.execute(sa.text(
            'SELECT id, debit_account_id, parties FROM ledger_allocation_buckets'
        )).mappings()
    }
    if not buckets:
        return
    parties_table = ledger.schema.BucketParty.__table__
    bind.execute(parties_table.insert(), [
        {'account_id': account_id, 'bucket_id': bucket_id, 'position': position}
        for bucket_id, (debit, parties) in buckets.items()
        for position, account_id in [(-1, debit), *((i, p.account_id) for i, p in enumerate(parties))]
    ])
    events = ledger.schema.AllocationEventRow.__table__
    rows = bind.execute(sa.select(
        events.c.id, events.c.bucket_id, events.c.cumulative_before, events.c.gross
    ).where(events.c.party_amounts.is_(None))).all()
    if not rows:
        return
    ledger.schema.drop_database_guards(bind)
    update = events.update().where(events.c.id == sa.bindparam('e_id')).values(
        party_amounts=sa.bindparam('e_amounts', type_=events.c.party_amounts.type)
    )
    for start in range(0, len(rows), 5000):
        chunk = []
        for event_id, bucket_id, before, gross in rows[start:start + 5000]:
            parties = buckets[bucket_id][1]
            amounts = party_amounts(parties, before, gross)
            chunk.append({'e_id': event_id, 'e_amounts': [amounts[p.account_id] for p in parties]})
        bind.execute(update, chunk)
    ledger.schema.create_database_guards(bind)
    _backfill_rollups(bind)


def _backfill_rollups(bind):
    """Sum existing events per bucket, month and statement line (as allocate_batch does)."""
    from types import SimpleNamespace

    from ledger.rollups import add_event, write_rollups
    from sqlalchemy.orm import Session

    events = ledger.schema.AllocationEventRow.__table__
    deltas = {}
    for row in bind.execute(sa.select(
        events.c.bucket_id, events.c.gross, events.c.effective_at, events.c.attributes,
        events.c.party_amounts,
    )):
        event = SimpleNamespace(gross=row.gross, effective_at=row.effective_at,
                                attributes=row.attributes or {})
        add_event(deltas, row.bucket_id, event, list(row.party_amounts))
    write_rollups(Session(bind=bind), deltas)


def downgrade():
    op.drop_index('ix_ledger_allocation_events_bucket_effective', table_name='ledger_allocation_events')
    ledger.schema.drop_database_guards(op.get_bind())
    with op.batch_alter_table('ledger_allocation_events', schema=None) as batch_op:
        batch_op.drop_column('party_amounts')
    ledger.schema.create_database_guards(op.get_bind())
    op.drop_table('ledger_bucket_parties')
    op.drop_table('ledger_statement_rollups')
