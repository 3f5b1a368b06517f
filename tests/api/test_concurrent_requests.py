"""Concurrent requests carrying the same unlock (or refund) ids, on a real gunicorn with four
workers: every event is applied once, whatever the interleaving; a request that lost a race
answers 409 and its retry answers `duplicate` for what the others applied.

PostgreSQL only (row locks, real commits, a real server). The event log's rows are written
before the ledger locks its buckets (marketplace/services/ingest.py), in id order, so requests
with overlapping ids wait on each other's unique index entries there.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
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
    free_port,
    post,
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


def test_overlapping_concurrent_batches_apply_each_unlock_once(crash_database):  # noqa: F811
    url, env = crash_database
    partner_id, key_id, secret, series = build_world(
        url,
        {"SECRET_KEY": SECRET_KEY},
        name="RaceBox",
        series_count=4,
        episodes=20,
        free_episodes=2,
    )
    world = [(s.id, list(s.member_ids)) for s in series]
    now = datetime.now(UTC)
    events = [
        {
            "id": f"r{i}",
            "series_id": world[i % len(world)][0],
            "episode": 3 + i % 18,
            "amount": 49 + i % 151,
            "currency": "USD",
            "occurred_at": (now - timedelta(seconds=i)).isoformat(),
        }
        for i in range(600)
    ]
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(SENDERS), "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    answers: dict[str, list[str]] = {event["id"]: [] for event in events}
    problems: list = []
    conflicts = []
    lock = threading.Lock()

    def sender(seed: int) -> None:
        rng = random.Random(seed)
        mine = events[:]
        rng.shuffle(mine)  # each sender: every event, in its own order and batches
        for start in range(0, len(mine), 150):
            body = json.dumps({"events": mine[start : start + 150]}).encode()
            for _ in range(50):
                status, payload = post(port, key_id, secret, body)
                if status != 409:
                    break
                with lock:
                    conflicts.append(json.loads(payload)["error"]["code"])
                time.sleep(rng.random() / 20)
            if status != 200:
                problems.append((status, payload[:300]))
                continue
            with lock:
                for result in json.loads(payload)["results"]:
                    answers[result["id"]].append(result["status"])

    try:
        for _ in range(200):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                time.sleep(0.1)
        threads = [threading.Thread(target=sender, args=(seed,)) for seed in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert problems == []
    print(f"{len(conflicts)} requests answered 409 and were retried")
    assert set(conflicts) <= {"concurrent_request"}
    for event_id, statuses in answers.items():
        assert sorted(statuses) == ["accepted"] + ["duplicate"] * (SENDERS - 1), event_id
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
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(SENDERS), "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    answers: dict[str, list[str]] = {refund["id"]: [] for refund in refunds}
    problems: list = []
    lock = threading.Lock()

    def sender(seed: int) -> None:
        rng = random.Random(seed)
        mine = refunds[:]
        rng.shuffle(mine)
        for start in range(0, len(mine), 25):
            body = json.dumps({"events": mine[start : start + 25]}).encode()
            for _ in range(50):
                status, payload = post(port, key_id, secret, body, "/api/v1/refunds")
                if status != 409:
                    break
                time.sleep(rng.random() / 20)
            if status != 200:
                problems.append((status, payload[:300]))
                continue
            with lock:
                for result in json.loads(payload)["results"]:
                    answers[result["id"]].append(
                        result.get("error", {}).get("code", result["status"])
                    )

    try:
        for _ in range(200):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                time.sleep(0.1)
        status, _ = post(port, key_id, secret, json.dumps({"events": unlocks}).encode())
        assert status == 200
        threads = [threading.Thread(target=sender, args=(seed,)) for seed in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert problems == []
    for refund_id, statuses in answers.items():
        assert sorted(statuses) == ["accepted"] + ["duplicate"] * (SENDERS - 1), refund_id
    kept = sum(u["amount"] for i, u in enumerate(unlocks) if i % 2)
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
    assert receivable == kept
    assert refunded == len(refunds)
    check = subprocess.run(
        [str(BIN / "flask"), "ledger", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
