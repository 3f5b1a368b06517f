"""Statements read model: each allocation event's exact money per party (party_amounts), an
index of buckets by account (ledger_bucket_parties) and events by (bucket, effective time), and
the monthly rollup of events per statement line (ledger_statement_rollups).

Existing buckets and events are backfilled here (the event guards are lifted for the backfill
only: party_amounts is derived data, recomputed by the cumulative split written out below, as
the ledger's party_amounts computed it when this revision was written).

Revision ID: 0002_statements
Revises: 0001_initial
Create Date: 2026-11-21 11:09:12.984038

"""
import json
from datetime import UTC

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002_statements'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Amounts = sa.JSON().with_variant(postgresql.ARRAY(sa.BigInteger()), 'postgresql')


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
    sa.Column('party_amounts', Amounts, nullable=False),
    sa.CheckConstraint('events > 0', name=op.f('ck_ledger_statement_rollups_events_positive')),
    sa.PrimaryKeyConstraint('bucket_id', 'month', 'earning', 'line_key', name=op.f('pk_ledger_statement_rollups'))
    )
    # Plain ADD COLUMN / CREATE INDEX: no table rebuild, so SQLite's guard triggers stay.
    op.add_column('ledger_allocation_events', sa.Column('party_amounts', Amounts, nullable=True))
    op.create_index('ix_ledger_allocation_events_bucket_effective', 'ledger_allocation_events', ['bucket_id', 'effective_at'], unique=False)
    _backfill(op.get_bind())


# The tables as this revision knows them (its columns and types, not today's models).
_buckets = sa.table('ledger_allocation_buckets',
    sa.column('id', Id), sa.column('debit_account_id', Id), sa.column('parties', sa.JSON()))
_bucket_parties = sa.table('ledger_bucket_parties',
    sa.column('account_id', Id), sa.column('bucket_id', Id), sa.column('position', sa.Integer()))
_events = sa.table('ledger_allocation_events',
    sa.column('id', Id), sa.column('bucket_id', Id), sa.column('gross', sa.BigInteger()),
    sa.column('cumulative_before', sa.BigInteger()),
    sa.column('effective_at', sa.DateTime(timezone=True)), sa.column('attributes', sa.JSON()),
    sa.column('party_amounts', Amounts))
_rollups = sa.table('ledger_statement_rollups',
    sa.column('bucket_id', Id), sa.column('month', sa.DateTime(timezone=True)),
    sa.column('earning', sa.Boolean()), sa.column('line_key', sa.String()),
    sa.column('events', sa.BigInteger()), sa.column('gross', sa.BigInteger()),
    sa.column('party_amounts', Amounts))

DENOMINATOR = 10**12
"""The common denominator of a bucket's party weights."""

LINE_FIELDS = ('series_id', 'episode', 'partner_id', 'country', 'kind')
"""The event attributes a statement line is grouped by (missing ones are None)."""


def _backfill(bind):
    """Index existing buckets by account and store existing events' per-party money."""
    buckets = {
        row.id: (row.debit_account_id, [(int(a), int(w)) for a, w, _held in row.parties])
        for row in bind.execute(sa.select(_buckets.c.id, _buckets.c.debit_account_id,
                                          _buckets.c.parties))
    }
    if not buckets:
        return
    bind.execute(_bucket_parties.insert(), [
        {'account_id': account_id, 'bucket_id': bucket_id, 'position': position}
        for bucket_id, (debit, parties) in buckets.items()
        for position, account_id in [(-1, debit), *((i, a) for i, (a, _) in enumerate(parties))]
    ])
    rows = bind.execute(sa.select(
        _events.c.id, _events.c.bucket_id, _events.c.cumulative_before, _events.c.gross
    ).where(_events.c.party_amounts.is_(None))).all()
    if not rows:
        return
    _execute(DROP_GUARD_SQL)
    update = _events.update().where(_events.c.id == sa.bindparam('e_id')).values(
        party_amounts=sa.bindparam('e_amounts', type_=Amounts)
    )
    for start in range(0, len(rows), 5000):
        bind.execute(update, [
            {'e_id': event_id, 'e_amounts': _party_amounts(buckets[bucket_id][1], before, gross)}
            for event_id, bucket_id, before, gross in rows[start:start + 5000]
        ])
    _execute(GUARD_SQL)
    _backfill_rollups(bind)


def _party_amounts(parties, cumulative_before, gross):
    """One event's money per party, in the bucket's order of parties:
    target(before + gross) - target(before), over the parties ordered by account id."""
    ordered = sorted(parties)
    ids = [account_id for account_id, _ in ordered]
    weights = [weight for _, weight in ordered]
    if len(set(ids)) != len(ids) or min(weights) < 0 or sum(weights) != DENOMINATOR:
        raise ValueError(f'a bucket\'s parties are not a split: {parties}')
    before = _target(weights, cumulative_before)
    after = _target(weights, cumulative_before + gross)
    moved = {i: a - b for i, a, b in zip(ids, after, before, strict=True)}
    return [moved[account_id] for account_id, _ in parties]


def _target(weights, cumulative):
    """Each party's money at a cumulative gross: floors of its share, then one unit each to the
    largest remainders, ties to the earlier party."""
    shares = [cumulative * w // DENOMINATOR for w in weights]
    left = cumulative - sum(shares)
    remainders = [cumulative * w % DENOMINATOR for w in weights]
    for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
        shares[index] += 1
    return shares


def _backfill_rollups(bind):
    """Sum existing events per bucket, UTC month and statement line (as allocate_batch did);
    the rollup table is new, so each sum is one new row."""
    sums = {}
    for row in bind.execute(sa.select(
        _events.c.bucket_id, _events.c.gross, _events.c.effective_at, _events.c.attributes,
        _events.c.party_amounts,
    )):
        moment = row.effective_at  # SQLite returns naive UTC
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        month = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        attributes = row.attributes or {}
        line = json.dumps([attributes.get(name) for name in LINE_FIELDS], separators=(',', ':'))
        found = sums.get((row.bucket_id, month, row.gross > 0, line))
        if found is None:
            sums[row.bucket_id, month, row.gross > 0, line] = [1, row.gross, list(row.party_amounts)]
        else:
            found[0] += 1
            found[1] += row.gross
            found[2] = [a + b for a, b in zip(found[2], row.party_amounts, strict=True)]
    if not sums:
        return
    naive = bind.dialect.name == 'sqlite'  # SQLite stores naive UTC
    bind.execute(_rollups.insert(), [
        {'bucket_id': bucket_id, 'month': month.replace(tzinfo=None) if naive else month,
         'earning': earning, 'line_key': line, 'events': count, 'gross': total,
         'party_amounts': amounts}
        for (bucket_id, month, earning, line), (count, total, amounts)
        in sorted(sums.items(), key=lambda item: (item[0][0], item[0][1], item[0][3]))
    ])


def downgrade():
    op.drop_index('ix_ledger_allocation_events_bucket_effective', table_name='ledger_allocation_events')
    _execute(DROP_GUARD_SQL)
    with op.batch_alter_table('ledger_allocation_events', schema=None) as batch_op:
        batch_op.drop_column('party_amounts')
    _execute(GUARD_SQL)
    op.drop_table('ledger_bucket_parties')
    op.drop_table('ledger_statement_rollups')


def _execute(sql_by_dialect):
    """Run the statements written below for the connection's dialect."""
    bind = op.get_bind()
    if bind.dialect.name not in sql_by_dialect:
        raise NotImplementedError(f"no ledger guards for the {bind.dialect.name} dialect")
    for statement in sql_by_dialect[bind.dialect.name]:
        bind.execute(sa.text(statement))


# The guards' SQL as this revision drops and recreates them, written out (the same text as in
# 0001: a revision must not pick up later changes to ledger/guards.py).

_PG_REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed; the ledger is append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$
"""

_PG_QUEUE_CHECK = """
CREATE OR REPLACE FUNCTION ledger_queue_entry_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_entry_checks (entry_id)
    SELECT DISTINCT entry_id FROM new_rows ON CONFLICT DO NOTHING;
    INSERT INTO ledger_entry_checks (entry_id) VALUES (-txid_current()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$
"""

_PG_CHECK_ENTRIES = """
CREATE OR REPLACE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     WHERE q.entry_id > 0 AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.id = q.entry_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: postings or events name entry %, which does not exist',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT p.entry_id, p.currency, sum(p.amount) AS total INTO bad
      FROM ledger_postings p JOIN ledger_entry_checks q ON q.entry_id = p.entry_id
     GROUP BY p.entry_id, p.currency HAVING sum(p.amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % does not balance in % (off by % minor units)',
            bad.entry_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    SELECT p.entry_id INTO bad
      FROM ledger_postings p JOIN ledger_entry_checks q ON q.entry_id = p.entry_id
     WHERE NOT EXISTS (
        SELECT 1 FROM ledger_accounts a WHERE a.id = p.account_id AND a.currency = p.currency)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % posts to a missing account or in another currency',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT e.entry_id INTO bad
      FROM ledger_allocation_events e JOIN ledger_entry_checks q ON q.entry_id = e.entry_id
     WHERE NOT EXISTS (SELECT 1 FROM ledger_allocation_buckets b WHERE b.id = e.bucket_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % has allocation events of a missing bucket',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Rows of other transactions are invisible here until they commit, and every transaction
    -- empties its own queue before it does.
    DELETE FROM ledger_entry_checks WHERE entry_id > 0 OR entry_id = NEW.entry_id;
    RETURN NULL;
END $$
"""

GUARD_SQL = {
    "postgresql": [
        _PG_REFUSE_CHANGE,
        _PG_QUEUE_CHECK,
        _PG_CHECK_ENTRIES,
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON"
        " ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON"
        " ledger_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_allocation_events_append_only BEFORE UPDATE OR DELETE OR"
        " TRUNCATE ON ledger_allocation_events FOR EACH STATEMENT EXECUTE FUNCTION"
        " ledger_refuse_change()",
        "CREATE TRIGGER ledger_accounts_kept BEFORE DELETE OR TRUNCATE ON ledger_accounts FOR"
        " EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_allocation_buckets_kept BEFORE DELETE OR TRUNCATE ON"
        " ledger_allocation_buckets FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_postings_queue_check AFTER INSERT ON ledger_postings"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION"
        " ledger_queue_entry_check()",
        "CREATE TRIGGER ledger_allocation_events_queue_check AFTER INSERT ON"
        " ledger_allocation_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION ledger_queue_entry_check()",
        "CREATE CONSTRAINT TRIGGER ledger_entry_checks_run AFTER INSERT ON ledger_entry_checks"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.entry_id < 0) EXECUTE FUNCTION"
        " ledger_check_entries()",
    ],
    "sqlite": [
        "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT"
        " RAISE(ABORT, 'ledger: UPDATE on ledger_entries is not allowed; the ledger is"
        " append-only'); END",
        "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT"
        " RAISE(ABORT, 'ledger: DELETE on ledger_entries is not allowed; the ledger is"
        " append-only'); END",
        "CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings BEGIN"
        " SELECT RAISE(ABORT, 'ledger: UPDATE on ledger_postings is not allowed; the ledger is"
        " append-only'); END",
        "CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings BEGIN"
        " SELECT RAISE(ABORT, 'ledger: DELETE on ledger_postings is not allowed; the ledger is"
        " append-only'); END",
        "CREATE TRIGGER ledger_allocation_events_no_update BEFORE UPDATE ON"
        " ledger_allocation_events BEGIN SELECT RAISE(ABORT, 'ledger: UPDATE on"
        " ledger_allocation_events is not allowed; the ledger is append-only'); END",
        "CREATE TRIGGER ledger_allocation_events_no_delete BEFORE DELETE ON"
        " ledger_allocation_events BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on"
        " ledger_allocation_events is not allowed; the ledger is append-only'); END",
        "CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts BEGIN"
        " SELECT RAISE(ABORT, 'ledger: DELETE on ledger_accounts is not allowed'); END",
        "CREATE TRIGGER ledger_allocation_buckets_no_delete BEFORE DELETE ON"
        " ledger_allocation_buckets BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on"
        " ledger_allocation_buckets is not allowed'); END",
        "CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries WHEN EXISTS"
        " (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id GROUP BY currency HAVING"
        " sum(amount) <> 0) BEGIN SELECT RAISE(ABORT, 'ledger: entry does not balance in every"
        " currency'); END",
        "CREATE TRIGGER ledger_postings_sealed BEFORE INSERT ON ledger_postings WHEN EXISTS"
        " (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id) BEGIN SELECT RAISE(ABORT,"
        " 'ledger: entry is sealed; postings come before their entry'); END",
    ],
}

DROP_GUARD_SQL = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS ledger_entry_checks_run ON ledger_entry_checks",
        "DROP TRIGGER IF EXISTS ledger_postings_queue_check ON ledger_postings",
        "DROP TRIGGER IF EXISTS ledger_allocation_events_queue_check ON"
        " ledger_allocation_events",
        "DROP TRIGGER IF EXISTS ledger_accounts_kept ON ledger_accounts",
        "DROP TRIGGER IF EXISTS ledger_allocation_buckets_kept ON ledger_allocation_buckets",
        "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
        "DROP TRIGGER IF EXISTS ledger_postings_append_only ON ledger_postings",
        "DROP TRIGGER IF EXISTS ledger_allocation_events_append_only ON"
        " ledger_allocation_events",
        "DROP FUNCTION IF EXISTS ledger_check_entries()",
        "DROP FUNCTION IF EXISTS ledger_check_entry()",
        "DROP FUNCTION IF EXISTS ledger_queue_entry_check()",
        "DROP FUNCTION IF EXISTS ledger_refuse_change()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS ledger_entries_balanced",
        "DROP TRIGGER IF EXISTS ledger_postings_sealed",
        "DROP TRIGGER IF EXISTS ledger_entries_no_update",
        "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
        "DROP TRIGGER IF EXISTS ledger_postings_no_update",
        "DROP TRIGGER IF EXISTS ledger_postings_no_delete",
        "DROP TRIGGER IF EXISTS ledger_allocation_events_no_update",
        "DROP TRIGGER IF EXISTS ledger_allocation_events_no_delete",
        "DROP TRIGGER IF EXISTS ledger_accounts_no_delete",
        "DROP TRIGGER IF EXISTS ledger_allocation_buckets_no_delete",
    ],
}
