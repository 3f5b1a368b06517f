"""Benchmark building a payout batch for many payees on PostgreSQL.

Sets up N participants (default 100,000), each an accepted member of one series with an
earnings account holding an available balance and an enabled Stripe payout account (bulk SQL,
not timed), then VACUUM ANALYZE (not timed: autovacuum would have run after such a bulk load;
the bench's PostgreSQL has it off), then times `build_batch`: the set-based balance read, the
line inserts and one reservation ledger entry per payee written through the ledger's bulk
writer, and the commit with the ledger's deferred checks. Checks the ledger afterwards and
prints the load average (with --json, also one JSON line at the end). By default it runs in a
database of its own (bench/scratch.py), dropped at the end; given DATABASE_URL, it drops and
rebuilds that database's public schema first.

    .venv/bin/python bench/payout_build.py [DATABASE_URL] [--payees N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from scratch import own_database
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from ledger.journal import NewEntry, reserve_entry_ids, write_entries
from ledger.posting import content_hash
from ledger.reports.checks import check_ledger
from ledger.schema import Account, create_database_guards
from marketplace import create_app
from marketplace.chart import ledger_account
from marketplace.extensions import db
from marketplace.payouts.batches import build_batch
from marketplace.payouts.models import PayoutLine

AS_OF = datetime(2026, 11, 2, 6, tzinfo=UTC)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL database whose public schema is rebuilt (default: one of the bench's"
        " own, dropped at the end)",
    )
    parser.add_argument("--payees", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    return parser.parse_args()


def rebuild_schema(engine) -> None:
    """Drop the public schema and create every table and the ledger's guards in it."""
    create_app({"SQLALCHEMY_DATABASE_URI": engine.url})  # every feature's tables on the metadata
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.metadata.create_all(engine)
    with engine.begin() as conn:
        create_database_guards(conn)


def populate(session: Session, n: int) -> None:
    """N participants with balances and enabled payout accounts (bulk SQL, not timed)."""
    now = datetime.now(UTC)
    params = {"n": n, "now": now, "t0": AS_OF - timedelta(days=30)}
    for sql in (
        "INSERT INTO users (email, display_name, password_hash, role, created_at)"
        " VALUES ('owner@example.com', 'Owner', 'x', 'creator', :now)",
        "INSERT INTO users (email, display_name, password_hash, role, created_at)"
        " SELECT 'p' || g || '@example.com', 'P' || g, 'x', 'participant', :now"
        " FROM generate_series(1, :n) g",
        "INSERT INTO series (owner_id, title, synopsis, language, genres, tags, status,"
        " free_episodes, currency, created_at, updated_at)"
        " SELECT id, 'Bench', '', 'en', '[]', '[]', 'published', 5, 'USD', :now, :now"
        " FROM users WHERE email = 'owner@example.com'",
        "INSERT INTO team_members (series_id, email, user_id, credit_name, role, invited_at,"
        " invitation_nonce, accepted_at)"
        " SELECT (SELECT min(id) FROM series), u.email, u.id, u.display_name, 'actor', :t0, '',"
        " :t0 FROM users u WHERE u.role = 'participant'",
        "INSERT INTO ledger_accounts (owner_type, owner_id, purpose, currency, type,"
        " normal_side, must_not_go_negative, created_at)"
        " SELECT 'member', CAST(id AS varchar), 'earnings', 'USD', 'liability', 'credit',"
        " false, :now FROM team_members",
        "INSERT INTO ledger_balances (account_id, posted, updated_at)"
        " SELECT id, 0, :now FROM ledger_accounts",
        "INSERT INTO payout_accounts (user_id, stripe_account_id, details_submitted,"
        " payouts_enabled, created_at, updated_at)"
        " SELECT id, 'acct_bench' || id, true, true, :now, :now FROM users"
        " WHERE role = 'participant'",
        # A certified W-9 each (nothing withheld): without a tax profile a line is excluded.
        "INSERT INTO tax_profiles (user_id, form, legal_name, tin_type, tin_encrypted,"
        " tin_last4, address, address_country, residence_country, certified, signed_name,"
        " certified_at, updated_at)"
        " SELECT id, 'W-9', display_name, 'SSN', 'not-a-real-token', '0000', 'x', 'US', 'US',"
        " true, display_name, :now, :now FROM users WHERE role = 'participant'",
    ):
        session.execute(text(sql), params)
    # Earnings: entries of 1,000 member credits each against the platform's adjustments.
    adjustments = ledger_account(session, "adjustments", "USD").id
    members = session.scalars(
        select(Account.id).where(Account.owner_type == "member").order_by(Account.id)
    ).all()
    chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)]
    entries = []
    for entry_id, chunk in zip(reserve_entry_ids(session, len(chunks)), chunks, strict=True):
        legs = [(account_id, -(1000 + account_id % 5000), None) for account_id in chunk]
        legs.append((adjustments, -sum(amount for _, amount, _ in legs), None))
        entries.append(
            NewEntry(
                id=entry_id,
                idempotency_key=f"bench-earnings-{entry_id}",
                content_hash=content_hash(bench=entry_id),
                effective_at=params["t0"],
                description="bench earnings",
                meta={"kind": "bench"},
                postings=legs,
            )
        )
    for start in range(0, len(entries), 20):
        write_entries(session, entries[start : start + 20], now)
    session.commit()


def vacuum_analyze(engine) -> None:
    """Clean up after the bulk load and give the planner statistics (what autovacuum does)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def run(args: argparse.Namespace, url: str) -> dict:
    """Set up, time build_batch, check the ledger; returns the results."""
    engine = create_engine(url)
    if engine.dialect.name != "postgresql":
        sys.exit("this benchmark needs PostgreSQL")
    rebuild_schema(engine)
    with Session(engine) as session:
        started = time.perf_counter()
        populate(session, args.payees)
        setup = time.perf_counter() - started
        print(f"setup: {args.payees:,} payees in {setup:.1f} s")
        started = time.perf_counter()
        vacuum_analyze(engine)
        print(f"VACUUM ANALYZE (not timed): {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        result = build_batch(session, as_of=AS_OF, minimum=1000, withholding_bps=(2400, 3000))
        elapsed = time.perf_counter() - started
        lines = session.scalar(
            select(func.count())
            .select_from(PayoutLine)
            .where(PayoutLine.batch_id == result.batch.id, PayoutLine.status == "proposed")
        )
        print(f"build_batch: {lines:,} lines and reservation entries in {elapsed:.2f} s")
        started = time.perf_counter()
        problems = check_ledger(session)
        print(f"check_ledger: {len(problems)} problems ({time.perf_counter() - started:.1f} s)")
        print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    engine.dispose()
    return {
        "payees": args.payees,
        "lines": lines,
        "build_s": round(elapsed, 2),
        "setup_s": round(setup, 1),
        "check_problems": len(problems),
    }


def main() -> int:
    args = arguments()
    if args.url:
        result = run(args, args.url)
    else:
        with own_database("payout_build") as url:
            result = run(args, url)
    if args.json:
        print(json.dumps(result))
    return 0 if result["lines"] == args.payees and not result["check_problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
