"""The ledger poster SIGKILLed in the middle of its batches: a restart posts every accepted event
exactly once, and the ledger equals a serial replay.

PostgreSQL only (real processes: gunicorn accepts, `flask ledger post` posts), on a fresh
database of its own (tests/api/test_crash.py's fixture).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from sqlalchemy import create_engine, text

from bench.world import build_world
from tests.api.test_crash import (  # noqa: F401 (crash_database is a fixture)
    BIN,
    ROOT,
    SECRET_KEY,
    _check_totals,
    crash_database,
    gunicorn,
    post,
    pytestmark,
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
