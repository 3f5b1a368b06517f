"""Run the short version of every benchmark and print docs/benchmarks.md's tables.

Each bench runs as its own process with --json (its last line of output: the figures), in a
database of its own on the PostgreSQL at 127.0.0.1:5432, which it drops at the end. The tables
go to stdout, the benches' own output to stderr. `--write` also replaces each table in
docs/benchmarks.md, between its markers (<!-- bench:NAME --> ... <!-- /bench:NAME -->), leaving
the rest of the document as it is.

    .venv/bin/python bench/report.py [--only NAME ...] [--write] [--full]   # make bench: --write
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from scratch import ADMIN_URL, database_name

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SHORT_TIMEOUT = 20 * 60  # seconds a bench may take in a short run before it is stopped
FULL_TIMEOUT = 3 * 60 * 60


class BenchFailed(Exception):
    """A bench exited with an error, timed out, or printed no JSON line."""


def n(value: float) -> str:
    """A count with thousands separators."""
    return f"{value:,.0f}"


def pair(figures: dict) -> str:
    return f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} ms"


def problems(count: int | None) -> str:
    return "not run" if count is None else f"{count} problems"


def ledger_post_rows(r: dict) -> list[list[str]]:
    return [
        [
            n(r["unlocks"]),
            f"{n(r['call_rate'])}/s",
            f"{n(r['commit_rate'])}/s",
            f"{n(r['copy_rate'])}/s",
            problems(r["check_problems"]),
        ]
    ]


def ledger_floor_rows(r: dict) -> list[list[str]]:
    return [
        [
            s["name"],
            f"{s['median_ms']:.1f}",
            f"{s['mean_ms']:.1f}",
            f"{s['p95_ms']:.1f}",
            n(s["unlocks_per_s"]),
            f"{s['of_budget']:.0%}",
            ", ".join(f"{step} {ms:.1f}" for step, ms in s["steps_ms"].items()),
        ]
        for s in r["scenarios"]
    ]


def payout_build_rows(r: dict) -> list[list[str]]:
    return [[n(r["payees"]), f"{r['build_s']:.1f} s", problems(r["check_problems"])]]


def ingest_rows(r: dict) -> list[list[str]]:
    cpu = r["cpu_ms_per_1000"]
    check = {True: "OK", False: "FAILED", None: "not run"}[r["check_ok"]]
    return [
        [
            n(r["events"]),
            f"{n(r['unlocks_per_s'])}/s",
            f"{n(r['posted_per_s'])}/s; lag p99 {r['lag_p99_s']} s, max {r['lag_max_s']} s",
            f"{r['p50_ms']} / {r['p99_ms']} ms",
            f"{cpu['workers']} / {cpu['poster']} / {cpu['postgresql']} / {cpu['client']}"
            f" of {cpu['available']} ms",
            f"{r['rss_peak_total_mb']} MB; workers {rss(r['rss_workers_mb'][0])} at start,"
            f" {rss(r['rss_workers_mb'][1])} at end",
            f"{r['failed']} / {r['retried']}",
            check,
            f"{n(r['copy_rows_per_s'])} rows/s",
        ]
    ]


def rss(workers: list[int]) -> str:
    """Each worker's RSS in MB: "135 + 136 MB"."""
    return " + ".join(map(str, workers)) + " MB"


def json_decode_rows(r: dict) -> list[list[str]]:
    return [[f"{n(r['bytes'])} bytes", f"{r['json_ms']:.2f} ms", f"{r['msgspec_ms']:.2f} ms"]]


def statement_rows(r: dict) -> list[list[str]]:
    return [
        [
            n(r["events"]),
            pair(r["page"]),
            pair(r["service_page"]),
            pair(r["service_full"]),
            f"{r['month_page_lines']} / {n(r['month_lines'])}",
        ]
    ]


def statement_pdf_rows(r: dict) -> list[list[str]]:
    return [
        [
            s["name"],
            f"{s['first_ms']:.0f} ms",
            f"{s['median_ms']:.0f} / {s['p95_ms']:.0f} ms",
            f"{n(s['bytes'])} bytes",
        ]
        for s in r["scenarios"]
    ]


def reconcile_rows(r: dict) -> list[list[str]]:
    counts = r["counts"]
    differing = sum(v for k, v in counts.items() if k != "matched")
    exact = "yes" if r["named_exactly"] else f"NO: {r['missed']} missed, {r['extra']} extra"
    return [
        [
            f"{n(r['lines'])} ({r['file_mb']} MB)",
            f"{r['reconcile_s']:.1f} s",
            f"{r['peak_rss_mb']:.0f} MB",
            f"{n(differing)} of {n(r['seeded'])}: {exact}",
        ]
    ]


@dataclass(frozen=True)
class Bench:
    """One benchmark: its script, arguments (short and full), table columns and rows."""

    script: str
    short: tuple[str, ...]
    full: tuple[str, ...]
    columns: tuple[str, ...]
    rows: Callable[[dict], list[list[str]]]


BENCHES = {
    "ledger_post": Bench(
        "ledger_post.py",
        ("--unlocks", "200000", "--check"),
        ("--check",),
        (
            "unlocks",
            "ledger call alone",
            "+ commit",
            "baseline: raw COPY, ten legs an unlock",
            "check_ledger",
        ),
        ledger_post_rows,
    ),
    "ledger_floor": Bench(
        "ledger_floor.py",
        ("--batches", "300"),
        ("--batches", "300"),
        (
            "scenario",
            "median ms",
            "mean ms",
            "p95 ms",
            "unlocks/s at the mean",
            "of the 20 ms budget",
            "mean ms per statement",
        ),
        ledger_floor_rows,
    ),
    "payout_build": Bench(
        "payout_build.py",
        ("--payees", "100000"),
        ("--payees", "100000"),
        ("payees", "build_batch", "check_ledger"),
        payout_build_rows,
    ),
    "ingest": Bench(
        "ingest.py",
        ("--events", "200000", "--check"),
        ("--check",),
        (
            "events",
            "unlocks accepted",
            "posted to the ledger (all), poster lag",
            "request p50 / p99",
            "CPU per 1,000 unlocks: workers / poster / PostgreSQL / client",
            "server RSS peak; per worker",
            "failed / retried requests",
            "ledger check",
            "baseline: raw COPY",
        ),
        ingest_rows,
    ),
    "json_decode": Bench(
        "json_decode.py",
        (),
        ("--repeat", "2000"),
        ("batch of 1,000 unlocks", "json.loads", "msgspec"),
        json_decode_rows,
    ),
    "statement": Bench(
        "statement.py",
        ("--unlocks", "2000000", "--target", "120000"),
        (),
        (
            "history (allocation events)",
            "page p50 / p95",
            "service, page lines p50 / p95",
            "service, every field p50 / p95",
            "lines a month: page / every field",
        ),
        statement_rows,
    ),
    "statement_pdf": Bench(
        "statement_pdf.py",
        ("--documents", "20"),
        ("--documents", "100"),
        ("cast", "first PDF of a process", "next PDFs p50 / p95", "size"),
        statement_pdf_rows,
    ),
    "reconcile": Bench(
        "reconcile.py",
        ("--events", "200000", "--differences", "200"),
        (),
        (
            "report lines (file)",
            "flask settlements reconcile, wall",
            "its peak RSS",
            "differing lines named: seeded, exactly",
        ),
        reconcile_rows,
    ),
}


def cores() -> int:
    """What `nproc` prints: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def table(bench: Bench, started: datetime, figures: dict) -> str:
    """The markdown table: one row per result row, each with the date and the cores."""
    head = ("date (UTC)", "cores", *bench.columns)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in bench.rows(figures):
        cells = (started.strftime("%Y-%m-%d %H:%M"), str(cores()), *row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stop(name: str, process: subprocess.Popen) -> None:
    """Stop an overrunning bench: SIGTERM (it then drops its database and stops its server),
    SIGKILL to its whole process group a minute later, and its database dropped if left."""
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(name, process.pid)}" WITH (FORCE)')


def run(name: str, bench: Bench, full: bool) -> dict:
    """Run one bench with --json, echoing its output to stderr; returns its figures."""
    command = [
        sys.executable,
        str(ROOT / "bench" / bench.script),
        *(bench.full if full else bench.short),
        "--json",
    ]
    print(f"\n== {name}: {shlex.join(command)}", file=sys.stderr, flush=True)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    output: list[str] = []

    def echo(stream) -> None:
        for line in stream:
            output.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()

    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    reader = threading.Thread(target=echo, args=(process.stdout,), daemon=True)
    reader.start()
    timeout = FULL_TIMEOUT if full else SHORT_TIMEOUT
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(name, process)
        raise BenchFailed(f"{name}: stopped after {timeout} s") from None
    except KeyboardInterrupt:
        stop(name, process)
        raise
    reader.join()
    if process.returncode:
        raise BenchFailed(f"{name}: exit status {process.returncode}")
    lines = [line for line in output if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise BenchFailed(f"{name}: no JSON line at the end of its output") from None


def write(tables: dict[str, str]) -> None:
    """Replace each table between its markers in docs/benchmarks.md."""
    text = DOC.read_text()
    for name, body in tables.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOC}: no <!-- bench:{name} --> ... <!-- /bench:{name} --> markers")
        text = pattern.sub(lambda m, body=body: f"{m[1]}\n{body}\n\n{m[2]}", text)
    DOC.write_text(text)
    print(f"\nrewrote {len(tables)} table(s) in {DOC.relative_to(ROOT)}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHES),
        metavar="NAME",
        help=f"run only this bench (repeatable): {', '.join(BENCHES)}",
    )
    parser.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md's tables")
    parser.add_argument("--full", action="store_true", help="the full sizes (about an hour)")
    args = parser.parse_args()
    began = time.perf_counter()
    tables, failed = {}, []
    for name in args.only or BENCHES:
        started = datetime.now(UTC)
        try:
            figures = run(name, BENCHES[name], args.full)
        except BenchFailed as error:
            print(f"\nFAILED {error}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        tables[name] = table(BENCHES[name], started, figures)
        print(f"\n{name}:\n{tables[name]}", flush=True)
    if args.write and tables:
        write(tables)
    minutes, seconds = divmod(round(time.perf_counter() - began), 60)
    print(f"\n{len(tables)} bench(es) in {minutes} min {seconds} s", file=sys.stderr)
    if failed:
        print(f"failed, their tables left as they were: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
