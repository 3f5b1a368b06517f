"""Where each millisecond of 1,000 unlocks goes, from the partner's request to the ledger, and
how far each part is from its floor (`bench/ledger_floor.py --parts`).

In one process, on a database of its own (migrated, the world of bench/ingest.py: one partner
app, 50 series, 3-6 members each): N signed batches of 1,000 unlocks go through the real Flask
app as WSGI calls (no socket: gunicorn's HTTP parsing is outside; bench/ingest.py's "gunicorn
workers" CPU includes it), then the ledger poster posts them in its real batches of 10,000
(marketplace.ingest.poster.post_pending). What is counted is CPU, not wall time (the machine
may be shared): this process's (time.process_time) and that of the PostgreSQL backend serving
each statement (/proc/<pid>/schedstat, to the ns; same machine). It is split by wrapping, in
this process only, the app's signature check, its decode-and-validate step and its service,
and psycopg's statements, COPYs and commits (the driver's CPU in them counts as SQL).

Each part's floor is measured in the same run with nothing of ours in it:
    HTTP + HMAC        a bare WSGI app that reads the body and returns bytes, plus
                       HMAC-SHA256 of the body (hashlib)
    decode/validate    msgspec decoding the body into typed structs with the schema's limits
    service Python     formatting the batch's 1,000 event rows as COPY text
    event-log COPY     COPY of the same 1,000 rows (from partner_events) into a table with
                       partner_events' columns and indexes
    other SQL          one round trip (SELECT 1) per statement the request ran
    commits            a one-row INSERT's commit (its wall time, mostly the WAL flush, apart)
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


def backend_cpu(pid: int) -> float:
    """CPU seconds a process (a PostgreSQL backend on this machine) has run, to the ns."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


class Clock:
    """This process's psycopg calls so far: the client's CPU in them (the driver), the CPU of
    the backend serving them (PostgreSQL), and for commits also their wall time."""

    sql_cpu = 0.0
    sql_pg = 0.0
    commit_cpu = 0.0
    commit_pg = 0.0
    commit_wall = 0.0
    statements = 0


def _timed(method: Callable[..., Any], kind: str) -> Callable[..., Any]:
    counts = method.__name__ in ("execute", "executemany", "__exit__")

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        connection = self if kind == "commit" else self.connection
        pid = connection.info.backend_pid
        cpu, pg, wall = time.process_time(), backend_cpu(pid), time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            setattr(Clock, f"{kind}_pg", getattr(Clock, f"{kind}_pg") + backend_cpu(pid) - pg)
            setattr(Clock, f"{kind}_cpu", getattr(Clock, f"{kind}_cpu") + time.process_time() - cpu)
            if kind == "commit":
                Clock.commit_wall += time.perf_counter() - wall
            elif counts:
                Clock.statements += 1

    return wrapper


def instrument_psycopg() -> None:
    """Count psycopg's statements, COPYs and commits into Clock (this process only)."""
    for name in ("execute", "executemany"):
        setattr(psycopg.Cursor, name, _timed(getattr(psycopg.Cursor, name), "sql"))
    for name in ("__enter__", "write", "__exit__"):
        setattr(psycopg.Copy, name, _timed(getattr(psycopg.Copy, name), "sql"))
    psycopg.Connection.commit = _timed(psycopg.Connection.commit, "commit")  # type: ignore[method-assign]


_FIELDS = ("sql_cpu", "sql_pg", "commit_cpu", "commit_pg", "commit_wall", "statements")


@dataclass
class Spent:
    """CPU seconds inside one wrapped function (or block), summed over its calls: this
    process's (cpu, psycopg's share included) and the Clock's fields' growth."""

    cpu: float = 0.0
    sql_cpu: float = 0.0
    sql_pg: float = 0.0
    commit_cpu: float = 0.0
    commit_pg: float = 0.0
    commit_wall: float = 0.0
    statements: int = 0

    @property
    def python(self) -> float:
        """Our Python's CPU: the process's, less the driver's in statements and commits."""
        return self.cpu - self.sql_cpu - self.commit_cpu

    @property
    def sql(self) -> float:
        """The statements' CPU: PostgreSQL's and the driver's."""
        return self.sql_pg + self.sql_cpu

    @property
    def commit(self) -> float:
        """The commits' CPU: PostgreSQL's and the driver's."""
        return self.commit_pg + self.commit_cpu


@contextmanager
def spent(into: Spent) -> Iterator[None]:
    """Add the block's CPU and the Clock's growth during it to `into`."""
    cpu, before = time.process_time(), {f: getattr(Clock, f) for f in _FIELDS}
    try:
        yield
    finally:
        into.cpu += time.process_time() - cpu
        for f in _FIELDS:
            setattr(into, f, getattr(into, f) + getattr(Clock, f) - before[f])


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
    """Mean CPU seconds of run() in this process over `times` calls (after one untimed)."""
    run()
    began = time.process_time()
    for _ in range(times):
        run()
    return (time.process_time() - began) / times


def mean_round_trip(conn: psycopg.Connection, run: Callable[[], Any], times: int) -> float:
    """Mean CPU seconds of run() (a statement on conn) in this process and its backend."""
    run()
    pid = conn.info.backend_pid
    cpu, pg = time.process_time(), backend_cpu(pid)
    for _ in range(times):
        run()
    return (time.process_time() - cpu + backend_cpu(pid) - pg) / times


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


def measure(url: str, batches: int, poster_sql_floor: float) -> dict[str, Any]:
    """Run the request and poster parts on the database at url; returns CPU ms per 1,000
    unlocks and each part's floor. poster_sql_floor: CPU seconds (PostgreSQL's and the
    client's) per 1,000 unlocks of ledger_floor's "poster" scenario."""
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
    floors["poster_sql"] = poster_sql_floor
    per = 1000 / (batches * 1000)  # requests -> per 1,000 unlocks
    per_posted = 1000 / posted
    framework = request.python - decode.python - service.python - hmac_check.python
    other_sql = request.sql - copy.sql
    trips = request.statements - copy.statements
    ms = 1000.0
    rows = [
        ("HTTP (Flask, key look-up, rate limit, JSON answer)", framework * per, floors["wsgi"],
         "a bare WSGI app reading the body and answering bytes"),
        ("HMAC (the signature check)", hmac_check.python * per, floors["hmac"],
         "HMAC-SHA256 of the body (hashlib)"),
        ("decode/validate (msgspec, the schema's checks, UnlockIn objects)",
         decode.python * per, floors["decode"],
         "msgspec into typed structs with the schema's limits"),
        ("service Python (dedupe, live windows, rules, COPY rows)", service.python * per,
         floors["format"], "formatting the 1,000 rows as COPY text"),
        ("event-log COPY (PostgreSQL + driver)", copy.sql * per, floors["copy"],
         "COPY of the same rows into a table of partner_events' shape"),
        (f"other request SQL ({trips / batches:.0f} statements a request)", other_sql * per,
         floors["round_trip"] * trips * per, "SELECT 1 per statement"),
        ("request commit (CPU)", request.commit * per, floors["commit"],
         "a one-row INSERT's commit"),
        ("poster allocation Python", post.python * per_posted, floors["split"],
         "the split's arithmetic alone (target before and after each event)"),
        (f"poster SQL ({post.statements} statements for {posted:,} events; PostgreSQL + driver)",
         post.sql * per_posted, floors["poster_sql"],
         'ledger_floor.py "poster" scenario: pre-built rows, plain tables'),
        ("poster commit (CPU)", post.commit * per_posted,
         floors["commit"] * 1000 / POSTER_BATCH, "a one-row commit per batch of 10,000"),
    ]  # fmt: skip
    parts = [
        {"part": name, "ms": round(value * ms, 2), "floor_ms": round(floor * ms, 2), "floor": what}
        for name, value, floor, what in rows
    ]
    return {
        "requests": batches,
        "posted": posted,
        "request_cpu_ms": round((request.cpu + request.sql_pg + request.commit_pg) * per * ms, 2),
        "poster_cpu_ms": round((post.cpu + post.sql_pg + post.commit_pg) * per_posted * ms, 2),
        "request_commit_wall_ms": round(request.commit_wall / batches * ms, 2),
        "poster_commit_wall_ms": round(post.commit_wall / max(1, posted // POSTER_BATCH) * ms, 2),
        "commit_floor_wall_ms": round(floors["commit_wall"] * ms, 2),
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
        pid = conn.info.backend_pid
        copies, commits, walls = [], [], []
        for data in texts:
            cpu, pg = time.process_time(), backend_cpu(pid)
            with conn.cursor() as cur, cur.copy(f"COPY parts_copy ({columns}) FROM STDIN") as copy:
                copy.write(data)
            copies.append(time.process_time() - cpu + backend_cpu(pid) - pg)
            conn.commit()
        for _ in range(50):
            conn.execute("INSERT INTO parts_commit (at) VALUES (now())")
            cpu, pg, wall = time.process_time(), backend_cpu(pid), time.perf_counter()
            conn.commit()
            walls.append(time.perf_counter() - wall)
            commits.append(time.process_time() - cpu + backend_cpu(pid) - pg)
        trip = mean_round_trip(conn, lambda: conn.execute("SELECT 1").fetchone(), 500)
        conn.execute("DROP TABLE parts_copy, parts_commit")
        conn.commit()
    return {
        "copy": statistics.fmean(copies),
        "commit": statistics.fmean(commits),
        "commit_wall": statistics.fmean(walls),
        "round_trip": trip,
        "format": formatting,
    }


def report(result: dict[str, Any]) -> None:
    """Print the table of parts."""
    print(
        f"\n{result['requests']} requests of 1,000 unlocks (in-process WSGI), then the poster"
        f" ({result['posted']:,} events in batches of {POSTER_BATCH:,});"
        " CPU ms per 1,000 unlocks (this process's, and its PostgreSQL backend's):"
    )
    print(f"{'part':<80} {'ms':>7} {'floor ms':>9} {'x floor':>8}  floor")
    for part in result["parts"]:
        times = f"{part['ms'] / part['floor_ms']:.1f}" if part["floor_ms"] else "-"
        print(
            f"{part['part']:<80} {part['ms']:>7.2f} {part['floor_ms']:>9.2f} {times:>8}"
            f"  {part['floor']}"
        )
    totals = summed(result["parts"])
    print(
        f"{'all parts':<80} {totals['ms']:>7.2f} {totals['floor_ms']:>9.2f}"
        f" {totals['ms'] / totals['floor_ms']:>8.1f}"
    )
    print(
        f"request {result['request_cpu_ms']:.1f} ms + poster {result['poster_cpu_ms']:.1f} ms of"
        f" CPU per 1,000 unlocks (gunicorn's HTTP parsing not included); commits' wall time:"
        f" request {result['request_commit_wall_ms']:.1f} ms, poster batch"
        f" {result['poster_commit_wall_ms']:.1f} ms, one-row floor"
        f" {result['commit_floor_wall_ms']:.1f} ms"
    )


def summed(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Totals of the parts."""
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        totals["ms"] += row["ms"]
        totals["floor_ms"] += row["floor_ms"]
    return dict(totals)
