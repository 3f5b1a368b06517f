"""A gunicorn worker SIGKILLed in the middle of a large batch: the retry applies it exactly once.

PostgreSQL only (a real gunicorn process needs a server database): the test creates a fresh
database next to TEST_DATABASE_URL's, migrates it with `flask db upgrade heads`, and drops it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.world import build_world
from ledger.allocation.engine import largest_remainder
from marketplace.ingest.api.auth import signature_header_v2

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
URL = os.environ.get("TEST_DATABASE_URL", "")
SECRET_KEY = "crash-test-secret"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not URL.startswith("postgresql"),
        reason="needs PostgreSQL (TEST_DATABASE_URL) to run gunicorn against a real database",
    ),
]


@pytest.fixture
def crash_database():
    """A fresh, migrated database; dropped afterwards."""
    name = f"cliff_api_crash_{os.getpid()}"
    admin = create_engine(make_url(URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(URL).set(database=name).render_as_string(hide_password=False)
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, FLASK_APP="wsgi:app")
    env.pop("CLIFFHANGER_ENV", None)
    subprocess.run(
        [str(BIN / "flask"), "db", "upgrade", "heads"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    try:
        yield url, env
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port, key_id, secret, body: bytes, path: str = "/api/v1/unlocks"):
    stamp = str(int(time.time()))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(
        "POST",
        path,
        body=body,
        headers={
            "X-Cliffhanger-Key": key_id,
            "X-Cliffhanger-Timestamp": stamp,
            "X-Cliffhanger-Signature": signature_header_v2(secret, stamp, "POST", path, b"", body),
            "Content-Type": "application/json",
        },
    )
    response = conn.getresponse()
    return response.status, response.read()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def unlock_events(world, prefix: str, count: int) -> list[dict]:
    """`count` unlocks spread over the world's series (episodes 3-20, amounts 49-199)."""
    now = datetime.now(UTC)
    return [
        {
            "id": f"{prefix}{i}",
            "series_id": world[i % len(world)][0],
            "episode": 3 + i % 18,
            "amount": 49 + i % 151,
            "currency": "USD",
            "occurred_at": (now - timedelta(seconds=i)).isoformat(),
        }
        for i in range(count)
    ]


@contextlib.contextmanager
def gunicorn(env: dict, workers: int, *extra: str):
    """A real gunicorn serving wsgi:app on a free port (yields the port and the process);
    stopped with SIGTERM on the way out."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", *extra, "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                time.sleep(0.1)
        yield port, server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def test_sigkill_mid_batch_then_retry_applies_every_event_once(crash_database):
    url, env = crash_database
    partner_id, key_id, secret, series = build_world(
        url,
        {"SECRET_KEY": SECRET_KEY},
        name="CrashBox",
        series_count=4,
        episodes=20,
        free_episodes=2,
    )
    world = [(s.id, list(s.member_ids)) for s in series]
    events = unlock_events(world, "k", 1000)
    body = json.dumps({"events": events}).encode()
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    with gunicorn(env, 1, "--timeout", "120") as (port, server):
        outcome = {}
        sender = threading.Thread(
            target=lambda: outcome.update(r=_attempt(port, key_id, secret, body))
        )
        sender.start()
        killed = _kill_worker_mid_transaction(watcher, server.pid, url)
        sender.join(120)
        assert killed, "the worker was never caught inside its transaction"
        assert outcome["r"][0] != 200  # the request died with its worker
        with watcher.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM partner_events")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 0
        for _ in range(100):  # the master starts a new worker
            status, payload = _attempt(port, key_id, secret, body)
            if status == 200:
                break
            time.sleep(0.1)
        results = json.loads(payload)["results"]
        assert {r["status"] for r in results} == {"accepted"}
        status, payload = _attempt(port, key_id, secret, body)
        assert {r["status"] for r in json.loads(payload)["results"]} == {"duplicate"}
    _check_totals(watcher, env, partner_id, events, world)
    watcher.dispose()


def _attempt(port, key_id, secret, body):
    try:
        return post(port, key_id, secret, body)
    except (OSError, http.client.HTTPException) as error:
        return 0, repr(error).encode()


def _kill_worker_mid_transaction(watcher, master: int, url: str) -> bool:
    """SIGKILL the worker once its request's transaction has written ledger rows."""
    database = make_url(url).database
    deadline = time.monotonic() + 60
    with watcher.connect() as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
                    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                ),
                {"db": database},
            ).scalar()
            if busy:
                for pid in worker_pids(master):
                    os.kill(pid, signal.SIGKILL)
                return True
            time.sleep(0.001)
    return False


def run_poster(env) -> None:
    """The ledger poster, as its own process (`flask ledger post --once`): posts what the API
    accepted."""
    posted = subprocess.run(
        [str(BIN / "flask"), "ledger", "post", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert posted.returncode == 0, posted.stderr


def _check_totals(watcher, env, partner_id, events, world):
    """Once the poster has run, flask ledger check is clean and every balance equals the
    exact split of its series."""
    run_poster(env)
    check = subprocess.run(
        [str(BIN / "flask"), "ledger", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    gross = {sid: 0 for sid, _ in world}
    for event in events:
        gross[event["series_id"]] += event["amount"]
    with watcher.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.owner_type || ':' || a.owner_id || ':' || a.purpose, a.id, b.posted"
                " FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id"
            )
        ).all()
        assert conn.execute(text("SELECT count(*) FROM partner_events")).scalar() == len(events)
    ids = {name: account_id for name, account_id, _ in rows}
    balances = {name: posted for name, _, posted in rows}
    assert balances[f"partner:{partner_id}:receivable"] == sum(gross.values())
    expected: dict[str, int] = {}
    for series_id, members in world:
        # Weights over D = 10^12 (docs/ledger-design.md): partner 30 %, platform 10 % of the
        # rest, members 50/30/20 % of what remains; remainders go by ascending account id.
        parties = {
            f"partner:{partner_id}:commission": 3000 * 10**8,
            "platform:0:fees": 7000 * 1000 * 10**4,
            **{
                f"member:{m}:earnings": 7000 * 9000 * b
                for m, b in zip(members, (5000, 3000, 2000), strict=True)
            },
        }
        names = sorted(parties, key=ids.__getitem__)
        shares = largest_remainder(gross[series_id], [parties[n] for n in names])
        for name, share in zip(names, shares, strict=True):
            expected[name] = expected.get(name, 0) + share
    assert {name: balances[name] for name in expected} == expected
