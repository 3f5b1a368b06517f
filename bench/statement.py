"""Benchmark a participant's statement page on PostgreSQL with a 10M-unlock history.

Builds the history in the public schema of DATABASE_URL (once; `--rebuild` to start over) or, by
default, of a database of its own (bench/scratch.py), built for the run and dropped at the end:
- the measured series: a creator, two partner apps, a team of three (the measured participant,
  another participant, an invitation still pending), `--target` unlocks (default 360,000: 30,000
  a month over 12 months) posted through the real path (marketplace.ingest.revenue.post_revenue
  -> ledger.allocation.engine.allocate_batch, batches of 1,000), 0.5% refunds, a revenue pool
  per partner and month, and a monthly payout entry;
- filler: the rest of `--unlocks` (default 10,000,000 in all) in 100 other buckets (50 series x 2
  partners, six parties each), written by bulk SQL (INSERT ... SELECT generate_series) with
  their entries, postings and balances, the ledger's guards lifted during the fill only.
Then measures, as the logged-in participant through the Flask test client (routing, session,
queries, template), GET /earnings/statement for a month (`--requests` times, default 200,
rotating over the 12 months), and the service call alone
(ledger.reports.statements.accounts_statement) as the page asks for it (lines by series and
episode) and as downloads do (every field); prints p50/p95/max (with --json, also one JSON line
at the end), and checks that every month's statement, both ways, adds up to the ledger movement
of the participant's accounts.

    .venv/bin/python bench/statement.py [DATABASE_URL] [--unlocks N] [--target N] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import own_database
from sqlalchemy import create_engine, select, text

START = datetime(2025, 1, 1, tzinfo=UTC)
MONTHS = 12
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "MX", "KR", "ID"]
PARTICIPANT = "bench-participant@example.test"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL database to build the history in once and keep (default: one of the"
        " bench's own, built for the run and dropped at the end)",
    )
    parser.add_argument("--unlocks", type=int, default=10_000_000, help="events in all")
    parser.add_argument("--target", type=int, default=360_000, help="the measured series' unlocks")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    return parser.parse_args()


def month_start(index: int) -> datetime:
    return START.replace(year=START.year + index // 12, month=index % 12 + 1)


def make_app(url: str):
    from marketplace import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "TESTING": True,
        }
    )


def built(url: str) -> bool:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = (
            conn.execute(text("SELECT to_regclass('public.users') IS NOT NULL")).scalar_one()
            and conn.execute(
                text("SELECT count(*) FROM users WHERE email = :e"), {"e": PARTICIPANT}
            ).scalar_one()
        )
    engine.dispose()
    return bool(found)


def reset(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build_world(session):
    """The measured series, its team and partner apps; returns (partners, series id)."""
    from marketplace.accounts.models import User
    from marketplace.partners.models import PartnerApp
    from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
    from marketplace.studio.models import Listing, Series

    def user(email, role):
        person = User(email=email, role=role, display_name=email.split("@")[0])
        person.set_password("bench-password")
        session.add(person)
        return person

    creator = user("bench-creator@example.test", "creator")
    participant = user(PARTICIPANT, "participant")
    other = user("bench-other@example.test", "participant")
    partners = [
        PartnerApp(name="BenchShort", currency="USD", share_bps=3000, hold_days=7),
        PartnerApp(name="BenchBox", currency="USD", share_bps=2500, hold_days=14),
    ]
    session.add_all(partners)
    session.flush()
    series = Series(owner_id=creator.id, title="The Bench", status="published", currency="USD")
    session.add(series)
    session.flush()
    members = [
        TeamMember(series_id=series.id, email=PARTICIPANT, user_id=participant.id,
                   credit_name="Bench Actor", role="actor", accepted_at=START),
        TeamMember(series_id=series.id, email="bench-other@example.test", user_id=other.id,
                   credit_name="Other Actor", role="writer", accepted_at=START),
        TeamMember(series_id=series.id, email="pending@example.test", credit_name="Pending",
                   role="director"),
    ]  # fmt: skip
    session.add_all(members)
    session.flush()
    version = SplitVersion(series_id=series.id, number=1, platform_fee_bps=1000,
                           effective_from=START - timedelta(days=1))  # fmt: skip
    session.add(version)
    session.flush()
    for member, bps in zip(members, [4000, 3500, 2500], strict=True):
        session.add(SplitShare(version_id=version.id, member_id=member.id, bps=bps))
    for partner in partners:
        session.add(Listing(series_id=series.id, partner_id=partner.id, live_at=START))
    session.commit()
    return partners, series.id, members[0].id


def post_target(session, partners, series_id, member_id, count, rng) -> None:
    """The measured series' history through the real posting path, one commit per batch."""
    from ledger.posting import Leg, post_entry
    from marketplace.chart import ledger_account
    from marketplace.ingest.revenue import RevenueFacts, post_revenue

    step = timedelta(days=365) / count
    began = time.perf_counter()
    for first in range(0, count, 1000):
        by_partner: dict[int, list] = {0: [], 1: []}
        for n in range(first, min(count, first + 1000)):
            at = START + step * n
            p = n % 2
            refund = n % 200 == 199
            by_partner[p].append(
                RevenueFacts(
                    source_key=f"bench:{'refund' if refund else 'unlock'}:{n}",
                    series_id=series_id,
                    amount=-199 if refund else rng.choice([99, 199, 299]),
                    occurred_at=at,
                    episode=rng.randint(6, 80),
                    country=rng.choice(COUNTRIES),
                    kind="refund" if refund else "unlock",
                )
            )
        for p, facts in by_partner.items():
            post_revenue(session, partners[p], facts)
        session.commit()
        if first % 50_000 == 0:
            rate = (first + 1000) / (time.perf_counter() - began)
            print(f"  target {first + 1000:,}/{count:,} ({rate:,.0f}/s)", flush=True)
    earnings = ledger_account(session, "member_earnings", "USD", member_id).id
    transit = ledger_account(session, "payouts_in_transit", "USD").id
    for month in range(MONTHS):
        end = month_start(month + 1) - timedelta(hours=1)
        facts = [
            RevenueFacts(f"bench:pool:{p}:{month}", series_id, 50_000, end, kind="pool",
                         pool_id=f"pool-{p}-{month}")
            for p in range(2)
        ]  # fmt: skip
        for p, fact in enumerate(facts):
            post_revenue(session, partners[p], [fact])
        post_entry(
            session,
            idempotency_key=f"bench:payout:{month}",
            effective_at=month_start(month) + timedelta(days=20),
            description=f"Payout month {month}",
            legs=[Leg(earnings, 10_000), Leg(transit, -10_000)],
            metadata={"kind": "payout", "batch_id": month},
        )
        session.commit()


FILL_SQL = """
INSERT INTO ledger_allocation_events
    (source_key, bucket_id, entry_id, gross, cumulative_before, effective_at, available_at,
     attributes, party_amounts)
SELECT 'fill:' || n, b.bucket_id, :entry_base + h * :buckets + b.idx, g, 0, t,
       t + interval '7 days',
       json_build_object('country', (ARRAY['US','GB','DE','FR','JP','BR','IN','MX','KR','ID'])
           [1 + n % 10], 'episode', 1 + n % 80, 'kind', 'unlock', 'partner_id', b.idx % 2,
           'series_id', 1000 + b.idx / 2),
       ARRAY[p0, p1, q + (r - 4 * q), q, q, q]
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS n
CROSS JOIN LATERAL (SELECT n / :per_hour AS h, (ARRAY[99, 199, 299])[1 + n % 3] AS g) AS k
CROSS JOIN LATERAL (SELECT :start + k.h * interval '1 hour' + (n % :per_hour) * interval '1 second'
                    AS t) AS tt
JOIN fill_buckets AS b ON b.idx = n % :buckets
CROSS JOIN LATERAL (SELECT g * 30 / 100 AS p0) AS a0
CROSS JOIN LATERAL (SELECT (g - p0) * 20 / 100 AS p1) AS a1
CROSS JOIN LATERAL (SELECT g - p0 - p1 AS r) AS a2
CROSS JOIN LATERAL (SELECT (g - p0 - p1) / 4 AS q) AS a3
"""


def fill(engine, total: int) -> None:
    """Bulk-write `total` filler events in 100 buckets, with their entries and postings."""
    from ledger.schema import create_database_guards, drop_database_guards

    buckets, per_hour = 100, max(1, total // (365 * 24))
    with engine.begin() as conn:
        drop_database_guards(conn)
        base = conn.execute(text("SELECT coalesce(max(id), 0) FROM ledger_accounts")).scalar()
        conn.execute(text(
            "INSERT INTO ledger_accounts (id, owner_type, owner_id, purpose, currency, type,"
            " normal_side, must_not_go_negative, created_at)"
            " SELECT :base + i, 'filler', CAST(i AS text), 'earnings', 'USD',"
            " CASE WHEN i <= 2 THEN 'asset' ELSE 'liability' END,"
            " CASE WHEN i <= 2 THEN 'debit' ELSE 'credit' END, false, now()"
            " FROM generate_series(1, 205) AS i"
        ), {"base": base})  # fmt: skip
        conn.execute(text(
            "SELECT setval(pg_get_serial_sequence('ledger_accounts', 'id'), :top)"
        ), {"top": base + 205})  # fmt: skip
        conn.execute(text(
            "INSERT INTO ledger_balances (account_id, posted, updated_at)"
            " SELECT :base + i, 0, now() FROM generate_series(1, 205) AS i"
        ), {"base": base})  # fmt: skip
        # accounts: base+1/2 receivables, +3/4 commissions, +5 fees, +6.. members (4 a series)
        conn.execute(text("CREATE TEMP TABLE fill_buckets (idx int, bucket_id bigint)"))
        for idx in range(buckets):
            series, partner = idx // 2, idx % 2
            parties = [base + 3 + partner, base + 5, *(base + 6 + series * 4 + i for i in range(4))]
            bucket_id = conn.execute(text(
                "INSERT INTO ledger_allocation_buckets (key, currency, debit_account_id, parties,"
                " parties_hash, cumulative_gross, allocated)"
                " VALUES (:key, 'USD', :debit, CAST(:parties AS json), 'filler', 0, '{}')"
                " RETURNING id"
            ), {"key": f"filler:{idx}", "debit": base + 1 + partner,
                "parties": json.dumps([[a, 0, True] for a in parties])}).scalar_one()  # fmt: skip
            conn.execute(
                text("INSERT INTO fill_buckets VALUES (:i, :b)"), {"i": idx, "b": bucket_id}
            )
            conn.execute(
                text("INSERT INTO ledger_bucket_parties VALUES (:a, :b, :p)"),
                [{"a": base + 1 + partner, "b": bucket_id, "p": -1}]
                + [{"a": a, "b": bucket_id, "p": i} for i, a in enumerate(parties)],
            )
        hours = total // per_hour + 1
        entry_base = conn.execute(
            text("SELECT coalesce(max(id), 0) + 1 FROM ledger_entries")
        ).scalar()
        conn.execute(text(
            "SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'), :top)"
        ), {"top": entry_base + hours * buckets + 1})  # fmt: skip
    chunk = 1_000_000
    began = time.perf_counter()
    for lo in range(0, total, chunk):
        with engine.begin() as conn:
            conn.execute(
                text("CREATE TEMP TABLE IF NOT EXISTS fill_buckets (idx int, bucket_id bigint)")
            )
            if not conn.execute(text("SELECT count(*) FROM fill_buckets")).scalar():
                conn.execute(text(
                    "INSERT INTO fill_buckets SELECT CAST(substr(key, 8) AS int), id"
                    " FROM ledger_allocation_buckets WHERE key LIKE 'filler:%'"
                ))  # fmt: skip
            conn.execute(text(FILL_SQL), {
                "lo": lo, "hi": min(total, lo + chunk) - 1, "buckets": buckets,
                "per_hour": per_hour, "entry_base": entry_base, "start": START,
            })  # fmt: skip
        print(f"  filler events {min(total, lo + chunk):,}/{total:,}"
              f" ({time.perf_counter() - began:,.0f} s)", flush=True)  # fmt: skip
    with engine.begin() as conn:
        print("  filler entries and postings", flush=True)
        conn.execute(text(
            "CREATE TEMP TABLE fill_sums AS SELECT entry_id, bucket_id, max(effective_at) AS at,"
            " max(available_at) AS available, sum(gross) AS gross,"
            " sum(party_amounts[1]) AS a1, sum(party_amounts[2]) AS a2,"
            " sum(party_amounts[3]) AS a3, sum(party_amounts[4]) AS a4,"
            " sum(party_amounts[5]) AS a5, sum(party_amounts[6]) AS a6"
            " FROM ledger_allocation_events WHERE source_key LIKE 'fill:%'"
            " GROUP BY entry_id, bucket_id"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO ledger_entries (id, idempotency_key, content_hash, effective_at,"
            " recorded_at, description, metadata)"
            " SELECT entry_id, 'fill:' || entry_id, 'filler', at, now(), 'filler',"
            " CAST('{\"kind\": \"allocation\"}' AS json) FROM fill_sums"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO ledger_postings (entry_id, account_id, amount, currency, effective_at,"
            " available_at)"
            " SELECT s.entry_id, bp.account_id, CASE bp.position WHEN -1 THEN s.gross"
            "   ELSE -(ARRAY[s.a1, s.a2, s.a3, s.a4, s.a5, s.a6])[bp.position + 1] END, 'USD',"
            "   s.at, CASE WHEN bp.position >= 2 THEN s.available END"
            " FROM fill_sums AS s JOIN ledger_bucket_parties AS bp ON bp.bucket_id = s.bucket_id"
        ))  # fmt: skip
        conn.execute(text(
            "UPDATE ledger_balances AS b SET posted = v.posted FROM ("
            " SELECT p.account_id, sum(p.amount) * CASE WHEN a.normal_side = 'debit' THEN 1"
            "   ELSE -1 END AS posted FROM ledger_postings AS p"
            " JOIN ledger_accounts AS a ON a.id = p.account_id WHERE a.owner_type = 'filler'"
            " GROUP BY p.account_id, a.normal_side) AS v WHERE b.account_id = v.account_id"
        ))  # fmt: skip
        print("  filler rollups", flush=True)
        conn.execute(text(
            "INSERT INTO ledger_statement_rollups (bucket_id, month, earning, line_key, events,"
            " gross, party_amounts)"
            " SELECT bucket_id, date_trunc('month', effective_at, 'UTC'), gross > 0,"
            " CAST(json_build_array(attributes->'series_id', attributes->'episode',"
            "   attributes->'partner_id', attributes->'country', attributes->'kind') AS text),"
            " count(*), sum(gross), ARRAY[sum(party_amounts[1]), sum(party_amounts[2]),"
            "   sum(party_amounts[3]), sum(party_amounts[4]), sum(party_amounts[5]),"
            "   sum(party_amounts[6])]"
            " FROM ledger_allocation_events WHERE source_key LIKE 'fill:%'"
            " GROUP BY 1, 2, 3, 4"
        ))  # fmt: skip
        conn.execute(text("DELETE FROM ledger_entry_checks"))
        create_database_guards(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        print("  VACUUM ANALYZE", flush=True)
        conn.execute(text("VACUUM ANALYZE"))


def build(url: str, args) -> None:
    from flask_migrate import upgrade

    from marketplace.extensions import db

    reset(url)
    app = make_app(url)
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        began = time.perf_counter()
        partners, series_id, member_id = build_world(db.session)
        post_target(db.session, partners, series_id, member_id, args.target, rng)
        print(f"target history: {time.perf_counter() - began:,.0f} s", flush=True)
        began = time.perf_counter()
        fill(db.engine, args.unlocks - args.target)
        print(f"filler: {time.perf_counter() - began:,.0f} s", flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(url: str, args) -> dict:
    from ledger.reports.statements import EVENT_FIELDS, accounts_statement
    from marketplace.accounts.models import User
    from marketplace.accounts.sessions import start_session
    from marketplace.earnings.statements import PAGE_FIELDS, user_accounts
    from marketplace.extensions import db

    app = make_app(url)
    with app.app_context():
        events = db.session.execute(text("SELECT count(*) FROM ledger_allocation_events")).scalar()
        postings = db.session.execute(text("SELECT count(*) FROM ledger_postings")).scalar()
        print(f"history: {events:,} allocation events, {postings:,} postings")
        user = db.session.scalars(select(User).where(User.email == PARTICIPANT)).one()
        accounts = user_accounts(db.session, user.id)["USD"]
        for month in range(MONTHS):
            full, page = (
                accounts_statement(db.session, accounts, month_start(month),
                                   month_start(month + 1), fields=fields)
                for fields in (EVENT_FIELDS, PAGE_FIELDS)
            )  # fmt: skip
            moved = db.session.execute(
                text("SELECT -coalesce(sum(amount), 0) FROM ledger_postings WHERE account_id ="
                     " ANY(:ids) AND effective_at >= :a AND effective_at < :b"),
                {"ids": accounts, "a": month_start(month), "b": month_start(month + 1)},
            ).scalar()  # fmt: skip
            for st in (full, page):
                assert st.movements == moved == st.closing - st.opening, (month, st.movements)
            assert (page.opening, page.closing) == (full.opening, full.closing), month
            for kind in ("earning", "refund", "payout", "other"):
                assert page.total(kind) == full.total(kind), (month, kind)
        print(f"12 monthly statements add up to the ledger movements (last: {moved:,})")
        counts = sum(line.count for line in full.lines)
        lines, page_lines = len(full.lines), len(page.lines)
        print(f"one month: {lines:,} statement lines over {counts:,} events"
              f" ({page_lines:,} by series and episode, as the page shows them)")  # fmt: skip
        service: dict[str, list[float]] = {"page lines": [], "every field": []}
        for n in range(args.requests):
            month = n % MONTHS
            for name, fields in (("page lines", PAGE_FIELDS), ("every field", EVENT_FIELDS)):
                began = time.perf_counter()
                accounts_statement(db.session, accounts, month_start(month),
                                   month_start(month + 1), fields=fields)  # fmt: skip
                service[name].append((time.perf_counter() - began) * 1000)
                db.session.rollback()
        session_id = user.get_id()  # Flask-Login's id:fingerprint
        token = start_session(db.session, user)  # the server-side session it needs
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
        session["_sid"] = token
        session["_seen"] = int(time.time())
    page = []
    for n in range(args.requests + 10):
        month = month_start(n % MONTHS).strftime("%Y-%m")
        began = time.perf_counter()
        response = client.get(f"/earnings/statement?currency=USD&month={month}")
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, response.status_code
        if n >= 10:  # warm-up
            page.append(elapsed)
    figures = {
        "events": events,
        "postings": postings,
        "target": args.target,
        "requests": args.requests,
        "month_lines": lines,
        "month_page_lines": page_lines,
        "month_events": counts,
    }
    for key, name, values in (
        ("service_page", "service accounts_statement, page lines", service["page lines"]),
        (
            "service_full",
            "service accounts_statement, every field (downloads)",
            service["every field"],
        ),
        ("page", "GET /earnings/statement", page),
    ):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        spread = f"p50={p50:.1f} ms p95={p95:.1f} ms max={max(values):.1f} ms"
        print(f"{name}: n={len(values)} {spread}")
        figures[key] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return figures


def run(args, url: str) -> dict | None:
    """Build the history if asked or missing, then measure (unless --build-only)."""
    if args.rebuild or not built(url):
        print(f"building {args.unlocks:,} unlocks ({args.target:,} in the measured series)")
        build(url, args)
    return None if args.build_only else measure(url, args)


def main() -> None:
    args = arguments()
    if args.url:
        figures = run(args, args.url)
    else:
        with own_database("statement") as url:
            figures = run(args, url)
    if args.json and figures:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
