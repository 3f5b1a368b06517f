"""The ledger poster SIGKILLed in the middle of its batches: a restart posts every accepted event
exactly once, and the ledger equals a serial replay.

PostgreSQL only (real processes: gunicorn accepts, `flask ledger post` posts), on a fresh
database of its own (tests/api/test_crash.py's fixture).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import time
from fractions import Fraction

from sqlalchemy import create_engine, text

from bench.world import build_world
from ledger.allocation.waterfall import waterfall_from_json, waterfall_target
from marketplace.ingest.api.auth import signature_header_v2
from tests.api.test_crash import (  # noqa: F401 (crash_database is a fixture)
    BIN,
    ROOT,
    SECRET_KEY,
    _check_totals,
    crash_database,
    gunicorn,
    post,
    pytestmark,
    run_poster,
    unlock_events,
)


def _posting(watcher, database: str) -> bool:
    """Whether some backend of the database is inside a writing transaction (the poster)."""
    with watcher.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
                    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                ),
                {"db": database},
            ).scalar()
        )


def test_sigkill_of_the_poster_mid_batch_then_a_restart_posts_every_event_once(
    crash_database,  # noqa: F811
):
    url, env = crash_database
    partner_id, key_id, secret, series = build_world(
        url, {"SECRET_KEY": SECRET_KEY}, name="PosterCrash", series_count=4, episodes=20,
        free_episodes=2,
    )  # fmt: skip
    world = [(s.id, list(s.member_ids)) for s in series]
    events = unlock_events(world, "p", 12_000)
    with gunicorn(env, 1) as (port, _):
        for start in range(0, len(events), 1000):
            body = json.dumps({"events": events[start : start + 1000]}).encode()
            status, _ = post(port, key_id, secret, body)
            assert status == 200
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    database = watcher.url.database
    rng = random.Random(5)
    kills = 0
    for _ in range(4):  # start the poster, kill -9 it while a batch is being written
        poster = subprocess.Popen(
            [str(BIN / "flask"), "ledger", "post", "--batch", "500", "--interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        time.sleep(rng.random() * 0.5)
        while time.monotonic() < deadline and not _posting(watcher, database):
            time.sleep(0.002)
        os.kill(poster.pid, signal.SIGKILL)
        poster.wait(30)
        kills += 1
    assert kills == 4
    with watcher.connect() as conn:
        posted_so_far = conn.execute(text("SELECT sum(events) FROM ingest_poster_cursors")).scalar()
    assert posted_so_far < len(events), "the poster finished before it could be killed"
    # _check_totals runs the poster once more to completion, checks `flask ledger check` and
    # every balance against the exact split of each series' whole gross: a serial replay.
    _check_totals(watcher, env, partner_id, events, world)
    with watcher.connect() as conn:
        refs = [ref for (run_refs,) in conn.execute(text("SELECT refs FROM ledger_allocation_runs"))
                for ref in run_refs]  # fmt: skip
        ids = [row[0] for row in conn.execute(text("SELECT id FROM partner_events"))]
        posted = conn.execute(text("SELECT sum(events) FROM ingest_poster_cursors")).scalar()
    watcher.dispose()
    assert sorted(refs) == sorted(ids)  # every event in exactly one run
    assert posted == len(events)


def test_sigkill_of_the_poster_with_revenue_plans_then_a_restart_posts_every_event_once(
    crash_database,  # noqa: F811
):
    """Every series through a three-tier plan (tiers crossed during the batches): after kills
    and a restart, each event is in exactly one run of its split's buckets, every pool is
    empty, and each member holds the waterfall's target of the series' whole pool (what a
    serial replay gives: both stages depend on the cumulative totals only)."""
    url, env = crash_database
    _, key_id, secret, series = build_world(
        url, {"SECRET_KEY": SECRET_KEY}, name="PlanCrash", series_count=4, episodes=20,
        free_episodes=2, plan_tiers=3, tier_cost=40_000,
    )  # fmt: skip
    world = [(s.id, list(s.member_ids)) for s in series]
    events = unlock_events(world, "w", 8_000)
    with gunicorn(env, 1) as (port, _):
        for start in range(0, len(events), 1000):
            body = json.dumps({"events": events[start : start + 1000]}).encode()
            status, _ = post(port, key_id, secret, body)
            assert status == 200
        accepted = _event_status(port, key_id, secret, events[0]["id"])
        assert accepted["ledger"] == {"status": "accepted", "entry_ids": []}
        watcher = create_engine(url, isolation_level="AUTOCOMMIT")
        database = watcher.url.database
        rng = random.Random(9)
        for _ in range(3):
            poster = subprocess.Popen(
                [str(BIN / "flask"), "ledger", "post", "--batch", "500", "--interval", "0.05"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 60
            time.sleep(rng.random() * 0.5)
            while time.monotonic() < deadline and not _posting(watcher, database):
                time.sleep(0.002)
            os.kill(poster.pid, signal.SIGKILL)
            poster.wait(30)
        with watcher.connect() as conn:
            so_far = conn.execute(text("SELECT sum(events) FROM ingest_poster_cursors")).scalar()
        assert so_far < len(events), "the poster finished before it could be killed"
        run_poster(env)
        posted = _event_status(port, key_id, secret, events[0]["id"])
    assert posted["ledger"]["status"] == "posted" and len(posted["ledger"]["entry_ids"]) == 1
    check = subprocess.run([str(BIN / "flask"), "ledger", "check"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert check.returncode == 0, check.stderr
    _check_plan_totals(watcher, events, series)
    watcher.dispose()


def _event_status(port, key_id, secret, event_id: str) -> dict:
    stamp = str(int(time.time()))
    path = f"/api/v1/events/{event_id}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={
        "X-Cliffhanger-Key": key_id,
        "X-Cliffhanger-Timestamp": stamp,
        "X-Cliffhanger-Signature": signature_header_v2(secret, stamp, "GET", path, b"", b""),
    })  # fmt: skip
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())


def _check_plan_totals(watcher, events, series) -> None:
    gross = {s.id: 0 for s in series}
    for event in events:
        gross[event["series_id"]] += event["amount"]
    with watcher.connect() as conn:
        refs = [ref for (run_refs,) in conn.execute(text(
            "SELECT r.refs FROM ledger_allocation_runs r JOIN ledger_allocation_buckets b"
            " ON b.id = r.bucket_id WHERE b.key LIKE 'series:%'"
        )) for ref in run_refs]  # fmt: skip
        ids = [row[0] for row in conn.execute(text("SELECT id FROM partner_events"))]
        assert sorted(refs) == sorted(ids)  # every event split once
        buckets = {key: (cumulative, json.loads(waterfall) if isinstance(waterfall, str)
                         else waterfall)
                   for key, cumulative, waterfall in conn.execute(text(
                       "SELECT key, cumulative_gross, waterfall FROM ledger_allocation_buckets"
                   ))}  # fmt: skip
        balances = dict(conn.execute(text(
            "SELECT a.owner_type || ':' || a.owner_id || ':' || a.purpose, b.posted"
            " FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id"
        )).all())  # fmt: skip
        account_ids = dict(conn.execute(text(
            "SELECT id, owner_id FROM ledger_accounts WHERE purpose = 'earnings'"
        )).all())  # fmt: skip
    for world in series:
        assert balances[f"series:{world.id}:pool"] == 0
        split = [(k, c) for k, (c, _) in buckets.items() if k.startswith(f"series:{world.id}|")]
        assert [c for _, c in split] == [gross[world.id]] and "|plan:" in split[0][0]
        # The pool's part of the whole gross, as one serial split gives it (partner 30 %,
        # platform 10 % of the rest: the pool is 63 %, within one unit).
        wanted = f"waterfall:series:{world.id}|"
        ((pool, plan),) = [v for k, v in buckets.items() if k.startswith(wanted)]
        assert abs(pool - Fraction(gross[world.id] * 63, 100)) < 1
        waterfall = waterfall_from_json(plan)
        expected = dict(zip(waterfall.accounts(), waterfall_target(waterfall, pool), strict=True))
        assert expected and all(
            balances[f"member:{account_ids[account]}:earnings"] == money
            for account, money in expected.items()
        )
        assert max(expected.values()) > 40_000  # the first tiers were repaid: crossed
