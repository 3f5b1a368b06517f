"""Ledger runs: the ledger keeps no row per event. An allocation entry's events live in one
ledger_allocation_runs row (arrays of refs, grosses, times, line keys and per-party money);
ledger_statement_days sums them per UTC day beside the monthly rollup; partner_events gains what
the ledger poster needs (split_version_id, available_at, txid) and ingest_poster_cursors says
how far it has posted.

Existing allocation events become runs (one per entry, in their order); their refs are the
partner event rows they came from (unlock:P:ID, refund:P:ID, pool:P:ID:SERIES), else the old
event row's id. Refunds posted before this revision gave back the cumulative split's step, so
they become plain negative events (reverses 0), which is what they were. Existing partner
events are posted already: the cursors start after them.

Revision ID: 0008_ledger_runs
Revises: 0007_free_episodes_changes
"""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008_ledger_runs'
down_revision = '0007_free_episodes_changes'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Amounts = sa.JSON().with_variant(postgresql.ARRAY(sa.BigInteger()), 'postgresql')
Texts = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql')
SHARDS = 4
LINE_FIELDS = ('series_id', 'episode', 'partner_id', 'country', 'kind')

PG_CHECK_ENTRIES = """CREATE OR REPLACE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (SELECT count(*) AS n FROM ledger_entries e WHERE e.id = q.entry_id) x
     WHERE q.entry_id > 0 AND x.n = 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: postings or events name entry %, which does not exist',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT q.entry_id, s.currency, s.total, s.strays INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (
        SELECT p.currency, sum(p.amount) AS total, count(*) FILTER (WHERE a.n = 0) AS strays
          FROM ledger_postings p
         CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM ledger_accounts a
             WHERE a.id = p.account_id AND a.currency = p.currency) a
         WHERE p.entry_id = q.entry_id GROUP BY p.currency) s
     WHERE q.entry_id > 0 AND (s.total <> 0 OR s.strays > 0)
     LIMIT 1;
    IF FOUND AND bad.total <> 0 THEN
        RAISE EXCEPTION 'ledger: entry % does not balance in % (off by % minor units)',
            bad.entry_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % posts to a missing account or in another currency',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT q.entry_id INTO bad FROM ledger_entry_checks q
     CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE b.n = 0) AS n
          FROM (SELECT DISTINCT e.bucket_id FROM ledger_allocation_runs e
                 WHERE e.entry_id = q.entry_id) e
         CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM ledger_allocation_buckets b WHERE b.id = e.bucket_id) b) x
     WHERE q.entry_id > 0 AND x.n > 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % has an allocation run of a missing bucket',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Rows of other transactions are invisible here until they commit, and every transaction
    -- empties its own queue before it does.
    DELETE FROM ledger_entry_checks WHERE entry_id > 0 OR entry_id = NEW.entry_id;
    RETURN NULL;
END $$"""

PG_UP = [
    "DROP TRIGGER IF EXISTS ledger_allocation_events_append_only ON ledger_allocation_events",
    "DROP TRIGGER IF EXISTS ledger_allocation_events_queue_check ON ledger_allocation_events",
]
PG_GUARDS = [
    "CREATE TRIGGER ledger_allocation_runs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
    " ON ledger_allocation_runs FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER ledger_allocation_runs_queue_check AFTER INSERT ON ledger_allocation_runs"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ledger_queue_entry_check()",
    PG_CHECK_ENTRIES,
]
SQLITE_UP = [
    "DROP TRIGGER IF EXISTS ledger_allocation_events_no_update",
    "DROP TRIGGER IF EXISTS ledger_allocation_events_no_delete",
]
SQLITE_GUARDS = [
    "CREATE TRIGGER ledger_allocation_runs_no_update BEFORE UPDATE ON ledger_allocation_runs"
    " BEGIN SELECT RAISE(ABORT, 'ledger: UPDATE on ledger_allocation_runs is not allowed;"
    " the ledger is append-only'); END",
    "CREATE TRIGGER ledger_allocation_runs_no_delete BEFORE DELETE ON ledger_allocation_runs"
    " BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on ledger_allocation_runs is not allowed;"
    " the ledger is append-only'); END",
]


def _execute(statements):
    for statement in statements:
        op.execute(sa.text(statement))


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    _execute(PG_UP if postgres else SQLITE_UP)
    op.create_table('ledger_allocation_runs',
    sa.Column('id', Id, nullable=False),
    sa.Column('bucket_id', Id, nullable=False),
    sa.Column('entry_id', Id, nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cumulative_from', sa.BigInteger(), nullable=False),
    sa.Column('allocated_from', Amounts, nullable=False),
    sa.Column('refs', Amounts, nullable=False),
    sa.Column('grosses', Amounts, nullable=False),
    sa.Column('offsets', Amounts, nullable=False),
    sa.Column('line_keys', Texts, nullable=False),
    sa.Column('party_amounts', Amounts, nullable=False),
    sa.Column('reverses', Amounts, nullable=False),
    sa.Column('rounding', Amounts, nullable=False),
    sa.Column('min_ref', sa.BigInteger(), nullable=False),
    sa.Column('max_ref', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['bucket_id'], ['ledger_allocation_buckets.id'], name=op.f('fk_ledger_allocation_runs_bucket_id_ledger_allocation_buckets')).ddl_if(dialect="sqlite"),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_allocation_runs_entry_id_ledger_entries')).ddl_if(dialect="sqlite"),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_allocation_runs')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_ledger_allocation_runs_entry_id'))
    )
    op.create_index('ix_ledger_allocation_runs_bucket_hour', 'ledger_allocation_runs', ['bucket_id', 'hour'], unique=False)
    op.create_index('ix_ledger_allocation_runs_bucket_max_ref', 'ledger_allocation_runs', ['bucket_id', 'max_ref'], unique=False)
    op.create_table('ledger_statement_days',
    sa.Column('bucket_id', Id, autoincrement=False, nullable=False),
    sa.Column('day', sa.DateTime(timezone=True), nullable=False),
    sa.Column('earning', sa.Boolean(), nullable=False),
    sa.Column('line_key', sa.String(length=400), nullable=False),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.Column('gross', sa.BigInteger(), nullable=False),
    sa.Column('party_amounts', Amounts, nullable=False),
    sa.CheckConstraint('events > 0', name=op.f('ck_ledger_statement_days_events_positive')),
    sa.PrimaryKeyConstraint('bucket_id', 'day', 'earning', 'line_key', name=op.f('pk_ledger_statement_days'))
    )
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('split_version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('available_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('txid', sa.BigInteger(), nullable=True))
    op.create_table('ingest_poster_cursors',
    sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('txid', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('through', sa.DateTime(timezone=True), nullable=True),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shard', name=op.f('pk_ingest_poster_cursors'))
    )
    if postgres:
        # Each new event carries its transaction's id; rows accepted before stay NULL (posted).
        op.execute("ALTER TABLE partner_events ALTER COLUMN txid"
                   " SET DEFAULT (pg_current_xact_id()::text::bigint)")
        op.create_index('ix_partner_events_txid_id', 'partner_events', ['txid', 'id'], unique=False)
    _backfill(postgres)
    _execute(PG_GUARDS if postgres else SQLITE_GUARDS)
    with op.batch_alter_table('ledger_allocation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_allocation_events_entry_id'))
    op.drop_index('ix_ledger_allocation_events_bucket_effective', table_name='ledger_allocation_events')
    op.drop_table('ledger_allocation_events')


def _aware(moment):
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _ref_of(source_key, row_id, events):
    """The partner event row an old allocation event came from, else its own row id."""
    parts = source_key.split(':')
    if len(parts) >= 3 and parts[0] in ('unlock', 'refund', 'pool') and parts[1].isdigit():
        found = events.get((int(parts[1]), parts[2]))
        if found is not None:
            return found
    return row_id


def _backfill(postgres):
    bind = op.get_bind()
    events = {
        (partner_id, external_id): row_id
        for row_id, partner_id, external_id in bind.execute(
            sa.text('SELECT id, partner_id, external_id FROM partner_events'))
    }
    runs, days = {}, {}
    for (row_id, key, bucket_id, entry_id, gross, before, effective, available, attributes,
         amounts) in bind.execute(sa.text(
            'SELECT id, source_key, bucket_id, entry_id, gross, cumulative_before, effective_at,'
            ' available_at, attributes, party_amounts FROM ledger_allocation_events'
            ' ORDER BY bucket_id, cumulative_before, id')):
        effective, available = _aware(effective), _aware(available)
        attributes, amounts = _json(attributes), [int(a) for a in _json(amounts)]
        run = runs.get(entry_id)
        if run is None:
            hour = effective.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            run = runs[entry_id] = {
                'bucket_id': bucket_id, 'entry_id': entry_id, 'hour': hour,
                'available_at': available, 'cumulative_from': before, 'refs': [],
                'grosses': [], 'offsets': [], 'line_keys': [], 'party_amounts': [],
                'reverses': [],
            }
        line = json.dumps([attributes.get(name) for name in LINE_FIELDS], separators=(',', ':'))
        run['refs'].append(_ref_of(key, row_id, events))
        run['grosses'].append(gross)
        run['offsets'].append((effective - run['hour']) // timedelta(microseconds=1))
        run['line_keys'].append(line)
        run['party_amounts'].extend(amounts)
        run['reverses'].append(0)
        day = effective.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        found = days.get((bucket_id, day, gross > 0, line))
        if found is None:
            days[bucket_id, day, gross > 0, line] = [1, gross, amounts]
        else:
            found[0] += 1
            found[1] += gross
            found[2] = [a + b for a, b in zip(found[2], amounts)]
    _write_runs(bind, list(runs.values()))
    _write_days(bind, days)
    _start_cursors(bind, postgres)


def _target(weights, cumulative):
    """The ledger's largest remainder over weights summing to 10**12 (ties to the earlier)."""
    denominator = 10**12
    shares = [cumulative * w // denominator for w in weights]
    left = cumulative - sum(shares)
    if left:
        remainders = [cumulative * w % denominator for w in weights]
        order = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
        for index in order[:left]:
            shares[index] += 1
    return shares


def _write_runs(bind, runs):
    # Before this revision every event paid the cumulative split's step, so what a bucket had
    # allocated before a run is target(cumulative_from).
    parties = {
        bucket_id: _json(p)
        for bucket_id, p in bind.execute(sa.text('SELECT id, parties FROM ledger_allocation_buckets'))
    }
    typed = sa.table('ledger_allocation_runs',
        sa.column('bucket_id'), sa.column('entry_id'), sa.column('hour', sa.DateTime(timezone=True)),
        sa.column('available_at', sa.DateTime(timezone=True)), sa.column('cumulative_from'),
        sa.column('allocated_from', Amounts), sa.column('refs', Amounts),
        sa.column('grosses', Amounts), sa.column('offsets', Amounts),
        sa.column('line_keys', Texts), sa.column('party_amounts', Amounts),
        sa.column('reverses', Amounts), sa.column('rounding', Amounts), sa.column('min_ref'),
        sa.column('max_ref'))
    records = []
    for run in sorted(runs, key=lambda r: (r['bucket_id'], r['cumulative_from'], r['entry_id'])):
        weights = [int(w) for _, w, _ in parties[run['bucket_id']]]
        records.append({**run, 'allocated_from': _target(weights, run['cumulative_from']),
                        'rounding': [0] * len(weights),
                        'min_ref': min(run['refs']), 'max_ref': max(run['refs'])})
    if records:
        bind.execute(typed.insert(), records)


def _write_days(bind, days):
    typed = sa.table('ledger_statement_days',
        sa.column('bucket_id'), sa.column('day', sa.DateTime(timezone=True)),
        sa.column('earning'), sa.column('line_key'), sa.column('events'), sa.column('gross'),
        sa.column('party_amounts', Amounts))
    records = [
        {'bucket_id': b, 'day': d, 'earning': e, 'line_key': k, 'events': c, 'gross': g,
         'party_amounts': p}
        for (b, d, e, k), (c, g, p) in sorted(days.items())
    ]
    if records:
        bind.execute(typed.insert(), records)


def _start_cursors(bind, postgres):
    last = bind.execute(sa.text('SELECT max(id) FROM partner_events')).scalar() or 0
    typed = sa.table('ingest_poster_cursors', sa.column('shard'), sa.column('txid'),
        sa.column('event_id'), sa.column('events'),
        sa.column('updated_at', sa.DateTime(timezone=True)))
    # PostgreSQL orders new events by (txid, id), and the old ones have no txid; SQLite by id.
    bind.execute(typed.insert(), [
        {'shard': shard, 'txid': 0, 'event_id': 0 if postgres else last, 'events': 0,
         'updated_at': datetime.now(UTC)}
        for shard in range(SHARDS)
    ])


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text('SELECT count(*) FROM ledger_allocation_runs')).scalar():
        raise RuntimeError(
            'ledger_allocation_runs holds posted events: downgrading past 0008_ledger_runs would'
            ' lose them (restore a backup taken before the upgrade instead)')
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        _execute([
            "DROP TRIGGER IF EXISTS ledger_allocation_runs_append_only ON ledger_allocation_runs",
            "DROP TRIGGER IF EXISTS ledger_allocation_runs_queue_check ON ledger_allocation_runs",
        ])
    else:
        _execute(["DROP TRIGGER IF EXISTS ledger_allocation_runs_no_update",
                  "DROP TRIGGER IF EXISTS ledger_allocation_runs_no_delete"])
    op.create_table('ledger_allocation_events',
    sa.Column('id', Id, nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('bucket_id', Id, nullable=False),
    sa.Column('entry_id', Id, nullable=False),
    sa.Column('gross', sa.BigInteger(), nullable=False),
    sa.Column('cumulative_before', sa.BigInteger(), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('party_amounts', Amounts, nullable=True),
    sa.CheckConstraint('gross <> 0', name=op.f('ck_ledger_allocation_events_nonzero')),
    sa.ForeignKeyConstraint(['bucket_id'], ['ledger_allocation_buckets.id'], name=op.f('fk_ledger_allocation_events_bucket_id_ledger_allocation_buckets')).ddl_if(dialect="sqlite"),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_allocation_events_entry_id_ledger_entries')).ddl_if(dialect="sqlite"),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_allocation_events')),
    sa.UniqueConstraint('source_key', name=op.f('uq_ledger_allocation_events_source_key'))
    )
    with op.batch_alter_table('ledger_allocation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_allocation_events_entry_id'), ['entry_id'], unique=False)
    op.create_index('ix_ledger_allocation_events_bucket_effective', 'ledger_allocation_events', ['bucket_id', 'effective_at'], unique=False)
    if postgres:
        _execute([
            "CREATE TRIGGER ledger_allocation_events_append_only BEFORE UPDATE OR DELETE OR"
            " TRUNCATE ON ledger_allocation_events FOR EACH STATEMENT"
            " EXECUTE FUNCTION ledger_refuse_change()",
            "CREATE TRIGGER ledger_allocation_events_queue_check AFTER INSERT ON"
            " ledger_allocation_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION ledger_queue_entry_check()",
            PG_CHECK_ENTRIES.replace('ledger_allocation_runs', 'ledger_allocation_events')
            .replace('has an allocation run of a missing bucket',
                     'has allocation events of a missing bucket'),
        ])
        op.drop_index('ix_partner_events_txid_id', table_name='partner_events')
    else:
        _execute([
            "CREATE TRIGGER ledger_allocation_events_no_update BEFORE UPDATE ON"
            " ledger_allocation_events BEGIN SELECT RAISE(ABORT, 'ledger: UPDATE on"
            " ledger_allocation_events is not allowed; the ledger is append-only'); END",
            "CREATE TRIGGER ledger_allocation_events_no_delete BEFORE DELETE ON"
            " ledger_allocation_events BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on"
            " ledger_allocation_events is not allowed; the ledger is append-only'); END",
        ])
    op.drop_table('ingest_poster_cursors')
    with op.batch_alter_table('partner_events', schema=None) as batch_op:
        batch_op.drop_column('txid')
        batch_op.drop_column('available_at')
        batch_op.drop_column('split_version_id')
    op.drop_table('ledger_statement_days')
    op.drop_index('ix_ledger_allocation_runs_bucket_max_ref', table_name='ledger_allocation_runs')
    op.drop_index('ix_ledger_allocation_runs_bucket_hour', table_name='ledger_allocation_runs')
    op.drop_table('ledger_allocation_runs')
