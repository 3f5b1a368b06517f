"""Where each millisecond of 1,000 unlocks goes, from the partner's request to the ledger, and
how far each part is from its floor (`bench/ledger_floor.py --parts`).

In one process, on a database of its own (migrated, the world of bench/ingest.py: one partner
app, 50 series, 3-6 members each): N signed batches of 1,000 unlocks go through the real Flask
app as WSGI calls (no socket: gunicorn's HTTP parsing is outside; bench/ingest.py's "gunicorn
workers" CPU includes it), then the ledger poster posts them in its real batches of 10,000
(marketplace.ingest.poster.post_pending). Wall time is split by wrapping, in this process
only, the app's signature check, its decode-and-validate step and its service, and psycopg's
statements, COPYs and commits (SQL time is the round trip: PostgreSQL's work plus the socket).

Each part's floor is measured in the same run with nothing of ours in it:
    HTTP + HMAC        a bare WSGI app that reads the body and returns bytes, plus
                       HMAC-SHA256 of the body (hashlib)
    decode/validate    msgspec decoding the body into typed structs with the schema's limits
    service Python     formatting the batch's 1,000 event rows as COPY text
    event-log COPY     COPY of the same 1,000 rows (from partner_events) into a table with
                       partner_events' columns and indexes
    other SQL          one round trip (SELECT 1) per statement the request ran
    commits            a one-row INSERT's commit (the WAL flush)
    poster Python      the drift-free split's arithmetic alone (target before and after each
                       event, ledger.allocation.splits.target_of_weights)
    poster SQL         bench/ledger_floor.py's "poster" scenario: the poster's statements on
                       plain tables (100 entries, 700 postings, 400 balances, 1,000 rollups
                       per 1,000 unlocks: more rows than the real 10,000-event batches write)
"""

from __future__ import annotations

import gc
import hmac
import os
import random
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Annotated, Any

import msgspec
import psycopg

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-parts-secret-key"
POSTER_BATCH = 10_000


class Clock:
    """Wall seconds this process spent in psycopg round trips (statements, COPYs) and commits."""

    sql = 0.0
    commit = 0.0
    statements = 0


def _timed(method: Callable[..., Any], slot: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            setattr(Clock, slot, getattr(Clock, slot) + time.perf_counter() - began)
            if slot == "sql" and method.__name__ in ("execute", "executemany", "__exit__"):
                Clock.statements += 1

    return wrapper


def instrument_psycopg() -> None:
    """Count psycopg's round trips and commits into Clock (this process only)."""
    for name in ("execute", "executemany"):
        setattr(psycopg.Cursor, name, _timed(getattr(psycopg.Cursor, name), "sql"))
    for name in ("__enter__", "write", "__exit__"):
        setattr(psycopg.Copy, name, _timed(getattr(psycopg.Copy, name), "sql"))
    psycopg.Connection.commit = _timed(psycopg.Connection.commit, "commit")  # type: ignore[method-assign]


@dataclass
class Spent:
    """Wall, SQL and commit seconds inside one wrapped function, summed over its calls."""

    wall: float = 0.0
    sql: float = 0.0
    commit: float = 0.0
    statements: int = 0

    @property
    def python(self) -> float:
        return self.wall - self.sql - self.commit


@contextmanager
def spent(into: Spent) -> Iterator[None]:
    """Add the block's wall, SQL and commit time to `into`."""
    began, sql, commit, statements = time.perf_counter(), Clock.sql, Clock.commit, Clock.statements
    try:
        yield
    finally:
        into.wall += time.perf_counter() - began
        into.sql += Clock.sql - sql
        into.commit += Clock.commit - commit
        into.statements += Clock.statements - statements


def wrap(module: Any, name: str, into: Spent) -> None:
    """Replace module.name by a wrapper adding its time to `into`."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with spent(into):
            return original(*args, **kwargs)

    setattr(module, name, wrapper)


class UnlockFloor(msgspec.Struct):
    """An unlock event with the published schema's limits (docs/api.md), decoded in C."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    series_id: Annotated[int, msgspec.Meta(ge=1)]
    episode: Annotated[int, msgspec.Meta(ge=1)]
    amount: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
    occurred_at: datetime
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")] | None = None
    viewer: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class BatchFloor(msgspec.Struct):
    events: Annotated[list[UnlockFloor], msgspec.Meta(max_length=1000)]


def mean_seconds(run: Callable[[], Any], times: int) -> float:
    """Mean wall seconds of run() over `times` calls (after one untimed call)."""
    run()
    began = time.perf_counter()
    for _ in range(times):
        run()
    return (time.perf_counter() - began) / times


def bare_wsgi(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    """The least a WSGI app can do with a batch: read the body, answer bytes."""
    environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [environ["bench.answer"]]


def call(app: Callable[..., Any], environ: dict) -> bytes:
    """One WSGI request; the response body."""
    status: list[str] = []
    iterable = app(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        body = b"".join(iterable)
    finally:
        if hasattr(iterable, "close"):
            iterable.close()
    if not status or not status[0].startswith("200"):
        raise SystemExit(f"request failed: {status} {body[:300]!r}")
    return body


def migrate(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, FLASK_APP="wsgi:app")
    env.pop("CLIFFHANGER_ENV", None)
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "db", "upgrade", "heads"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip


def measure(url: str, batches: int, poster_sql_floor: tuple[float, float]) -> dict[str, Any]:
    """Run the request and poster parts on the database at url; returns ms per 1,000 unlocks
    and each part's floor. poster_sql_floor: (statements, commit) seconds per 1,000 unlocks
    of ledger_floor's "poster" scenario."""
    from ingest import make_batch, random_teams
    from werkzeug.test import EnvironBuilder
    from world import build_world

    from ledger.allocation.splits import target_of_weights
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.ingest import poster, unlocks
    from marketplace.ingest.api import auth, routes
    from marketplace.ingest.api.auth import signature_header_v2

    migrate(url)
    _, key_id, secret, world = build_world(url, {"SECRET_KEY": SECRET_KEY}, team_bps=random_teams())
    series = [(s.id, s.free_episodes) for s in world]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
    rng = random.Random(11)
    bodies = [make_batch(rng, n * 1000, 1000, series) for n in range(batches + 2)]
    path = "/api/v1/unlocks"

    def environ(body: bytes) -> dict:
        stamp = str(int(time.time()))
        headers = {
            "X-Cliffhanger-Key": key_id,
            "X-Cliffhanger-Timestamp": stamp,
            "X-Cliffhanger-Signature": signature_header_v2(secret, stamp, "POST", path, b"", body),
        }
        builder = EnvironBuilder(path=path, method="POST", data=body, headers=headers,
                                 content_type="application/json")  # fmt: skip
        return builder.get_environ()

    instrument_psycopg()
    hmac_check, decode, service, copy = Spent(), Spent(), Spent(), Spent()
    wrap(auth, "check_request_signature", hmac_check)
    routes.check_request_signature = auth.check_request_signature  # type: ignore[attr-defined]
    wrap(routes, "_batch_items", decode)
    wrap(routes, "ingest_unlocks", service)
    wrap(unlocks, "insert_events", copy)
    for body in bodies[:2]:  # warm-up (caches, first connections): not counted
        call(app, environ(body))
    for part in (hmac_check, decode, service, copy):
        part.__init__()  # type: ignore[misc]
    request = Spent()
    answers = []
    gc.collect()
    for body in bodies[2:]:
        prepared = environ(body)
        with spent(request):
            answers.append(call(app, prepared))
    accepted = sum(answer.count(b'"accepted"') for answer in answers)
    if accepted != batches * 1000:
        raise SystemExit(f"{accepted} of {batches * 1000} unlocks accepted")

    post = Spent()
    with app.app_context():
        with spent(post):
            report = poster.post_pending(db.session(), batch_size=POSTER_BATCH)
        db.session.remove()
    posted = report.events

    # The floors, in the same run.
    sample = bodies[2]
    answer = answers[0]
    bare_environs = []

    def bare() -> None:
        environ_ = bare_environs.pop() if bare_environs else environ(sample)
        environ_["bench.answer"] = answer
        bare_wsgi(environ_, lambda *a: None)

    bare_environs.extend(environ(sample) for _ in range(batches + 1))
    floors = {
        "wsgi": mean_seconds(bare, batches),
        "hmac": mean_seconds(lambda: hmac.new(secret.encode(), sample, sha256).hexdigest(), 200),
        "decode": mean_seconds(lambda: msgspec.json.decode(sample, type=BatchFloor), 50),
    }
    floors.update(_sql_floors(url))
    weights = tuple(random.Random(3).choices(range(1, 10**11), k=7))
    weights = (*weights[:-1], 10**12 - sum(weights[:-1]))

    def split_only() -> None:
        cumulative = 0
        for gross in (99, 199, 49) * 333:
            target_of_weights(weights, cumulative)
            cumulative += gross
            target_of_weights(weights, cumulative)

    floors["split"] = mean_seconds(split_only, 20) * 1000 / 999
    floors["poster_sql"], floors["poster_commit"] = poster_sql_floor
    per = 1000 / (batches * 1000)  # batches -> per 1,000 unlocks
    per_posted = 1000 / posted
    framework = request.python - decode.wall - service.python
    other_sql = request.sql - copy.sql
    ms = 1000.0
    rows = [
        ("HTTP + HMAC (Flask, key look-up, rate limit, signature, JSON answer)",
         framework * per, floors["wsgi"] + floors["hmac"],
         "bare WSGI read and answer + HMAC-SHA256 of the body"),
        ("  of which the signature check", hmac_check.wall * per, floors["hmac"],
         "HMAC-SHA256 of the body"),
        ("decode/validate (msgspec + the schema's checks, UnlockIn objects)", decode.wall * per,
         floors["decode"], "msgspec into typed structs with the schema's limits"),
        ("service Python (dedupe, live windows, checks, COPY rows)", service.python * per,
         floors["format"], "formatting the 1,000 rows as COPY text"),
        ("event-log COPY (PostgreSQL round trip)", copy.sql * per, floors["copy"],
         "COPY of the same rows into partner_events' shape"),
        (f"other request SQL ({request.statements - copy.statements} statements"
         f" in {batches} requests)", other_sql * per,
         floors["round_trip"] * (request.statements - copy.statements) * per,
         "one SELECT 1 round trip per statement"),
        ("request commit", request.commit * per, floors["commit"], "a one-row INSERT's commit"),
        ("poster allocation Python", post.python * per_posted, floors["split"],
         "the split's arithmetic alone (target before and after each event)"),
        (f"poster SQL ({post.statements} statements for {posted:,} events)",
         post.sql * per_posted, floors["poster_sql"],
         'ledger_floor.py "poster" scenario\'s statements'),
        ("poster commit", post.commit * per_posted, floors["poster_commit"] * 1000 / POSTER_BATCH,
         "a one-row commit per batch of 10,000"),
    ]  # fmt: skip
    parts = [
        {"part": name, "ms": round(value * ms, 2), "floor_ms": round(floor * ms, 2), "floor": what}
        for name, value, floor, what in rows
    ]
    total = (request.wall * per) + (post.wall * per_posted)
    return {
        "batches": batches,
        "posted": posted,
        "request_ms": round(request.wall * per * ms, 2),
        "poster_ms": round(post.wall * per_posted * ms, 2),
        "total_ms": round(total * ms, 2),
        "parts": parts,
    }


def _sql_floors(url: str) -> dict[str, float]:
    """The COPY of 1,000 real event rows, a round trip, a one-row commit, and formatting the
    rows as COPY text, on this database (a table of its own, dropped)."""
    columns = (
        "partner_id, external_id, kind, status, series_id, episode, amount, currency,"
        " occurred_at, country, viewer, content_hash, refund_of, details, split_version_id,"
        " available_at, created_at"
    )
    from scratch import psycopg_url

    with psycopg.connect(psycopg_url(url)) as conn:
        rows = conn.execute(f"SELECT {columns} FROM partner_events ORDER BY id").fetchall()
        chunks = [rows[i : i + 1000] for i in range(0, len(rows) - 999, 1000)]

        def as_text(chunk: list[tuple]) -> bytes:
            return "".join(
                "\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in chunk
            ).encode()

        texts = [as_text(chunk) for chunk in chunks]
        formatting = mean_seconds(lambda: as_text(chunks[0]), 20)
        conn.execute("CREATE TABLE parts_copy (LIKE partner_events INCLUDING ALL)")
        conn.execute("CREATE TABLE parts_commit (id bigserial PRIMARY KEY, at timestamptz)")
        conn.commit()
        copies, commits = [], []
        for data in texts:
            began = time.perf_counter()
            with conn.cursor() as cur, cur.copy(f"COPY parts_copy ({columns}) FROM STDIN") as copy:
                copy.write(data)
            copies.append(time.perf_counter() - began)
            conn.commit()
        for _ in range(50):
            conn.execute("INSERT INTO parts_commit (at) VALUES (now())")
            began = time.perf_counter()
            conn.commit()
            commits.append(time.perf_counter() - began)
        trip = mean_seconds(lambda: conn.execute("SELECT 1").fetchone(), 500)
        conn.execute("DROP TABLE parts_copy, parts_commit")
        conn.commit()
    return {
        "copy": statistics.fmean(copies),
        "commit": statistics.fmean(commits),
        "round_trip": trip,
        "format": formatting,
    }


def report(result: dict[str, Any]) -> None:
    """Print the table of parts."""
    print(
        f"\n{result['batches']} requests of 1,000 unlocks (in-process WSGI), then the poster"
        f" ({result['posted']:,} events in batches of {POSTER_BATCH:,}); ms per 1,000 unlocks:"
    )
    print(f"{'part':<72} {'ms':>7} {'floor ms':>9} {'x floor':>8}  floor")
    for part in result["parts"]:
        times = part["ms"] / part["floor_ms"] if part["floor_ms"] else float("inf")
        print(
            f"{part['part']:<72} {part['ms']:>7.2f} {part['floor_ms']:>9.2f} {times:>8.1f}"
            f"  {part['floor']}"
        )
    totals = summed(result["parts"])
    print(
        f"{'all parts':<72} {totals['ms']:>7.2f} {totals['floor_ms']:>9.2f}"
        f" {totals['ms'] / totals['floor_ms']:>8.1f}"
    )
    print(
        f"request {result['request_ms']:.1f} ms + poster {result['poster_ms']:.1f} ms ="
        f" {result['total_ms']:.1f} ms per 1,000 unlocks (wall, one process at a time:"
        f" {1e6 / result['total_ms']:,.0f} unlocks/s a core; gunicorn's HTTP parsing not"
        " included)"
    )


def summed(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Totals of the parts (nested "of which" rows left out)."""
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        if not row["part"].startswith("  "):
            totals["ms"] += row["ms"]
            totals["floor_ms"] += row["floor_ms"]
    return dict(totals)
