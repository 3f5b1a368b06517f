"""Benchmark the partner API's unlock endpoint end to end on PostgreSQL under gunicorn.

Creates a fresh database (default cliff_api_bench), migrates it (`flask db upgrade heads`),
loads one partner app, 50 live series of 80 episodes with 3-6 participants each, starts
`gunicorn -w 2 wsgi:app`, then posts N unlocks (default 1,000,000) in signed batches of 1,000
from this separate process over keep-alive HTTP connections. Prints unlocks/s, p50/p99 request
latency, the server's RSS (per process, sampled every 0.5 s: start, peak, end), then checks
that every event was recorded once and, as a baseline, COPYs the same number of raw unlock rows
into an unlogged partner_events-shaped table.

    .venv/bin/python bench/ingest.py [--events N] [--workers 2] [--clients 3] [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from world import build_world  # noqa: E402

from marketplace.ingest.auth import signature  # noqa: E402

ADMIN_URL = "postgresql://root@127.0.0.1:5432/postgres"
SECRET_KEY = "bench-secret-key"
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "MX", "KR", "ID"]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="cliff_api_bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=3, help="concurrent HTTP connections")
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--check", action="store_true", help="flask ledger check at the end")
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=20.0,
        help="seconds between VACUUM ANALYZE of the ledger's hot tables during the run, standing"
        " in for autovacuum (off on the dev box); 0 disables. Counted in the timing.",
    )
    return parser.parse_args()


def recreate_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(url: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        CLIFFHANGER_ENV="production",
        # Production refuses to start without Stripe's keys; ingestion never calls Stripe.
        STRIPE_SECRET_KEY="sk_test_bench_never_called",
        STRIPE_WEBHOOK_SECRET="whsec_bench_never_called",
        FLASK_APP="wsgi:app",
    )


def random_teams(seed: int = 7):
    """3-6 participants a series with random weights (bps summing to 10,000), reproducibly."""
    rng = random.Random(seed)

    def team(_n: int) -> list[int]:
        weights = [rng.randint(1, 10) for _ in range(rng.randint(3, 6))]
        bps = [10_000 * w // sum(weights) for w in weights]
        bps[0] += 10_000 - sum(bps)
        return bps

    return team


def start_server(url: str, workers: int, port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--keep-alive",
        "30",
        "wsgi:app",
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=server_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu(url: str, database: str) -> float:
    """CPU seconds used so far by this database's PostgreSQL backends (the server's pool and the
    vacuumer: they connect during the run), read from /proc on this same machine."""
    with psycopg.connect(url) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
        ]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


class RssSampler(threading.Thread):
    """Samples the RSS of gunicorn's master and workers every 0.5 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                self.samples.append({p: rss_mb(p) for p in process_tree(self.pid)})
            self.stop.wait(0.5)


class Vacuumer(threading.Thread):
    """What autovacuum would do during the run: the ledger's hot small tables are updated every
    batch, and their dead row versions slow every look-up until vacuumed."""

    def __init__(self, url: str, every: float):
        super().__init__(daemon=True)
        self.url, self.every, self.stop, self.runs = url, every, threading.Event(), 0

    def run(self) -> None:
        from ledger_post import HOT_TABLES

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(self.every):
                conn.execute(f"VACUUM ANALYZE {', '.join(HOT_TABLES)}")
                self.runs += 1


def make_batch(rng, start_index, size, series):
    now = datetime.now(UTC)
    events = []
    for i in range(start_index, start_index + size):
        series_id, free = series[rng.randrange(len(series))]
        moment = now - timedelta(seconds=rng.randrange(600))
        events.append(
            {
                "id": f"bench-{i}",
                "series_id": series_id,
                "episode": rng.randint(free + 1, 80),
                "amount": rng.choice([49, 99, 199]),
                "currency": "USD",
                "occurred_at": moment.isoformat(),
                "country": rng.choice(COUNTRIES),
                "viewer": f"v{rng.randrange(10**6)}",
            }
        )
    return json.dumps({"events": events}).encode()


def client(port, key_id, secret, jobs, latencies, failures, series):
    rng = random.Random(threading.get_ident())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while True:
        job = jobs.get()
        if job is None:
            return
        body = make_batch(rng, *job, series)
        stamp = str(int(time.time()))
        headers = {
            "X-Cliffhanger-Key": key_id,
            "X-Cliffhanger-Timestamp": stamp,
            "X-Cliffhanger-Signature": signature(secret, stamp, body),
            "Content-Type": "application/json",
        }
        for _attempt in range(3):  # as the API asks: a 409 (concurrent request) is retried
            began = time.perf_counter()
            conn.request("POST", "/api/v1/unlocks", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 409:
                break
            failures.append(("retried", response.status, payload[:200]))
        if response.status != 200 or b'"rejected"' in payload:
            failures.append((response.status, payload[:300]))


def copy_baseline(url: str, count: int, batch: int) -> float:
    """Raw COPY of per-unlock rows into an unlogged table shaped like partner_events."""
    now = datetime.now(UTC).isoformat()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE UNLOGGED TABLE copy_baseline (LIKE partner_events INCLUDING ALL)")
        conn.commit()
        began = time.perf_counter()
        for start in range(0, count, batch):
            rows = "".join(
                f"1\tcopy-{i}\tunlock\taccepted\t1\t7\t99\tUSD\t{now}\tUS\tv{i}\t{'0' * 64}"
                f"\t\\N\t\\N\t\\N\t{now}\n"
                for i in range(start, min(count, start + batch))
            )
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY copy_baseline (partner_id, external_id, kind, status, series_id, episode,"
                    " amount, currency, occurred_at, country, viewer, content_hash, refund_of,"
                    " entry_id, details, created_at) FROM STDIN"
                ) as copy,
            ):
                copy.write(rows.encode())
            conn.commit()
        elapsed = time.perf_counter() - began
        conn.execute("DROP TABLE copy_baseline")
        conn.commit()
    return count / elapsed


def main() -> None:
    args = arguments()
    url = f"postgresql://root@127.0.0.1:5432/{args.database}"
    recreate_database(args.database)
    env = server_env(url.replace("postgresql:", "postgresql+psycopg:"))
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "db", "upgrade", "heads"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    _, key_id, secret, world = build_world(
        env["DATABASE_URL"], series_count=args.series, team_bps=random_teams()
    )
    series = [(s.id, s.free_episodes) for s in world]
    server = start_server(env["DATABASE_URL"], args.workers, args.port)
    sampler = RssSampler(server.pid)
    sampler.start()
    jobs: queue.Queue = queue.Queue()
    for start in range(0, args.events, args.batch):
        jobs.put((start, min(args.batch, args.events - start)))
    for _ in range(args.clients):
        jobs.put(None)
    latencies: list[float] = []
    failures: list = []
    threads = [
        threading.Thread(
            target=client, args=(args.port, key_id, secret, jobs, latencies, failures, series)
        )
        for _ in range(args.clients)
    ]
    vacuumer = Vacuumer(url, args.vacuum_every) if args.vacuum_every > 0 else None
    client_cpu = sum(os.times()[:2])
    worker_cpu = sum(cpu_seconds(pid) for pid in process_tree(server.pid)[1:])  # app start-up
    began = time.perf_counter()
    if vacuumer:
        vacuumer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    client_cpu = sum(os.times()[:2]) - client_cpu
    worker_cpu = sum(cpu_seconds(pid) for pid in process_tree(server.pid)[1:]) - worker_cpu
    database_cpu = backend_cpu(url, args.database)
    if vacuumer:
        vacuumer.stop.set()
        vacuumer.join()
        print(f"VACUUM ANALYZE of the hot tables: {vacuumer.runs} runs during the timing")
    sampler.stop.set()
    sampler.join()
    server.terminate()
    server.wait(30)
    with psycopg.connect(url) as conn:
        recorded = conn.execute("SELECT count(*) FROM partner_events").fetchone()[0]
        entries = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
    latencies.sort()
    workers = [{pid: mb for pid, mb in s.items() if pid != server.pid} for s in sampler.samples]
    peak_worker = max((mb for s in workers for mb in s.values()), default=0.0)
    peak_total = max((sum(s.values()) for s in sampler.samples), default=0.0)
    first = sampler.samples[1] if len(sampler.samples) > 1 else {}
    last = sampler.samples[-1] if sampler.samples else {}
    print(
        f"events: {args.events} in batches of {args.batch}, {args.clients} connections, "
        f"gunicorn -w {args.workers}"
    )
    print(f"unlocks/s: {args.events / elapsed:,.0f}  ({elapsed:.1f} s)")
    print(
        f"request latency: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms"
    )
    print(
        f"server RSS MB: peak worker {peak_worker:.0f}, peak total {peak_total:.0f}; "
        f"workers at start {sorted(round(v) for v in first.values())}, "
        f"at end {sorted(round(v) for v in last.values())}"
    )
    per = 1000 / args.events * 1000
    print(
        f"CPU ms per 1,000 unlocks: gunicorn workers {worker_cpu * per:.0f}, PostgreSQL backends"
        f" {database_cpu * per:.0f}, this client {client_cpu * per:.0f}"
        f" (2 cores: {elapsed * 2 * per:.0f} ms of CPU available)"
    )
    retried = [f for f in failures if f[0] == "retried"]
    print(
        f"recorded events: {recorded} (expected {args.events}); ledger entries: {entries}; "
        f"requests retried after a 409: {len(retried)}; "
        f"failed requests: {len(failures) - len(retried)}"
    )
    for failure in failures[:3]:
        print("  failure:", failure)
    print(f"baseline raw COPY: {copy_baseline(url, args.events, args.batch):,.0f} rows/s")
    if args.check:
        result = subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "ledger", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        print((result.stdout + result.stderr).strip())


if __name__ == "__main__":
    main()
