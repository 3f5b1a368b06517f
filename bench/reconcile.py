"""Benchmark reconciling a partner's report of a month against the event log on PostgreSQL.

Creates a database of its own (bench/scratch.py, dropped at the end), migrates it (`flask db
upgrade heads`), loads one partner app with 10 live series (bench/world.py), then inserts N
events of one month straight into partner_events with bulk SQL (every 100th a refund of the
one before; not through the API: what is measured is the reconciliation), writes the partner's
report of them as a CSV (seeded: K lines each whose amount, currency or date differs, K events
left out, K lines we never received), and times

    flask settlements reconcile --partner BenchBox --period YYYY-MM FILE --format json

as its own process: wall time and that process's peak RSS. Then checks that the report names
every seeded difference, and nothing else.

    .venv/bin/python bench/reconcile.py [--events 1000000] [--differences 1000] [--seed 15]
        [--json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import own_database, psycopg_url  # noqa: E402
from world import build_world  # noqa: E402

PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD = "2026-11"
SPREAD_SECONDS = 29 * 86400
"""Events fall in the first 29 days of the month (a date moved by a day stays inside it)."""
PRICE = 99


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--differences", type=int, default=1_000, help="seeded lines per class")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="one JSON line of figures at the end")
    parser.add_argument("--keep", action="store_true", help="keep the database (and the report)")
    return parser.parse_args()


def env_for(url: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=url,
        FLASK_APP="wsgi:app",
        RECONCILE_MAX_BYTES=str(1 << 30),
        LOG_LEVEL="WARNING",
    )


def is_refund(g: int) -> bool:
    return g % 100 == 0


def moment(g: int) -> datetime:
    """Event g's occurred_at (a refund: a minute after its unlock's)."""
    base = g - 1 if is_refund(g) else g
    return PERIOD_START + timedelta(seconds=base % SPREAD_SECONDS + (60 if is_refund(g) else 0))


def load_events(url: str, partner_id: int, series: list[int], versions: dict[int, int], n: int):
    """N events of the month by bulk SQL: unlocks b-g, and every 100th g a refund of b-(g-1)."""
    count = len(series)
    cases = " ".join(f"WHEN {i} THEN {s}" for i, s in enumerate(series))
    version_cases = " ".join(f"WHEN {s} THEN {v}" for s, v in versions.items())
    start = PERIOD_START.isoformat()
    with psycopg.connect(url) as conn:
        conn.execute(
            f"""
            INSERT INTO partner_events (partner_id, external_id, kind, status, series_id,
                episode, amount, currency, occurred_at, content_hash, split_version_id,
                available_at, created_at)
            SELECT %(p)s, 'b-' || g, 'unlock',
                CASE WHEN g %% 100 = 99 THEN 'refunded' ELSE 'accepted' END,
                s, 6 + g %% 70, {PRICE}, 'USD',
                CAST(%(start)s AS timestamptz) + make_interval(secs => g %% {SPREAD_SECONDS}),
                md5(g::text) || md5(g::text), CASE s {version_cases} END,
                CAST(%(start)s AS timestamptz) + make_interval(secs => g %% {SPREAD_SECONDS}), now()
            FROM (SELECT g, CASE g %% {count} {cases} END AS s
                  FROM generate_series(1, %(n)s) AS g WHERE g %% 100 <> 0) AS events
            """,
            {"p": partner_id, "start": start, "n": n},
        )
        conn.execute(
            """
            INSERT INTO partner_events (partner_id, external_id, kind, status, series_id,
                episode, amount, currency, occurred_at, content_hash, refund_of,
                split_version_id, available_at, created_at)
            SELECT partner_id, 'b-' || (substr(external_id, 3)::bigint + 1), 'refund', 'accepted',
                series_id, episode, amount, currency, occurred_at + interval '60 seconds',
                md5(external_id), id, split_version_id, available_at, now()
            FROM partner_events
            WHERE partner_id = %(p)s AND kind = 'unlock' AND status = 'refunded'
            """,
            {"p": partner_id},
        )
        conn.execute("ANALYZE partner_events")


def seed_differences(n: int, k: int, seed: int) -> dict[str, set[int]]:
    """Disjoint sets of event numbers, k each, for every class of difference."""
    rng = random.Random(seed)
    picked = rng.sample(range(1, n + 1), 4 * k)
    return {
        "amount_differs": set(picked[:k]),
        "currency_differs": set(picked[k : 2 * k]),
        "date_differs": set(picked[2 * k : 3 * k]),
        "only_ours": set(picked[3 * k :]),
    }


def write_report(path: Path, series: list[int], n: int, k: int, seeded: dict) -> set:
    """The partner's CSV; returns the (class, event id) the reconciliation must name."""
    expected = {(kind, f"b-{g}") for kind, numbers in seeded.items() for g in numbers}
    changed = {g: kind for kind, numbers in seeded.items() for g in numbers}
    count = len(series)
    with path.open("w", buffering=1 << 20) as out:
        out.write("event_id,series_id,episode,amount_minor,currency,occurred_at\n")
        for g in range(1, n + 1):
            kind = changed.get(g)
            if kind == "only_ours":
                continue
            base = g - 1 if is_refund(g) else g
            amount = -PRICE if is_refund(g) else PRICE
            currency, when = "USD", moment(g)
            if kind == "amount_differs":
                amount += 1
            elif kind == "currency_differs":
                currency = "EUR"
            elif kind == "date_differs":
                when += timedelta(days=1)
            out.write(
                f"b-{g},{series[base % count]},{6 + base % 70},{amount},{currency},"
                f"{when.isoformat()}\n"
            )
        for j in range(1, k + 1):
            out.write(f"late-{j},{series[0]},7,{PRICE},USD,{moment(j).isoformat()}\n")
            expected.add(("only_theirs", f"late-{j}"))
    return expected


def reconcile(env: dict, path: Path, output: Path) -> tuple[float, int]:
    """Run the CLI as its own process: (wall seconds, peak RSS in bytes)."""
    command = [str(ROOT / ".venv/bin/flask"), "settlements", "reconcile", "--partner",
               "BenchBox", "--period", PERIOD, str(path), "--format", "json"]  # fmt: skip
    started = time.perf_counter()
    with output.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"reconcile failed with {process.returncode}")
    return wall, usage.ru_maxrss * 1024


def main() -> int:
    args = arguments()
    with own_database("reconcile", keep=args.keep) as sa_url:
        env = env_for(sa_url)
        subprocess.run([str(ROOT / ".venv/bin/flask"), "db", "upgrade", "heads"], cwd=ROOT,
                       env=env, check=True, capture_output=True)  # fmt: skip
        os.environ.update(env)
        partner_id, _, _, world = build_world(sa_url, series_count=10, episodes=80)
        series = [s.id for s in world]
        url = psycopg_url(sa_url)
        with psycopg.connect(url) as conn:
            versions = dict(conn.execute("SELECT series_id, id FROM split_versions").fetchall())
        started = time.perf_counter()
        load_events(url, partner_id, series, versions, args.events)
        loaded = time.perf_counter() - started
        seeded = seed_differences(args.events, args.differences, args.seed)
        tmp = Path(tempfile.mkdtemp(prefix="reconcile-"))
        path, output = tmp / "report.csv", tmp / "out.json"
        try:
            expected = write_report(path, series, args.events, args.differences, seeded)
            size = path.stat().st_size
            wall, rss = reconcile(env, path, output)
            result = json.loads(output.read_bytes())
        finally:
            if args.keep:
                print(f"kept the report {path}", flush=True)
            else:
                shutil.rmtree(tmp)
        named = {(line["kind"], line["event_id"]) for line in result["differing"]}
        exact = named == expected
        figures = {
            "events": args.events,
            "lines": result["lines"],
            "file_mb": round(size / 1e6, 1),
            "load_s": round(loaded, 1),
            "reconcile_s": round(wall, 1),
            "peak_rss_mb": round(rss / 1e6, 1),
            "counts": result["counts"],
            "seeded": len(expected),
            "named_exactly": exact,
            "missed": len(expected - named),
            "extra": len(named - expected),
        }
    print(f"{args.events:,} events loaded in {loaded:.1f} s; report {result['lines']:,} lines "
          f"({size / 1e6:.1f} MB)")  # fmt: skip
    print(f"reconcile: {wall:.1f} s wall, peak RSS {rss / 1e6:.1f} MB")
    print("counts: " + ", ".join(f"{k} {v:,}" for k, v in result["counts"].items()))
    print(f"seeded differences named exactly: {exact} ({len(expected):,} seeded, "
          f"{figures['missed']} missed, {figures['extra']} extra)")  # fmt: skip
    if args.json:
        print(json.dumps(figures))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
