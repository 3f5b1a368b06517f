"""Concurrent requests carrying the same unlock (or refund) ids, on a real gunicorn with four
workers: every event is applied once, whatever the interleaving; a request that lost a race
answers 409 and its retry answers `duplicate` for what the others applied.

PostgreSQL only (row locks, real commits, a real server). The event log's rows are written
before the ledger locks its buckets (marketplace/services/ingest.py), in id order, so requests
with overlapping ids wait on each other's unique index entries there.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from bench.world import build_world
from tests.api.test_crash import (
    BIN,
    ROOT,
    SECRET_KEY,
    URL,
    _check_totals,
    crash_database,  # noqa: F401 (the fixture)
    gunicorn,
    post,
    run_poster,
    unlock_events,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not URL.startswith("postgresql"),
        reason="needs PostgreSQL (TEST_DATABASE_URL) to run gunicorn against a real database",
    ),
]

SENDERS = 4


def race(env, key_id, secret, events, batch: int, path: str, before=None) -> dict[str, list]:
    """SENDERS threads each post every event (own order, batches of `batch`), retrying a 409
    as the API asks; returns each event id's answers (status, or the rejection's code)."""
    answers: dict[str, list[str]] = {event["id"]: [] for event in events}
    problems: list = []
    lock = threading.Lock()

    def sender(port: int, seed: int) -> None:
        rng = random.Random(seed)
        mine = events[:]
        rng.shuffle(mine)
        for start in range(0, len(mine), batch):
            body = json.dumps({"events": mine[start : start + batch]}).encode()
            for _ in range(50):
                status, payload = post(port, key_id, secret, body, path)
                if status != 409:
                    break
                if json.loads(payload)["error"]["code"] != "concurrent_request":
                    problems.append((status, payload[:300]))
                time.sleep(rng.random() / 20)
            if status != 200:
                problems.append((status, payload[:300]))
                continue
            with lock:
                for result in json.loads(payload)["results"]:
                    code = result.get("error", {}).get("code", result["status"])
                    answers[result["id"]].append(code)

    with gunicorn(env, SENDERS) as (port, _):
        if before is not None:
            before(port)
        threads = [threading.Thread(target=sender, args=(port, n)) for n in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    assert problems == []
    return answers


def applied_once(answers: dict[str, list]) -> bool:
    once = ["accepted"] + ["duplicate"] * (SENDERS - 1)
    return all(sorted(statuses) == once for statuses in answers.values())


def test_overlapping_concurrent_batches_apply_each_unlock_once(crash_database):  # noqa: F811
    url, env = crash_database
    partner_id, key_id, secret, series = build_world(
        url, {"SECRET_KEY": SECRET_KEY}, name="RaceBox", series_count=4, episodes=20,
        free_episodes=2,
    )  # fmt: skip
    world = [(s.id, list(s.member_ids)) for s in series]
    events = unlock_events(world, "r", 600)
    answers = race(env, key_id, secret, events, 150, "/api/v1/unlocks")
    assert applied_once(answers)
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    _check_totals(watcher, env, partner_id, events, world)
    watcher.dispose()


def test_concurrent_repeats_of_the_same_refunds_refund_each_unlock_once(crash_database):  # noqa: F811
    url, env = crash_database
    partner_id, key_id, secret, series = build_world(
        url, {"SECRET_KEY": SECRET_KEY}, name="RefundRace", series_count=2, episodes=10
    )
    now = datetime.now(UTC)
    unlocks = [
        {
            "id": f"u{i}",
            "series_id": series[i % 2].id,
            "episode": 6 + i % 4,
            "amount": 49 + i,
            "currency": "USD",
            "occurred_at": (now - timedelta(minutes=30, seconds=i)).isoformat(),
        }
        for i in range(200)
    ]
    refunds = [
        {"id": f"r{i}", "unlock_id": f"u{i}", "occurred_at": now.isoformat()}
        for i in range(0, 200, 2)
    ]

    def post_unlocks(port: int) -> None:
        assert post(port, key_id, secret, json.dumps({"events": unlocks}).encode())[0] == 200

    answers = race(env, key_id, secret, refunds, 25, "/api/v1/refunds", before=post_unlocks)
    assert applied_once(answers)
    run_poster(env)
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    with watcher.connect() as conn:
        receivable = conn.execute(
            text(
                "SELECT b.posted FROM ledger_balances b JOIN ledger_accounts a"
                " ON a.id = b.account_id WHERE a.owner_type = 'partner'"
                " AND a.owner_id = :p AND a.purpose = 'receivable'"
            ),
            {"p": str(partner_id)},
        ).scalar()
        refunded = conn.execute(
            text("SELECT count(*) FROM partner_events WHERE status = 'refunded'")
        ).scalar()
    watcher.dispose()
    assert receivable == sum(u["amount"] for i, u in enumerate(unlocks) if i % 2)
    assert refunded == len(refunds)
    check = subprocess.run(
        [str(BIN / "flask"), "ledger", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
