"""Time statement PDFs (marketplace/earnings/pdf_statement.py): 120 earnings lines over three
series, for a cast with Latin names only or with names in eight scripts (CJK, Hangul, Arabic,
Devanagari, Thai...); the first document of a process (the fonts are parsed then, once) and the
following ones. No database: the statement is built in memory.

    .venv/bin/python bench/statement_pdf.py [--documents N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NAMES = ["Łukasz Żółć", "王小明", "김민준", "Анна Петрова", "Γιώργος Π.", "สมชาย ใจดี",
         "محمد علي", "अनिल कुमार"]  # fmt: skip


LATIN = ["Łukasz Żółć", "Ana Núñez", "José Müller", "Zoë Ørsted"]


def _view(names: list[str]):
    from ledger.reports.statements import Statement
    from marketplace.earnings.statements import LineView, SeriesSection, StatementView

    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = start + timedelta(days=31)
    sections = [
        SeriesSection(
            title=f"{names[s % len(names)]} · Series {s}",
            lines=[
                LineView("earning", 1_000 + n, 3, episode=n + 1, partner=names[-1], country="KR")
                for n in range(40)
            ],
        )
        for s in range(3)
    ]
    total = sum(section.total for section in sections)
    statement = Statement(
        account_id=1, currency="USD", start=start, end=end, opening=0, lines=(),
        closing=total, pending=0, available=total, fields=(),
    )  # fmt: skip
    return StatementView("USD", start, end, statement, sections, [], [], [], [])


def measure(names: list[str], documents: int, reparse: bool) -> dict:
    """Time `documents` PDFs for a cast with `names` (the fonts parsed again for each one
    when `reparse`: the cost before they were kept per process)."""
    from marketplace.earnings import pdf_statement

    view = _view(names)
    timings = []
    for n in range(documents):
        if reparse:
            pdf_statement._parsed_fonts.clear()
        began = time.perf_counter()
        data = pdf_statement.statement_pdf(view, "en_US", names[n % len(names)])
        timings.append((time.perf_counter() - began) * 1000)
        assert data.startswith(b"%PDF")
    later = sorted(timings[1:])
    return {
        "first_ms": round(timings[0], 1),
        "median_ms": round(statistics.median(later), 1),
        "p95_ms": round(later[int(0.95 * (len(later) - 1))], 1),
        "bytes": len(data),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenarios = []
    for label, names, reparse in (
        ("Latin names", LATIN, False),
        ("names in eight scripts", NAMES, False),
        ("eight scripts, fonts parsed for each document", NAMES, True),
    ):
        figures = {"name": label, **measure(names, args.documents, reparse)}
        scenarios.append(figures)
        print(
            f"{label}: {args.documents} PDFs, first {figures['first_ms']} ms, then median"
            f" {figures['median_ms']} ms, p95 {figures['p95_ms']} ms ({figures['bytes']} bytes)"
        )
    if args.json:
        print(json.dumps({"documents": args.documents, "scenarios": scenarios}))


if __name__ == "__main__":
    main()
