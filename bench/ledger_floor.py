"""Measure the PostgreSQL-only floor of the writes an ingestion batch of 1,000 unlocks needs.

No ledger code runs and no row is formatted while timing: every batch's COPY bytes and array
parameters are built in advance; then each scenario runs N batches (one transaction and commit
each) and times only the statements and the commit, on plain tables shaped like the ledger's
(same columns, primary keys and unique indexes; no triggers, no foreign keys) in a schema of
its own (floor_<pid>), dropped at the end, in DATABASE_URL or, by default, in a database of its
own (bench/scratch.py), dropped too. Scenarios, per batch:

    trace                        COPY 1,000 narrow per-unlock trace rows
    aggregate                    lock 400 balance rows FOR UPDATE (id order), COPY 100 entries
                                 and 700 postings, UPDATE 400 balances and 100 buckets FROM unnest
    aggregate+trace              both, in one transaction
    aggregate+trace+rollup       + upsert 1,000 statement rollup rows (ledger/rollups.py's SQL)
    aggregate+two traces+rollup  + COPY 1,000 partner_events rows: what the end-to-end API writes
    poster                       aggregate + rollup: what the ledger poster writes per 1,000

The budget is 20 ms a batch (50,000 unlocks/s at 1,000 a batch). Prints, per scenario, the
median / mean / p95 ms per batch, 1000 / mean as unlocks/s, and the mean ms of each statement
(with --json, also one JSON line at the end).

    .venv/bin/python bench/ledger_floor.py [DATABASE_URL] [--batches N] [--json]
    .venv/bin/python bench/ledger_floor.py --parts [--requests N] [--json]

--parts: where each millisecond of 1,000 unlocks goes through the real code (HTTP and HMAC,
decode and validate, the service, the event-log COPY, the request's commit, the poster's
Python, SQL and commit), each against its floor, measured in the same run (bench/batch_parts.py;
the poster's SQL floor is the "poster" scenario above, run first).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from scratch import own_database, psycopg_url

COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "MX", "KR", "ID"]
START = datetime(2025, 1, 1, tzinfo=UTC)
MONTH = "2025-01-01 00:00:00+00"
STEP = timedelta(hours=1) / 1_400  # ~1M unlocks over 30 days, as bench/ledger_post.py
BUDGET_MS = 20.0

UNLOCKS = 1_000  # per batch
BUCKETS = 100  # 50 series x 2 partners; one aggregated entry per bucket and batch
LEGS = 7  # postings per entry: the receivable's debit and six credits
ACCOUNTS = 400  # balance rows locked and updated per batch
EPISODES = 80
ROLLUP_KEYS = BUCKETS * EPISODES * len(COUNTRIES)

SCHEMA_SQL = """
CREATE TABLE unlock_trace (source_key text NOT NULL UNIQUE, bucket_id bigint NOT NULL,
    entry_id bigint NOT NULL, gross bigint NOT NULL, cumulative_before bigint NOT NULL);
CREATE TABLE ledger_entries (id bigint PRIMARY KEY, idempotency_key varchar(200) NOT NULL UNIQUE,
    content_hash varchar(64) NOT NULL, effective_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL, description text NOT NULL, metadata json NOT NULL,
    reverses_entry_id bigint UNIQUE CHECK (reverses_entry_id IS NULL OR reverses_entry_id <> id));
CREATE INDEX ix_ledger_entries_not_allocation ON ledger_entries (id)
    WHERE (metadata ->> 'kind') IS DISTINCT FROM 'allocation';
CREATE TABLE ledger_postings (id bigserial PRIMARY KEY, entry_id bigint NOT NULL,
    account_id bigint NOT NULL, amount bigint NOT NULL CHECK (amount <> 0),
    currency varchar(3) NOT NULL, effective_at timestamptz NOT NULL, available_at timestamptz);
CREATE INDEX ix_ledger_postings_account_effective ON ledger_postings (account_id, effective_at);
CREATE INDEX ix_ledger_postings_entry_id ON ledger_postings (entry_id);
CREATE TABLE ledger_balances (account_id bigint PRIMARY KEY, posted bigint NOT NULL,
    updated_at timestamptz NOT NULL);
CREATE TABLE ledger_allocation_buckets (id bigint PRIMARY KEY, key varchar(200) NOT NULL UNIQUE,
    currency varchar(3) NOT NULL, debit_account_id bigint NOT NULL, parties json NOT NULL,
    parties_hash varchar(64) NOT NULL, cumulative_gross bigint NOT NULL, allocated json NOT NULL);
CREATE TABLE ledger_statement_rollups (bucket_id bigint, month timestamptz, earning boolean,
    line_key varchar(400), events bigint NOT NULL CHECK (events > 0), gross bigint NOT NULL,
    party_amounts bigint[] NOT NULL, PRIMARY KEY (bucket_id, month, earning, line_key));
CREATE TABLE partner_events (id bigserial PRIMARY KEY, partner_id integer NOT NULL,
    external_id varchar(64) NOT NULL,
    kind varchar(8) NOT NULL CHECK (kind IN ('unlock', 'refund', 'pool')),
    status varchar(10) NOT NULL CHECK (status IN ('accepted', 'refunded')), series_id integer,
    episode integer, amount bigint NOT NULL CHECK (amount >= 0), currency varchar(3) NOT NULL,
    occurred_at timestamptz NOT NULL, country varchar(2), viewer varchar(200),
    content_hash varchar(64) NOT NULL, refund_of bigint, entry_id bigint, details json,
    created_at timestamptz NOT NULL, CHECK ((kind = 'refund') = (refund_of IS NOT NULL)),
    UNIQUE (partner_id, external_id));
CREATE UNIQUE INDEX uq_partner_events_refund_of ON partner_events (refund_of)
    WHERE refund_of IS NOT NULL;
"""

# Statements by step name ("seed_" ones untimed). "rollup" is ledger/rollups.py's _PG_UPSERT with
# psycopg's placeholders (copied: the bench runs no ledger code).
SQL = {
    "trace": "COPY unlock_trace (source_key, bucket_id, entry_id, gross, cumulative_before)"
    " FROM STDIN",
    "entries": "COPY ledger_entries (id, idempotency_key, content_hash, effective_at, recorded_at,"
    " description, metadata, reverses_entry_id) FROM STDIN",
    "postings": "COPY ledger_postings (entry_id, account_id, amount, currency, effective_at,"
    " available_at) FROM STDIN",
    "partner_events": "COPY partner_events (partner_id, external_id, kind, status, series_id,"
    " episode, amount, currency, occurred_at, country, viewer, content_hash, refund_of, entry_id,"
    " details, created_at) FROM STDIN",
    "lock": "SELECT b.account_id, b.posted FROM unnest(CAST(%s AS bigint[])) AS u(id)"
    " JOIN ledger_balances AS b ON b.account_id = u.id ORDER BY b.account_id FOR UPDATE OF b",
    "balances": "UPDATE ledger_balances AS b SET posted = b.posted + v.delta,"
    " updated_at = CAST(%s AS timestamptz)"
    " FROM unnest(CAST(%s AS bigint[]), CAST(%s AS bigint[])) AS v(id, delta)"
    " WHERE b.account_id = v.id",
    "buckets": "UPDATE ledger_allocation_buckets AS b SET cumulative_gross = v.c"
    " FROM unnest(CAST(%s AS bigint[]), CAST(%s AS bigint[])) AS v(id, c) WHERE b.id = v.id",
    "rollup": """
INSERT INTO ledger_statement_rollups AS r
    (bucket_id, month, earning, line_key, events, gross, party_amounts)
SELECT u.b, u.m, u.e = 1, u.k, u.c, u.g, CAST(u.p AS bigint[])
  FROM unnest(CAST(%(b)s AS bigint[]), CAST(%(m)s AS timestamptz[]), CAST(%(e)s AS int[]),
              CAST(%(k)s AS text[]), CAST(%(c)s AS bigint[]), CAST(%(g)s AS bigint[]),
              CAST(%(p)s AS text[])) AS u(b, m, e, k, c, g, p)
ON CONFLICT (bucket_id, month, earning, line_key) DO UPDATE
   SET events = r.events + excluded.events, gross = r.gross + excluded.gross,
       party_amounts = ARRAY(SELECT x + y FROM unnest(r.party_amounts, excluded.party_amounts)
                             WITH ORDINALITY AS t(x, y, i) ORDER BY i)
""",
    "seed_balances": "COPY ledger_balances (account_id, posted, updated_at) FROM STDIN",
    "seed_buckets": "COPY ledger_allocation_buckets (id, key, currency, debit_account_id, parties,"
    " parties_hash, cumulative_gross, allocated) FROM STDIN",
    "seed_rollups": "COPY ledger_statement_rollups (bucket_id, month, earning, line_key, events,"
    " gross, party_amounts) FROM STDIN",
}
VACUUM = (  # untimed before each scenario, as autovacuum would (it may be off on a bench box)
    "VACUUM ANALYZE ledger_balances, ledger_allocation_buckets, ledger_statement_rollups",
    "ANALYZE unlock_trace, ledger_entries, ledger_postings, partner_events",
)
AGGREGATE = ["lock", "entries", "postings", "balances", "buckets"]
SCENARIOS = {
    "trace": ["trace"],
    "aggregate": AGGREGATE,
    "aggregate+trace": [*AGGREGATE, "trace"],
    "aggregate+trace+rollup": [*AGGREGATE, "trace", "rollup"],
    "aggregate+two traces+rollup": ["partner_events", *AGGREGATE, "trace", "rollup"],
    "poster": [*AGGREGATE, "rollup"],
}


def iso(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


def pg_array(values) -> str:
    """A PostgreSQL array literal of ints or strings, as ledger.journal.pg_array."""
    return "{" + ",".join(str(v) if isinstance(v, int) else quoted(v) for v in values) + "}"


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def execute(cursor: psycopg.Cursor, sql: str, data: Any) -> None:
    """COPY data (bytes) in, or execute sql with data as its parameters and fetch any rows."""
    if sql.startswith("COPY"):
        with cursor.copy(sql) as copy:
            copy.write(data)
    else:
        cursor.execute(sql, data)
        if cursor.description:
            cursor.fetchall()


class World:
    """What successive batches share: ids, times, cumulative gross per bucket."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.unlocks, self.next_entry, self.cumulative = rng, 0, 1, [0] * BUCKETS
        # Bucket b: series b // 2 of partner b % 2 (partner_apps ids 1 and 2), with the
        # partner, the platform and 3-6 participants as parties.
        self.parties = [rng.randint(3, 6) + 2 for _ in range(BUCKETS)]
        self.keys = [f"series:{b // 2}|partner:{b % 2}|USD|split:1" for b in range(BUCKETS)]

    def hex64(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def seed(self, conn: psycopg.Connection, rollups: bool) -> None:
        """Balance rows, buckets and (unless cold) every rollup key of the month, untimed."""
        balances = [f"{a}\t0\t{iso(START)}\n" for a in range(1, ACCOUNTS + 1)]
        buckets = []
        for b in range(BUCKETS):
            accounts = self.rng.sample(range(3, ACCOUNTS + 1), self.parties[b])
            parties = json.dumps([[a, 1, False] for a in accounts])
            allocated = json.dumps(dict.fromkeys(map(str, accounts), 0))
            buckets.append(
                f"{b + 1}\t{self.keys[b]}\tUSD\t{1 + b % 2}\t{parties}\t"
                f"{self.hex64()}\t0\t{allocated}\n"
            )
        keys = [self.rollup_row(key) for key in range(ROLLUP_KEYS if rollups else 0)]
        lines = [f"{b}\t{MONTH}\tt\t{k}\t1\t99\t{pg_array(self.amounts(b, 99))}\n" for b, k in keys]
        with conn.cursor() as cursor:
            for name, rows in (("balances", balances), ("buckets", buckets), ("rollups", lines)):
                if rows:
                    execute(cursor, SQL[f"seed_{name}"], "".join(rows).encode())
        conn.commit()

    def batch(self) -> dict[str, Any]:
        """The next batch, formatted: each step's COPY bytes or statement parameters, by name."""
        rng, first = self.rng, self.unlocks
        self.unlocks += UNLOCKS
        now = iso(START + STEP * self.unlocks)
        buckets = list(range(BUCKETS)) + [rng.randrange(BUCKETS) for _ in range(UNLOCKS - BUCKETS)]
        rng.shuffle(buckets)
        entry_of = {b: self.next_entry + b for b in range(BUCKETS)}
        self.next_entry += BUCKETS
        trace, events = [], []
        groups: dict[int, list[tuple[str, int, datetime]]] = {b: [] for b in range(BUCKETS)}
        for n, b in enumerate(buckets, start=first):
            external_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            partner, series = b % 2 + 1, b // 2
            source_key = f"unlock:{partner}:{external_id}"
            gross = rng.choice((99, 199, 299))
            at = START + STEP * n
            trace.append(f"{source_key}\t{b + 1}\t{entry_of[b]}\t{gross}\t{self.cumulative[b]}\n")
            self.cumulative[b] += gross
            groups[b].append((source_key, gross, at))
            events.append(
                f"{partner}\t{external_id}\tunlock\taccepted\t{series}\t"
                f"{rng.randint(1, EPISODES)}\t{gross}\tUSD\t{iso(at)}\t{rng.choice(COUNTRIES)}\t"
                f"viewer-{rng.getrandbits(40):x}\t{self.hex64()}\t\\N\t{entry_of[b]}\t\\N\t{now}\n"
            )
        entries, postings = [], []
        deltas = dict.fromkeys(range(1, ACCOUNTS + 1), 0)
        for b, group in groups.items():
            total, upto = sum(gross for _, gross, _ in group), self.cumulative[b]
            latest = max(moment for _, _, moment in group)
            at, later = iso(latest), iso(latest + timedelta(days=7))
            meta = {"bucket": self.keys[b], "cumulative_from": upto - total, "cumulative_to": upto}
            meta |= {"events": len(group), "kind": "allocation"}
            entries.append(
                f"{entry_of[b]}\tallocation:{group[0][0]}\t{self.hex64()}\t{at}\t{now}\t"
                f"Allocation of {len(group)} event(s) in {self.keys[b]}\t"
                f"{json.dumps(meta, sort_keys=True, separators=(',', ':'))}\t\\N\n"
            )
            accounts = rng.sample(range(1, ACCOUNTS + 1), LEGS)
            share = total // (LEGS - 1)
            amounts = [total] + [-share] * (LEGS - 1)
            amounts[1] -= total - share * (LEGS - 1)
            for leg, (account, amount) in enumerate(zip(accounts, amounts, strict=True)):
                deltas[account] += amount
                available = "\\N" if leg == 0 else later
                postings.append(f"{entry_of[b]}\t{account}\t{amount}\tUSD\t{at}\t{available}\n")
        account_ids = pg_array(deltas)
        return {
            "trace": "".join(trace).encode(),
            "entries": "".join(entries).encode(),
            "postings": "".join(postings).encode(),
            "partner_events": "".join(events).encode(),
            "lock": (account_ids,),
            "balances": (now, account_ids, pg_array(deltas.values())),
            "buckets": (pg_array(range(1, BUCKETS + 1)), pg_array(self.cumulative)),
            "rollup": self.rollups(),
        }

    def rollup_row(self, key: int) -> tuple[int, str]:
        """Bucket id and line_key of one of the ROLLUP_KEYS keys."""
        b, rest = divmod(key, EPISODES * len(COUNTRIES))
        episode, country = divmod(rest, len(COUNTRIES))
        line = [b // 2, episode + 1, b % 2 + 1, COUNTRIES[country], "unlock"]
        return b + 1, json.dumps(line, separators=(",", ":"))

    def amounts(self, bucket_id: int, gross: int) -> list[int]:
        count = self.parties[bucket_id - 1]
        share = gross // count
        return [gross - share * (count - 1)] + [share] * (count - 1)

    def rollups(self) -> dict[str, str]:
        """_PG_UPSERT's parameters: 1,000 distinct keys at random (one statement may not update
        a row twice), in write_rollups' order."""
        rows = sorted(self.rollup_row(key) for key in self.rng.sample(range(ROLLUP_KEYS), UNLOCKS))
        gross = [self.rng.choice((99, 199, 299)) for _ in rows]
        parties = [pg_array(self.amounts(b, g)) for (b, _), g in zip(rows, gross, strict=True)]
        bucket_ids, line_keys, ones = [b for b, _ in rows], [k for _, k in rows], [1] * len(rows)
        params = {"b": bucket_ids, "m": [MONTH] * len(rows), "e": ones, "k": line_keys}
        params |= {"c": ones, "g": gross, "p": parties}
        return {name: pg_array(values) for name, values in params.items()}


@dataclass
class Result:
    name: str
    batches: list[float]  # seconds per batch, statements + commit
    steps: dict[str, float]  # mean seconds per batch of each statement, and of the commit
    wal_bytes: float  # server-wide WAL written per batch (other sessions included)
    rollups_inserted: int | None
    cpu: float = 0.0  # CPU seconds per batch: this process's and its backend's


def scalar(conn: psycopg.Connection, sql: str, *params: Any) -> Any:
    """The first column of the first row, committed (a no-op on the autocommit connection)."""
    row = conn.execute(sql, params or None).fetchone()
    conn.commit()
    return row[0] if row else None


def run_scenario(
    conn: psycopg.Connection, admin: psycopg.Connection, world: World, name: str, count: int
) -> Result:
    steps = SCENARIOS[name]
    batches = [world.batch() for _ in range(count)]  # untimed
    count_rollups = "SELECT count(*) FROM ledger_statement_rollups"
    rollups_before = scalar(conn, count_rollups) if "rollup" in steps else None
    per_step = dict.fromkeys([*steps, "commit"], 0.0)
    times = []
    start_lsn = scalar(admin, "SELECT pg_current_wal_lsn()::text") or "0/0"
    gc.collect()
    gc.disable()
    cpu = time.process_time(), backend_cpu(conn.info.backend_pid)
    try:
        for batch in batches:
            started = last = time.perf_counter()
            with conn.cursor() as cursor:
                for step in steps:
                    execute(cursor, SQL[step], batch[step])
                    now = time.perf_counter()
                    per_step[step] += now - last
                    last = now
            conn.commit()
            now = time.perf_counter()
            per_step["commit"] += now - last
            times.append(now - started)
    finally:
        gc.enable()
    used = time.process_time() - cpu[0] + backend_cpu(conn.info.backend_pid) - cpu[1]
    wal = scalar(admin, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", start_lsn)
    inserted = None if rollups_before is None else scalar(conn, count_rollups) - rollups_before
    means = {step: total / count for step, total in per_step.items()}
    wal_per = float(wal) / count if wal is not None else 0.0
    return Result(name, times, means, wal_per, inserted, used / count)


def backend_cpu(pid: int) -> float:
    """CPU seconds a process (the backend, on this machine) has run, to the ns; 0 if unreadable
    (a server elsewhere)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except OSError:
        return 0.0


def p95(ordered: list[float]) -> float:
    """The 95th percentile of sorted values (nearest rank)."""
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(results: list[Result], count: int) -> None:
    print(
        f"\n{'scenario':<29} {'median ms':>9} {'mean ms':>8} {'p95 ms':>7} {'unlocks/s':>10}"
        f" {'mean/budget':>11} {'WAL KB':>7}"
    )
    for result in results:
        times = sorted(result.batches)
        mean = statistics.fmean(times)
        print(
            f"{result.name:<29} {statistics.median(times) * 1e3:>9.2f} {mean * 1e3:>8.2f}"
            f" {p95(times) * 1e3:>7.2f} {UNLOCKS / mean:>10,.0f} {mean * 1e3 / BUDGET_MS:>11.0%}"
            f" {result.wal_bytes / 1024:>7.0f}"
        )
    print("\nmean ms per batch of each statement:")
    for result in results:
        steps = ", ".join(f"{step} {seconds * 1e3:.2f}" for step, seconds in result.steps.items())
        print(f"  {result.name}: {steps}")
        if result.rollups_inserted is not None:
            inserted = f"{result.rollups_inserted:,} of {count * UNLOCKS:,}"
            print(f"    rollup upserts that inserted: {inserted}")


def as_json(results: list[Result], count: int) -> dict[str, Any]:
    """The figures report() prints, as one JSON object."""
    scenarios = []
    for result in results:
        times = sorted(result.batches)
        mean = statistics.fmean(times)
        scenarios.append(
            {
                "name": result.name,
                "median_ms": round(statistics.median(times) * 1e3, 1),
                "mean_ms": round(mean * 1e3, 1),
                "p95_ms": round(p95(times) * 1e3, 1),
                "unlocks_per_s": round(UNLOCKS / mean),
                "of_budget": round(mean * 1e3 / BUDGET_MS, 2),
                "steps_ms": {step: round(s * 1e3, 1) for step, s in result.steps.items()},
            }
        )
    return {"batches": count, "budget_ms": BUDGET_MS, "scenarios": scenarios}


def run(args: argparse.Namespace, url: str, names: list[str] | None = None) -> list[Result]:
    """Every scenario (or those named) in a schema of its own in the database at url (dropped
    at the end)."""
    schema = f"floor_{os.getpid()}"
    options = f"-c search_path={schema}"
    with psycopg.connect(psycopg_url(url), autocommit=True, options=options) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            settings = admin.execute(
                "SELECT name, setting, unit FROM pg_settings WHERE name IN ('server_version',"
                " 'synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes',"
                " 'autovacuum', 'shared_buffers') ORDER BY name"
            ).fetchall()
            print("server:", ", ".join(f"{n}={s}{' x ' + u if u else ''}" for n, s, u in settings))
            print(
                f"{args.batches} batches of {UNLOCKS:,} unlocks per scenario, one commit each;"
                f" budget {BUDGET_MS:g} ms a batch ({UNLOCKS / BUDGET_MS * 1e3:,.0f} unlocks/s)"
            )
            world = World(random.Random(args.seed))
            results = []
            with psycopg.connect(psycopg_url(url), options=options) as conn:
                conn.execute(SCHEMA_SQL)
                world.seed(conn, rollups=not args.cold_rollups)
                for name in names or SCENARIOS:
                    for statement in VACUUM:
                        admin.execute(statement)
                    results.append(run_scenario(conn, admin, world, name, args.batches))
                    print(f"  done: {name}", flush=True)
        finally:
            if not args.keep:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL database to run in (default: one of the bench's own)",
    )
    parser.add_argument("--batches", type=int, default=300, help="batches per scenario")
    cold = f"do not seed the {ROLLUP_KEYS:,} rollup keys first (upserts then mostly insert)"
    parser.add_argument("--cold-rollups", action="store_true", help=cold)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument("--parts", action="store_true", help="where 1,000 unlocks' ms go")
    parser.add_argument("--requests", type=int, default=30, help="--parts: batches of 1,000")
    args = parser.parse_args()
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.parts:
        return parts(args)
    if args.url:
        results = run(args, args.url)
    else:
        with own_database("ledger_floor", keep=args.keep) as url:
            results = run(args, url)
    report(results, args.batches)
    seeded = "not seeded" if args.cold_rollups else f"all {ROLLUP_KEYS:,} keys seeded first"
    print(f"\nrollups: {seeded}; tables persist across scenarios (in the order above)")
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.json:
        print(json.dumps(as_json(results, args.batches)))
    return 0


def parts(args: argparse.Namespace) -> int:
    """The --parts run: the poster scenario's floor, then the real code's parts."""
    import batch_parts

    with own_database("ledger_floor", keep=args.keep) as url:
        (poster,) = run(args, url, ["poster"])
    with own_database("batch_parts", keep=args.keep) as url:
        result = batch_parts.measure(url, args.requests, poster.cpu)
    batch_parts.report(result)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
