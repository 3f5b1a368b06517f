"""`bench/ingest.py --mix`: unlock throughput with the other revenue types interleaved, against
unlocks alone, in the same run (same database, gunicorn and poster).

--rounds R pairs of timed phases of U unlocks each (--events, batches of 1,000, --clients
connections), in turn: unlocks alone, the mix, alone, the mix, ... so that the machine's drift
and other tenants' bursts fall on both sides alike. In a mix phase one more connection posts,
interleaved while the unlock clients run: coin unlocks (U/10), purchases (U/100) and a share of
the view counts (--view-rows rows over all the mix phases, 1,000 a request, adding up to
--views views, 10M by default: pre-aggregated counts, as partner apps send them). The unlock
throughput of the mix phases' median is compared with the alone phases' median, each with its
spread (min-max), and each mix phase with the alone phases on either side of it (the median of
those ratios: the machine's drift over the run cancels out of them); each type's own rate, the
poster's drain and the checks (every event recorded once, views summed) follow.
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import ingest
import psycopg
from scratch import own_database, psycopg_url
from world import build_world

from marketplace.ingest.api.auth import signature_header_v2


def _unlocks(rng, start, size, series):
    return "/api/v1/unlocks", ingest.make_batch(rng, start, size, series)


def _coins(rng, start, size, series):
    now = datetime.now(UTC)
    events = []
    for i in range(start, start + size):
        series_id, free = series[rng.randrange(len(series))]
        events.append({
            "id": f"coin-{i}", "series_id": series_id, "episode": rng.randint(free + 1, 80),
            "coins": rng.choice([60, 90, 120]), "bonus_coins": rng.choice([0, 0, 20]),
            "occurred_at": (now - timedelta(seconds=rng.randrange(600))).isoformat(),
            "country": rng.choice(ingest.COUNTRIES),
        })  # fmt: skip
    return "/api/v1/coin-unlocks", json.dumps({"events": events}).encode()


def _purchases(rng, start, size, series):
    now = datetime.now(UTC)
    events = []
    for i in range(start, start + size):
        series_id, _ = series[rng.randrange(len(series))]
        price = rng.choice([999, 1999, 4999])
        events.append({
            "id": f"buy-{i}", "series_id": series_id, "episode": rng.randint(1, 80),
            "product": "Scarf", "price": price, "commission": price // 5, "currency": "USD",
            "occurred_at": (now - timedelta(seconds=rng.randrange(600))).isoformat(),
        })  # fmt: skip
    return "/api/v1/purchases", json.dumps({"events": events}).encode()


def _views(rng, start, size, series, per_row):
    """View rows: distinct (series, episode, day, country) keys from the row index."""
    today = datetime.now(UTC).date()
    rows = []
    for i in range(start, start + size):
        series_id, _ = series[i % len(series)]
        rest = i // len(series)
        rows.append({
            "series_id": series_id, "episode": rest % 80 + 1,
            "day": (today - timedelta(days=(rest // 80) % 28)).isoformat(),
            "country": ingest.COUNTRIES[(rest // (80 * 28)) % len(ingest.COUNTRIES)],
            "starts": per_row, "completions": per_row * 4 // 5,
        })  # fmt: skip
    return "/api/v1/views", json.dumps({"events": rows}).encode()


def _client(port, key_id, secret, jobs, timings, failures):
    rng = random.Random(threading.get_ident())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while True:
        job = jobs.get()
        if job is None:
            return
        kind, make, args = job
        path, body = make(rng, *args)
        stamp = str(int(time.time()))
        headers = {
            "X-Cliffhanger-Key": key_id,
            "X-Cliffhanger-Timestamp": stamp,
            "X-Cliffhanger-Signature": signature_header_v2(secret, stamp, "POST", path, b"", body),
            "Content-Type": "application/json",
        }
        for _attempt in range(3):
            began = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            timings.append((kind, time.perf_counter() - began))
            if response.status != 409:
                break
        if response.status != 200 or b'"rejected"' in payload:
            failures.append((kind, response.status, payload[:300]))


def _phase(port, key, unlock_jobs, other_jobs, clients):
    """Run unlock jobs on `clients` connections and other jobs on one more; the unlock
    clients' wall time, the other's, and the per-request timings."""
    timings: list = []
    failures: list = []
    unlock_queue: queue.Queue = queue.Queue()
    for job in unlock_jobs:
        unlock_queue.put(job)
    for _ in range(clients):
        unlock_queue.put(None)
    threads = [
        threading.Thread(target=_client, args=(port, *key, unlock_queue, timings, failures))
        for _ in range(clients)
    ]
    other = None
    if other_jobs:
        other_queue: queue.Queue = queue.Queue()
        for job in other_jobs:
            other_queue.put(job)
        other_queue.put(None)
        other = threading.Thread(
            target=_client, args=(port, *key, other_queue, timings, failures)
        )
    began = time.perf_counter()
    if other:
        other.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unlocks_done = time.perf_counter() - began
    if other:
        other.join()
    return unlocks_done, time.perf_counter() - began, timings, failures


def _drain(url: str, timeout: float = 600) -> float:
    """Wait until the poster has posted everything; seconds waited."""
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.perf_counter() - began < timeout:
            total = conn.execute("SELECT count(*) FROM partner_events").fetchone()[0]
            posted = conn.execute("SELECT coalesce(sum(events), 0) FROM ingest_poster_cursors")
            if posted.fetchone()[0] >= total:
                break
            time.sleep(0.2)
    return time.perf_counter() - began


def run_mix(args) -> int:
    """The three phases on a database of their own; prints the figures."""
    with own_database("ingest_mix", keep=args.keep) as sa_url:
        url = psycopg_url(sa_url)
        env = ingest.server_env(sa_url)
        import os
        import subprocess

        subprocess.run(
            [str(ingest.ROOT / ".venv/bin/flask"), "db", "upgrade", "heads"],
            cwd=ingest.ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        os.environ.update(env)
        partner_id, key_id, secret, world = build_world(
            sa_url, series_count=args.series, team_bps=ingest.random_teams()
        )
        with psycopg.connect(url) as conn:  # 1 paid coin = 1/120 USD, a bonus coin 1/240
            conn.execute(
                "INSERT INTO partner_coin_rates (partner_id, effective_from, paid_numerator,"
                " paid_denominator, bonus_numerator, bonus_denominator, created_at)"
                " VALUES (%s, now() - interval '60 days', 5, 6, 5, 12, now())",
                (partner_id,),
            )
        series = [(s.id, s.free_episodes) for s in world]
        count, batch = args.events, args.batch
        rows = args.view_rows
        per_row = max(1, args.views // rows)

        def unlock_jobs(offset):
            return [
                ("unlock", _unlocks, (offset + s, min(batch, count - s), series))
                for s in range(0, count, batch)
            ]

        def others(offset: int) -> list:
            """A mix phase's coin unlocks (U/10) and purchases (U/100), ids from offset."""
            jobs = [
                ("coins", _coins, (offset + s, min(batch, count // 10 - s), series))
                for s in range(0, count // 10, batch)
            ]
            return jobs + [
                ("purchase", _purchases, (offset + s, min(batch, count // 100 - s), series))
                for s in range(0, count // 100, batch)
            ]

        rounds = max(1, args.rounds)
        share = -(-rows // rounds)  # view rows per mix phase (the last may have fewer)

        def mixed(round_: int) -> list:
            """One mix phase's other jobs, interleaved: a view batch, then the others, in turn."""
            first, last = round_ * share, min(rows, (round_ + 1) * share)
            views = [("views", _views, (s, min(1000, last - s), series, per_row))
                     for s in range(first, last, 1000)]  # fmt: skip
            rest = others(round_ * count)
            jobs = []
            while rest or views:
                for source in (views, rest):
                    if source:
                        jobs.append(source.pop(0))
            return jobs

        port = args.port or ingest.free_port()
        server = ingest.start_server(sa_url, args.workers, port)
        poster = ingest.start_poster(sa_url)
        figures = {}
        try:
            phases = [(f"{name} {r + 1}", r, name) for r in range(rounds)
                      for name in ("alone", "mix")]  # fmt: skip
            for n, (name, round_, what) in enumerate(phases):
                other_jobs = mixed(round_) if what == "mix" else []
                unlock_time, total, timings, failures = _phase(
                    port, (key_id, secret), unlock_jobs(n * count), other_jobs, args.clients
                )
                drained = _drain(url)
                figures[name] = {
                    "unlocks_per_s": round(count / unlock_time),
                    "phase_s": round(total, 1),
                    "drain_s": round(drained, 1),
                    "failures": len(failures),
                    "ms_per_request": {
                        kind: round(1000 * sum(t for k, t in timings if k == kind)
                                    / max(1, sum(1 for k, _ in timings if k == kind)), 1)
                        for kind in sorted({k for k, _ in timings})
                    },
                }  # fmt: skip
                print(name, json.dumps(figures[name]))
                for failure in failures[:3]:
                    print("  failure:", failure)
        finally:
            ingest.stop_server(server)
            poster.terminate()
            poster.wait(30)
        alone_rates = [f["unlocks_per_s"] for n, f in figures.items() if n.startswith("alone")]
        mix_rates = [f["unlocks_per_s"] for n, f in figures.items() if n.startswith("mix")]
        alone, mix = statistics.median(alone_rates), statistics.median(mix_rates)
        # Each mix phase against the alone phases on either side of it (the one before when
        # it is the last): the machine's drift over the run cancels out of these ratios.
        paired = [
            mix_rates[r] / statistics.mean(alone_rates[r : r + 2]) - 1 for r in range(rounds)
        ]
        with psycopg.connect(url) as conn:
            recorded = dict(
                conn.execute("SELECT kind, count(*) FROM partner_events GROUP BY kind").fetchall()
            )
            views_total = [int(value) for value in conn.execute(
                "SELECT coalesce(sum(starts), 0), count(*) FROM episode_views"
            ).fetchone()]  # fmt: skip
        print(
            f"unlocks/s, medians of {rounds} rounds: alone {alone:,.0f} (spread"
            f" {min(alone_rates):,}-{max(alone_rates):,}), in the mix {mix:,.0f} (spread"
            f" {min(mix_rates):,}-{max(mix_rates):,}): {mix / alone - 1:+.1%}; each mix phase"
            f" against its neighbours alone: {', '.join(f'{p:+.1%}' for p in paired)}, median"
            f" {statistics.median(paired):+.1%}"
        )
        print(
            f"recorded: {recorded}; view counts {views_total[0]:,} in {views_total[1]:,} rows"
        )
        if args.json:
            print(json.dumps({"phases": figures, "alone": alone, "mix": mix,
                              "alone_spread": [min(alone_rates), max(alone_rates)],
                              "mix_spread": [min(mix_rates), max(mix_rates)],
                              "paired": [round(p, 3) for p in paired],
                              "recorded": recorded, "views": views_total[0]}))  # fmt: skip
        failed = sum(f["failures"] for f in figures.values())
        return 0 if not failed and recorded.get("unlock") == 2 * rounds * count else 1
