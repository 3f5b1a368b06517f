"""Benchmark the creator's analytics page on PostgreSQL with 10M view rows and 1M unlocks in
history.

On a database of its own (bench/scratch.py, dropped at the end; --keep keeps it): one partner
app and --series live series of 80 episodes (bench/world.py), the first with two localized
versions; one real unlock per series through the poster's path (post_revenue, so every series
has its ledger bucket), then bulk SQL (INSERT ... SELECT generate_series): --views view rows
(episode_views: series x episode x day x 10 countries, and their day totals in
episode_view_days as the views ingestion keeps them), --unlocks unlock rows in partner_events
and their daily statement rollups (ledger_statement_days, what the ledger writes for them: one
row per series, day, episode and country) and the series' daily money beside them
(series_revenue_days, as the poster keeps it); ANALYZE. Then, as the
logged-in owner through the Flask test client (routing, session, queries, template), GET
/studio/series/<id>/analytics --requests times per case (the last 30 days; 90 days; a country
filter; the series with versions, compared with its Spanish version; the CSV), rotating over
the series; prints p50/p95/max per case (with --json, one JSON line at the end).

    .venv/bin/python bench/analytics.py [--views N] [--unlocks N] [--series N] [--requests N]
        [--keep] [--reuse DATABASE]   # --reuse: measure again on a kept database, no load
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from scratch import own_database, psycopg_url  # noqa: E402
from world import build_world  # noqa: E402

COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "MX", "KR", "ID"]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=10_000_000, help="episode_views rows")
    parser.add_argument("--unlocks", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--requests", type=int, default=40, help="per case")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--reuse", metavar="DATABASE", help="measure again on a database kept by --keep"
    )
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def load(url: str, partner_id: int, series: list[int], args: argparse.Namespace) -> dict:
    """Bulk-load views, unlock rows and their daily rollups with generate_series."""
    days = max(1, args.views // (len(series) * 80 * len(COUNTRIES)))
    per_day = max(1, args.unlocks // (len(series) * days))  # unlocks a series and day
    countries = "{" + ",".join(COUNTRIES) + "}"
    today = datetime.now(UTC).date()
    began = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO episode_views (partner_id, series_id, episode, day, country, starts,"
            " completions, updated_at)"
            " SELECT %(p)s, s, e, %(today)s::date - d, c,"
            "  greatest(1, 2000 - e * 20 + (s * 7 + d * 3) %% 50),"
            "  greatest(0, 1800 - e * 20 + (s * 5 + d) %% 40), now()"
            " FROM unnest(%(series)s::int[]) s, generate_series(1, 80) e,"
            "  generate_series(0, %(days)s - 1) d, unnest(%(countries)s::text[]) c",
            {"p": partner_id, "today": today, "series": series, "days": days,
             "countries": countries},
        )  # fmt: skip
        # Their day totals, as the views ingestion keeps them (every country together).
        conn.execute(
            "INSERT INTO episode_view_days (series_id, day, episode, partner_id, starts,"
            " completions) SELECT series_id, day, episode, partner_id, sum(starts),"
            " sum(completions) FROM episode_views GROUP BY 1, 2, 3, 4"
        )
        # Unlock rows: per series and day, per_day unlocks over the paid episodes 6-80.
        conn.execute(
            "INSERT INTO partner_events (partner_id, external_id, kind, status, series_id,"
            " episode, amount, currency, occurred_at, country, content_hash, created_at)"
            " SELECT %(p)s, 'bench-' || s || '-' || d || '-' || k, 'unlock', 'accepted', s,"
            "  6 + (k * 7 + d) %% 75, 99, 'USD',"
            "  %(today)s::timestamptz - make_interval(days => d) + interval '12 hours',"
            "  (%(countries)s::text[])[1 + (k + d) %% 10], repeat('0', 64), now()"
            " FROM unnest(%(series)s::int[]) s, generate_series(0, %(days)s - 1) d,"
            "  generate_series(1, %(per_day)s) k",
            {"p": partner_id, "today": today, "series": series, "days": days,
             "per_day": per_day, "countries": countries},
        )  # fmt: skip
        # Their daily rollups, as the poster's allocate_batch writes them (per bucket, day,
        # sign and line: series, episode, partner app, country, kind).
        conn.execute(
            "INSERT INTO ledger_statement_days (bucket_id, day, earning, line_key, events,"
            " gross, party_amounts)"
            " SELECT b.id, date_trunc('day', e.occurred_at), true,"
            "  '[' || e.series_id || ',' || e.episode || ',' || e.partner_id || ',\"'"
            "  || e.country || '\",\"unlock\"]', count(*), sum(e.amount),"
            "  array_fill(0::bigint, ARRAY[json_array_length(b.parties::json)])"
            " FROM partner_events e JOIN ledger_allocation_buckets b"
            "  ON b.key LIKE 'series:' || e.series_id || '|%%'"
            " WHERE e.external_id LIKE 'bench-%%'"
            " GROUP BY 1, 2, 3, 4, b.parties::text"
            " ON CONFLICT (bucket_id, day, earning, line_key) DO UPDATE SET"
            "  events = ledger_statement_days.events + excluded.events,"
            "  gross = ledger_statement_days.gross + excluded.gross",
        )
        # And the series' daily money, as the poster keeps it beside them (every country
        # together).
        conn.execute(
            "INSERT INTO series_revenue_days (series_id, day, episode, partner_id, kind,"
            " currency, events, gross)"
            " SELECT series_id, CAST(occurred_at AT TIME ZONE 'UTC' AS date), episode,"
            "  partner_id, kind, currency, count(*), sum(amount)"
            " FROM partner_events WHERE external_id LIKE 'bench-%%' GROUP BY 1, 2, 3, 4, 5, 6"
            " ON CONFLICT (series_id, day, episode, partner_id, kind, currency) DO UPDATE SET"
            "  events = series_revenue_days.events + excluded.events,"
            "  gross = series_revenue_days.gross + excluded.gross",
        )
        conn.commit()
        conn.autocommit = True
        tables = ("episode_views", "episode_view_days", "partner_events",
                  "ledger_statement_days", "series_revenue_days")  # fmt: skip
        for table in tables:
            conn.execute(f"VACUUM ANALYZE {table}")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in tables
        }
        counts["unlocks_in_rollups"] = int(conn.execute(
            "SELECT sum(events) FROM ledger_statement_days"
        ).fetchone()[0])
    counts["load_s"] = round(time.perf_counter() - began, 1)
    return counts


def measure(app, owner_id: int, series: list[int], versions: tuple[int, int], requests: int):
    """p50/p95/max of the page per case, as the logged-in owner."""
    from marketplace.accounts.models import User
    from marketplace.accounts.sessions import start_session
    from marketplace.extensions import db

    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, owner_id)
        token = start_session(db.session, user)
        db.session.commit()
        user_id = user.get_id()
    with client.session_transaction() as session:
        session.update(_user_id=user_id, _fresh=True, _sid=token, _seen=int(time.time()))
    original, spanish = versions
    cases = {
        "30 days": lambda n: f"/studio/series/{series[n % len(series)]}/analytics?days=30",
        "90 days": lambda n: f"/studio/series/{series[n % len(series)]}/analytics?days=90",
        "30 days, one country": lambda n: (
            f"/studio/series/{series[n % len(series)]}/analytics?days=30&country=JP"
        ),
        "versions compared": lambda n: (
            f"/studio/series/{original}/analytics?days=30&compare={spanish}"
        ),
        "CSV, 30 days": lambda n: f"/studio/series/{series[n % len(series)]}/analytics.csv",
    }
    results = {}
    for name, path in cases.items():
        client.get(path(0))  # warm
        times = []
        for n in range(requests):
            began = time.perf_counter()
            response = client.get(path(n))
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (path(n), response.status_code)
        times.sort()
        results[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "max_ms": round(times[-1], 1),
        }
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    return results


def remeasure(args: argparse.Namespace) -> tuple[dict, dict]:
    """Measure the pages again on a database an earlier run kept (--keep), loading nothing."""
    from marketplace import create_app
    from marketplace.extensions import db

    sa_url = f"postgresql+psycopg://root@127.0.0.1:5432/{args.reuse}"
    with psycopg.connect(psycopg_url(sa_url)) as conn:
        series = [row[0] for row in conn.execute("SELECT id FROM series ORDER BY id")]
        owner_id = conn.execute("SELECT owner_id FROM series WHERE id = %s", [series[0]])
        owner_id = owner_id.fetchone()[0]
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("episode_views", "partner_events", "ledger_statement_days")
        }
    app = create_app({"SQLALCHEMY_DATABASE_URI": sa_url})
    results = measure(app, owner_id, series, (series[0], series[1]), args.requests)
    with app.app_context():
        db.engine.dispose()
    return counts, results


def main() -> int:
    args = arguments()
    if args.reuse:
        counts, results = remeasure(args)
        if args.json:
            print(json.dumps({"counts": counts, "pages": results}))
        return 0 if all(r["p95_ms"] < 100 for r in results.values()) else 1
    with own_database("analytics", keep=args.keep) as sa_url:
        url = psycopg_url(sa_url)
        env = dict(os.environ, DATABASE_URL=sa_url, FLASK_APP="wsgi:app")
        subprocess.run([str(ROOT / ".venv/bin/flask"), "db", "upgrade", "heads"], cwd=ROOT,
                       env=env, check=True, capture_output=True)  # fmt: skip
        partner_id, _, _, world = build_world(
            sa_url, series_count=args.series, days_live=400, free_episodes=5
        )
        series = [s.id for s in world]
        from marketplace import create_app
        from marketplace.extensions import db
        from marketplace.ingest.revenue import RevenueFacts, post_revenue
        from marketplace.partners.models import PartnerApp
        from marketplace.studio.models import Series

        app = create_app({"SQLALCHEMY_DATABASE_URI": sa_url})
        with app.app_context():
            for n, language in ((1, "es"), (2, "pt")):
                version = db.session.get(Series, series[n])
                version.original_series_id, version.language = series[0], language
            partner = db.session.get(PartnerApp, partner_id)
            at = datetime.now(UTC) - timedelta(days=1)
            post_revenue(db.session, partner, [
                RevenueFacts(10**12 + n, sid, 99, at, episode=6, country="US")
                for n, sid in enumerate(series)
            ])  # fmt: skip
            owner_id = db.session.get(Series, series[0]).owner_id
            db.session.commit()
        counts = load(url, partner_id, series, args)
        print(f"loaded: {json.dumps(counts)}", flush=True)
        results = measure(app, owner_id, series, (series[0], series[1]), args.requests)
        with app.app_context():
            db.engine.dispose()
    if args.json:
        print(json.dumps({"counts": counts, "pages": results}))
    return 0 if all(r["p95_ms"] < 100 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
