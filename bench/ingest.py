"""Benchmark the partner API's unlock endpoint end to end on PostgreSQL under gunicorn, with
the ledger poster (`flask ledger post`) posting beside it.

Creates a database of its own (bench/scratch.py, dropped at the end), migrates it (`flask db
upgrade heads`), loads one partner app, 50 live series of 80 episodes with 3-6 participants each,
starts `gunicorn -w 2 wsgi:app` on 127.0.0.1 (a free port), then posts N unlocks (default
1,000,000) in signed batches of 1,000 from this separate process over keep-alive HTTP
connections. Prints unlocks/s, p50/p99 request latency, the server's RSS (per process, sampled
every 0.5 s: start, peak, end), the CPU per 1,000 unlocks of the workers, PostgreSQL and this
client, then checks that every event was recorded once and, as a baseline, COPYs the same number
of raw unlock rows into an unlogged partner_events-shaped table (with --json, also one JSON line
at the end).

    .venv/bin/python bench/ingest.py [--events N] [--workers 2] [--clients 3] [--check] [--json]
        [--plan flat|three-tier|both] [--mix [--rounds N] [--views N] [--view-rows N]]
        [--rate EVENTS_PER_S] [--soak] [--progress SECONDS]

A soak: `--soak --rate R --events N` sends N events at R a second, prints a progress line
every 10 s (events sent, not yet posted, the poster's lag, the RSS of the workers and the
poster) and runs `flask ledger check` at the end; the report gives the lag's p99 and max and
the RSS at start, peak and end.

--plan three-tier gives every series a revenue plan of three recoupment tiers (the poster
posts each unlock twice: the split, then the series' waterfall); --plan both runs flat, then
three-tier, each on a database of its own, and compares them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import own_database, psycopg_url  # noqa: E402
from world import build_world  # noqa: E402

from marketplace.ingest.api.auth import signature_header_v2  # noqa: E402

SECRET_KEY = "bench-secret-key-not-for-production-use"
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "MX", "KR", "ID"]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=3, help="concurrent HTTP connections")
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (0: a free one)")
    parser.add_argument("--check", action="store_true", help="flask ledger check at the end")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=20.0,
        help="seconds between VACUUM ANALYZE of the ledger's hot tables during the run, standing"
        " in for autovacuum (off on the dev box); 0 disables. Counted in the timing.",
    )
    parser.add_argument(
        "--progress",
        type=float,
        default=0.0,
        help="every this many seconds, print one line: events sent, accepted/s so far, events"
        " not yet posted, the poster's lag, the RSS of the workers and the poster (for soaks);"
        " 0: off",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="send the events at this many a second (batches released on a fixed clock), not as"
        " fast as the server answers; 0: as fast as possible",
    )
    parser.add_argument(
        "--soak",
        action="store_true",
        help="a soak: --progress 10 unless given, and --check (flask ledger check at the end);"
        " with --rate, a steady load whose RSS and lag the progress lines record",
    )
    parser.add_argument(
        "--plan",
        choices=["flat", "three-tier", "both"],
        default="flat",
        help="every series split flat, or through a three-tier revenue plan (recoupment, then"
        " the split), or both one after the other in this run (each on a database of its own)",
    )
    parser.add_argument(
        "--mix",
        action="store_true",
        help="rounds of unlocks alone, then interleaved with coin unlocks, purchases and view"
        " counts, in turn, in one run: the medians of each (bench/ingest_mix.py)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="--mix: pairs of phases (alone, mix)"
    )
    parser.add_argument("--views", type=int, default=10_000_000, help="--mix: view counts")
    parser.add_argument("--view-rows", type=int, default=20_000, help="--mix: view rows")
    args = parser.parse_args()
    if args.soak:
        args.check = True
        args.progress = args.progress or 10.0
    return args


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(url: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        CLIFFHANGER_ENV="production",
        # Production refuses to start without Stripe's keys; ingestion never calls Stripe.
        STRIPE_SECRET_KEY="sk_test_bench_never_called_" + "x" * 16,
        STRIPE_WEBHOOK_SECRET="whsec_bench_never_called_" + "x" * 16,
        # Production keeps rate limits in a shared storage: the local Redis.
        RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
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


def log_file() -> Any:
    """An unnamed temporary file for a child's log lines: a pipe nobody reads fills up after
    ~64 KB (a few hundred requests' log lines) and then blocks the child's every write."""
    return tempfile.TemporaryFile()


def tail(stream: Any) -> str:
    """The last 2,000 characters a child wrote to its log_file()."""
    stream.seek(0)
    return stream.read().decode(errors="replace")[-2000:]


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
    log = log_file()
    server = subprocess.Popen(
        command, cwd=ROOT, env=server_env(url), stdout=subprocess.DEVNULL, stderr=log
    )
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: {tail(log)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn (master and workers), killing it if it takes over 30 s."""
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


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


class LagSampler(threading.Thread):
    """Every 0.5 s, how long the oldest accepted event not yet posted has waited (0 when the
    poster has caught up): the poster's lag, from the event log and its cursors."""

    # Only the shards of partner apps: an empty shard's cursor moves only when the poster
    # visits it, and scanning from there past every other shard's event cost seconds a sample
    # (and a core) at a million events.
    SHARDS = "(SELECT DISTINCT id % 4 FROM partner_apps)"
    SQL = (
        "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(e.created_at)), 0)"
        " FROM ingest_poster_cursors c JOIN LATERAL (SELECT created_at FROM partner_events e"
        " WHERE e.partner_id % 4 = c.shard AND (e.txid, e.id) > (c.txid, c.event_id)"
        f" ORDER BY e.txid, e.id LIMIT 1) e ON true WHERE c.shard IN {SHARDS}"
    )

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.samples, self.stop = url, [], threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.5):
                self.samples.append(float(conn.execute(self.SQL).fetchone()[0]))

    def pending(self) -> int:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM ingest_poster_cursors c JOIN partner_events e"
                " ON e.partner_id % 4 = c.shard AND (e.txid, e.id) > (c.txid, c.event_id)"
                f" WHERE c.shard IN {self.SHARDS}"
            ).fetchone()[0]


class Progress(threading.Thread):
    """Prints a line every `every` seconds while the run goes (a soak's record, flushed)."""

    def __init__(self, every: float, run: Run, server: int, poster: int, lag: LagSampler):
        super().__init__(daemon=True)
        self.every, self.run_, self.server, self.poster, self.lag = every, run, server, poster, lag
        self.stop = threading.Event()

    def run(self) -> None:
        began = time.perf_counter()
        while not self.stop.wait(self.every):
            elapsed = time.perf_counter() - began
            sent = len(self.run_.latencies) * self.run_.args.batch
            workers = [round(rss_mb(p)) for p in process_tree(self.server)[1:]]
            lag = self.lag.samples[-1] if self.lag.samples else 0.0
            print(
                f"progress {elapsed:7.0f} s: {sent:,} sent ({sent / elapsed:,.0f}/s);"
                f" {self.lag.pending():,} not yet posted, lag {lag:.1f} s;"
                f" RSS MB workers {workers}, poster {rss_mb(self.poster):.0f}",
                flush=True,
            )


def start_poster(url: str) -> subprocess.Popen:
    """The ledger poster, as production runs it beside the web workers."""
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/flask"), "ledger", "post", "--interval", "0.05"],
        cwd=ROOT,
        env=server_env(url),
        stdout=subprocess.DEVNULL,
        stderr=log_file(),
    )


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
            "X-Cliffhanger-Signature": signature_header_v2(
                secret, stamp, "POST", "/api/v1/unlocks", b"", body
            ),
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


def feed(jobs: queue.Queue, batches: list, clients: int, rate: float) -> None:
    """Hand the clients their batches: all at once, or (rate > 0) each when the clock says
    that many events a second would have sent it (a client behind catches up, never ahead)."""
    began = time.perf_counter()
    sent = 0
    for start, size in batches:
        if rate > 0:
            delay = began + sent / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        jobs.put((start, size))
        sent += size
    for _ in range(clients):
        jobs.put(None)


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


class Run:
    """The timed part: gunicorn serving, the clients posting every batch, the samplers."""

    def __init__(self, args: argparse.Namespace, url: str, key: tuple[str, str], series):
        self.args, self.url, self.key, self.series = args, url, key, series
        self.latencies: list[float] = []
        self.failures: list = []

    def go(self, server: subprocess.Popen, port: int, poster: subprocess.Popen) -> None:
        args = self.args
        sampler = RssSampler(server.pid)
        sampler.start()
        lag = LagSampler(self.url)
        poster_cpu = cpu_seconds(poster.pid)
        jobs: queue.Queue = queue.Queue()
        batches = [
            (start, min(args.batch, args.events - start))
            for start in range(0, args.events, args.batch)
        ]
        feeder = threading.Thread(
            target=feed, args=(jobs, batches, args.clients, args.rate), daemon=True
        )
        client_args = (port, *self.key, jobs, self.latencies, self.failures)
        threads = [
            threading.Thread(target=client, args=(*client_args, self.series), daemon=True)
            for _ in range(args.clients)
        ]
        vacuumer = Vacuumer(self.url, args.vacuum_every) if args.vacuum_every > 0 else None
        client_cpu = sum(os.times()[:2])
        worker_cpu = sum(cpu_seconds(pid) for pid in process_tree(server.pid)[1:])  # start-up
        began = time.perf_counter()
        progress = Progress(args.progress, self, server.pid, poster.pid, lag)
        if vacuumer:
            vacuumer.start()
        lag.start()
        if args.progress > 0:
            progress.start()
        feeder.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.elapsed = time.perf_counter() - began
        while lag.pending() and poster.poll() is None:  # the poster's tail, after the last request
            time.sleep(0.5)
        self.drained = time.perf_counter() - began
        progress.stop.set()
        lag.stop.set()
        lag.join()
        self.lags = sorted(lag.samples) or [0.0]
        self.poster_cpu = cpu_seconds(poster.pid) - poster_cpu
        self.client_cpu = sum(os.times()[:2]) - client_cpu
        self.worker_cpu = sum(cpu_seconds(pid) for pid in process_tree(server.pid)[1:]) - worker_cpu
        self.database_cpu = backend_cpu(self.url, self.url.rsplit("/", 1)[1])
        if vacuumer:
            vacuumer.stop.set()
            vacuumer.join()
            print(f"VACUUM ANALYZE of the hot tables: {vacuumer.runs} runs during the timing")
        sampler.stop.set()
        sampler.join()
        self.samples = sampler.samples
        self.server_pid = server.pid

    def report(self, recorded: int, entries: int) -> dict:
        """Print the figures; returns them."""
        args, latencies = self.args, sorted(self.latencies)
        workers = [{p: mb for p, mb in s.items() if p != self.server_pid} for s in self.samples]
        peak_worker = max((mb for s in workers for mb in s.values()), default=0.0)
        peak_total = max((sum(s.values()) for s in self.samples), default=0.0)
        first = workers[1] if len(workers) > 1 else {}
        last = workers[-1] if workers else {}
        rate = args.events / self.elapsed
        p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
        print(
            f"events: {args.events} in batches of {args.batch}, {args.clients} connections, "
            f"gunicorn -w {args.workers}"
        )
        print(f"unlocks/s accepted: {rate:,.0f}  ({self.elapsed:.1f} s)")
        posted_rate = args.events / self.drained
        lag_p99 = self.lags[max(0, int(len(self.lags) * 0.99) - 1)]
        print(
            f"posted to the ledger: all within {self.drained:.1f} s ({posted_rate:,.0f}/s);"
            f" poster lag p99 {lag_p99:.1f} s, max {self.lags[-1]:.1f} s"
        )
        print(f"request latency: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
        print(
            f"server RSS MB: peak worker {peak_worker:.0f}, peak total {peak_total:.0f}; "
            f"workers at start {sorted(round(v) for v in first.values())}, "
            f"at end {sorted(round(v) for v in last.values())}"
        )
        per = 1000 / args.events * 1000
        cores = os.cpu_count() or 1
        cpu = {
            "workers": round(self.worker_cpu * per),
            "poster": round(self.poster_cpu * per),
            "postgresql": round(self.database_cpu * per),
            "client": round(self.client_cpu * per),
            "available": round(self.elapsed * cores * per),
        }
        print(
            f"CPU ms per 1,000 unlocks: gunicorn workers {cpu['workers']}, poster {cpu['poster']},"
            f" PostgreSQL backends"
            f" {cpu['postgresql']}, this client {cpu['client']}"
            f" ({cores} cores: {cpu['available']} ms of CPU available)"
        )
        retried = [f for f in self.failures if f[0] == "retried"]
        failed = len(self.failures) - len(retried)
        print(
            f"recorded events: {recorded} (expected {args.events}); ledger entries: {entries}; "
            f"requests retried after a 409: {len(retried)}; failed requests: {failed}"
        )
        for failure in self.failures[:3]:
            print("  failure:", failure)
        return {
            "events": args.events,
            "workers": args.workers,
            "clients": args.clients,
            "unlocks_per_s": round(rate),
            "elapsed_s": round(self.elapsed, 1),
            "posted_per_s": round(posted_rate),
            "drained_s": round(self.drained, 1),
            "lag_p99_s": round(lag_p99, 2),
            "lag_max_s": round(self.lags[-1], 2),
            "p50_ms": round(p50 * 1000),
            "p99_ms": round(p99 * 1000),
            "rss_peak_total_mb": round(peak_total),
            "rss_workers_mb": [sorted(round(v) for v in w.values()) for w in (first, last)],
            "cpu_ms_per_1000": cpu,
            "recorded": recorded,
            "entries": entries,
            "retried": len(retried),
            "failed": failed,
        }


def bench(args: argparse.Namespace, sa_url: str) -> dict:
    """Migrate and load the database at sa_url, serve it, post every event; returns the figures."""
    url = psycopg_url(sa_url)
    env = server_env(sa_url)
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "db", "upgrade", "heads"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    _, key_id, secret, world = build_world(
        sa_url,
        series_count=args.series,
        team_bps=random_teams(),
        plan_tiers=3 if args.plan == "three-tier" else 0,
    )
    run = Run(args, url, (key_id, secret), [(s.id, s.free_episodes) for s in world])
    port = args.port or free_port()
    server = start_server(sa_url, args.workers, port)
    poster = start_poster(sa_url)
    try:
        run.go(server, port, poster)
    finally:
        stop_server(server)
        poster.terminate()
        poster.wait(30)
    with psycopg.connect(url) as conn:
        recorded = conn.execute("SELECT count(*) FROM partner_events").fetchone()[0]
        entries = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
    result = run.report(recorded, entries)
    result["copy_rows_per_s"] = round(copy_baseline(url, args.events, args.batch))
    print(f"baseline raw COPY: {result['copy_rows_per_s']:,} rows/s")
    result["check_ok"] = None
    if args.check:
        check = subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "ledger", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        print((check.stdout + check.stderr).strip())
        result["check_ok"] = check.returncode == 0
    return result


def main() -> int:
    args = arguments()
    if args.mix:
        from ingest_mix import run_mix

        return run_mix(args)
    modes = ["flat", "three-tier"] if args.plan == "both" else [args.plan]
    results = {}
    for mode in modes:
        print(f"--- series split {mode}")
        with own_database("ingest", keep=args.keep) as url:
            results[mode] = bench(argparse.Namespace(**{**vars(args), "plan": mode}), url)
    if len(results) == 2:
        flat, plan = results["flat"], results["three-tier"]
        for figure in ("unlocks_per_s", "posted_per_s"):
            print(
                f"{figure}: three-tier {plan[figure]:,} vs flat {flat[figure]:,}"
                f" ({plan[figure] / flat[figure] - 1:+.1%})"
            )
        poster = (plan["cpu_ms_per_1000"]["poster"], flat["cpu_ms_per_1000"]["poster"])
        print(f"poster CPU ms per 1,000 unlocks: three-tier {poster[0]} vs flat {poster[1]}")
    if args.json:
        print(json.dumps(results if len(results) == 2 else results[modes[0]]))
    complete = all(
        r["recorded"] == args.events and not r["failed"] and r["check_ok"] is not False
        for r in results.values()
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
