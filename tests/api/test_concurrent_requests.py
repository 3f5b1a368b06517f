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


def test_concurrent_view_reports_keep_the_day_totals_exact(crash_database):  # noqa: F811
    """Four senders report the same episodes, days and countries at once, each its own counts,
    several times over: whatever the interleaving, every day total (episode_view_days) equals
    the sum of its countries' rows (a report's change is never counted twice or lost)."""
    url, env = crash_database
    _, key_id, secret, series = build_world(
        url, {"SECRET_KEY": SECRET_KEY}, name="ViewRace", series_count=2, episodes=10
    )
    today = datetime.now(UTC).date()
    keys = [
        (s.id, episode, (today - timedelta(days=day)).isoformat(), country)
        for s in series
        for episode in (1, 2, 3)
        for day in (0, 1)
        for country in ("US", "JP", "BR")
    ]
    problems: list = []

    def sender(port: int, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(5):
            rows = [
                {"series_id": s, "episode": e, "day": d, "country": c,
                 "starts": rng.randrange(1000), "completions": rng.randrange(500)}
                for s, e, d, c in rng.sample(keys, len(keys))
            ]  # fmt: skip
            for start in range(0, len(rows), 12):
                body = json.dumps({"events": rows[start : start + 12]}).encode()
                status, payload = post(port, key_id, secret, body, "/api/v1/views")
                if status != 200 or b'"rejected"' in payload:
                    problems.append((status, payload[:300]))

    with gunicorn(env, SENDERS) as (port, _):
        threads = [threading.Thread(target=sender, args=(port, n)) for n in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    assert problems == []
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    with watcher.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT v.series_id, v.day, v.episode, sum(v.starts), sum(v.completions),"
                " min(t.starts), min(t.completions), count(*)"
                " FROM episode_views v JOIN episode_view_days t ON t.series_id = v.series_id"
                " AND t.day = v.day AND t.episode = v.episode AND t.partner_id = v.partner_id"
                " GROUP BY v.series_id, v.day, v.episode"
            )
        ).all()
        totals = conn.execute(text("SELECT count(*) FROM episode_view_days")).scalar()
    watcher.dispose()
    assert len(rows) == totals == 2 * 3 * 2
    assert all(row[7] == 3 and (row[3], row[4]) == (row[5], row[6]) for row in rows)
