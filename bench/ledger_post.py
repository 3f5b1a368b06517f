"""Benchmark the ledger's ingestion hot path on PostgreSQL.

Posts N unlocks (default 1,000,000) through ledger.allocation.engine.allocate_batch in batches
of 1,000 (~50 series x 2 partners = 100 buckets, 3-6 participants each, random episodes,
countries and hold days, one commit per batch), then, as a baseline, COPYs ten legs per unlock
into a plain postings-shaped table. Prints unlocks/s for both (with --json, also one JSON line
at the end). Runs in a schema of its own, dropped at the end, in DATABASE_URL or, by default, in
a database of its own (bench/scratch.py), dropped too.

    .venv/bin/python bench/ledger_post.py [DATABASE_URL] [--unlocks N] [--check] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from scratch import own_database
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from ledger.accounts import AccountType, get_or_create_account
from ledger.allocation.engine import AllocationEvent, allocate_batch, split_parties
from ledger.reports.checks import check_ledger
from ledger.schema import create_database_guards, metadata

COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "MX", "KR", "ID"]
START = datetime(2025, 1, 1, tzinfo=UTC)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL database to run in (default: one of the bench's own)",
    )
    parser.add_argument("--unlocks", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--partners", type=int, default=2)
    parser.add_argument(
        "--per-hour", type=int, default=1_400, help="unlocks per hour (1M over ~30 days)"
    )
    parser.add_argument("--check", action="store_true", help="run check_ledger at the end")
    parser.add_argument(
        "--vacuum-every",
        type=int,
        default=50,
        help="VACUUM ANALYZE the small, hot, updated tables every N batches, untimed, standing"
        " in for autovacuum (0: never)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    return parser.parse_args()


def account(session, owner_type, owner_id, purpose, type_):
    return get_or_create_account(
        session,
        owner_type=owner_type,
        owner_id=owner_id,
        purpose=purpose,
        currency="USD",
        type=AccountType(type_),
    ).id


def build_world(session, rng, series_count, partner_count):
    """Create accounts and return the buckets: (key, receivable, parties, hold days)."""
    fees = account(session, "platform", "cliffhanger", "fees", "income")
    partners = [
        (
            account(session, "partner", p, "receivable", "asset"),
            account(session, "partner", p, "commission", "income"),
            rng.choice([3, 7, 14]),
        )
        for p in range(partner_count)
    ]
    buckets = []
    for series in range(series_count):
        people = rng.randint(3, 6)
        ids = [
            account(session, "participant", f"{series}-{i}", "payable", "liability")
            for i in range(people)
        ]
        bps = [10_000 // people] * people
        bps[0] += 10_000 - sum(bps)
        for p, (receivable, commission, hold) in enumerate(partners):
            parties = split_parties(
                partner_account_id=commission,
                partner_bps=3000,
                platform_account_id=fees,
                platform_fee_bps=2000,
                participants=list(zip(ids, bps, strict=True)),
            )
            buckets.append(
                (f"series:{series}|partner:{p}|USD|split:1", receivable, parties, hold, series, p)
            )
    return buckets


def make_batch(rng, buckets, first, size, step):
    events = []
    for n in range(first, first + size):
        key, receivable, parties, hold, series, partner = rng.choice(buckets)
        at = START + step * n
        events.append(
            AllocationEvent(
                source_key=f"unlock:{partner}:{n}",
                bucket_key=key,
                currency="USD",
                debit_account_id=receivable,
                parties=parties,
                gross=rng.choice([99, 199, 299]),
                effective_at=at,
                available_at=at + timedelta(days=hold),
                attributes={
                    "series_id": series,
                    "episode": rng.randint(1, 80),
                    "partner_id": partner,
                    "country": rng.choice(COUNTRIES),
                },
            )
        )
    return events


HOT_TABLES = (
    "ledger_allocation_buckets",
    "ledger_balances",
    "ledger_pending",
    "ledger_entry_checks",
    "ledger_statement_rollups",
)
"""The ledger's small tables whose rows every batch updates or churns."""


def vacuum(engine, everything: bool) -> None:
    """What autovacuum would do (it may be off on a bench box): the hot rows are updated every
    batch, and their dead versions slow every lookup until vacuumed."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM ANALYZE {', '.join(HOT_TABLES)}"))
        if everything:
            connection.execute(text("ANALYZE"))


def bench_ledger(engine, args, rng) -> tuple[float, float, int | None]:
    with Session(engine) as session:
        buckets = build_world(session, rng, args.series, args.partners)
        session.commit()
    step = timedelta(hours=1) / args.per_hour
    in_call = total = 0.0
    with Session(engine) as session:
        for number, first in enumerate(range(0, args.unlocks, args.batch)):
            if args.vacuum_every and number % args.vacuum_every == args.vacuum_every - 1:
                vacuum(engine, everything=number < args.vacuum_every)
            events = make_batch(rng, buckets, first, min(args.batch, args.unlocks - first), step)
            started = time.perf_counter()
            allocate_batch(session, events, now=START)
            called = time.perf_counter()
            session.commit()
            in_call += called - started
            total += time.perf_counter() - started
        problems = check_ledger(session) if args.check else None
    if problems is not None:
        print(f"check_ledger: {len(problems)} problem(s)", *problems[:5], sep="\n  ")
    return args.unlocks / in_call, args.unlocks / total, None if problems is None else len(problems)


def bench_raw_copy(engine, args, rng) -> float:
    """Baseline: COPY ten legs per unlock into a postings-shaped table (no ledger logic)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE baseline_postings (LIKE ledger_postings INCLUDING DEFAULTS"
                " INCLUDING INDEXES)"
            )
        )
    step = timedelta(hours=1) / args.per_hour
    elapsed = 0.0
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        for first in range(0, args.unlocks, args.batch):
            rows = []
            for n in range(first, min(first + args.batch, args.unlocks)):
                at = START + step * n
                later = at + timedelta(days=7)
                for leg in range(10):
                    amount = -20 if leg else 180
                    rows.append((n, rng.randint(1, 400), amount, "USD", at, later))
            started = time.perf_counter()
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    "COPY baseline_postings (entry_id, account_id, amount, currency, effective_at,"
                    " available_at) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            raw.commit()
            elapsed += time.perf_counter() - started
    return args.unlocks / elapsed


def run(args, url: str) -> dict:
    """Both measures in a schema of their own in the database at url; returns the results."""
    rng = random.Random(20250101)
    schema = f"bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
        autovacuum = connection.execute(text("SHOW autovacuum")).scalar_one()
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            create_database_guards(connection)
        call_rate, commit_rate, problems = bench_ledger(engine, args, rng)
        copy_rate = bench_raw_copy(engine, args, rng)
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    print(f"unlocks: {args.unlocks:,} in batches of {args.batch:,}")
    print(f"server autovacuum: {autovacuum}; bench VACUUM every {args.vacuum_every} batches")
    print(f"allocate_batch (ledger call alone): {call_rate:,.0f} unlocks/s")
    print(f"allocate_batch + commit:            {commit_rate:,.0f} unlocks/s")
    print(f"raw COPY, ten legs per unlock:      {copy_rate:,.0f} unlocks/s")
    return {
        "unlocks": args.unlocks,
        "batch": args.batch,
        "call_rate": round(call_rate),
        "commit_rate": round(commit_rate),
        "copy_rate": round(copy_rate),
        "check_problems": problems,
    }


def main() -> int:
    args = arguments()
    if args.url:
        result = run(args, args.url)
    else:
        with own_database("ledger_post", keep=args.keep) as url:
            result = run(args, url)
    if args.json:
        print(json.dumps(result))
    return 1 if result["check_problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
