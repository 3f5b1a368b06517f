"""Reading reports and their lines (for the web, the API and the CLI)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.reconciliation.models import (
    ReconciliationDispute,
    ReconciliationLine,
    ReconciliationReport,
)

LINE_FIELDS = (
    "kind", "event_id", "line_no",
    "their_series_id", "their_episode", "their_amount", "their_currency", "their_occurred_at",
    "our_series_id", "our_episode", "our_amount", "our_currency", "our_occurred_at",
)  # fmt: skip
"""The columns of a differing line, as JSON keys and CSV headers."""


def line_dict(line: ReconciliationLine) -> dict[str, Any]:
    """A differing line as JSON (times ISO 8601, amounts integers in minor units)."""
    out: dict[str, Any] = {"id": line.id}
    for name in LINE_FIELDS:
        value = getattr(line, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def report_dict(report: ReconciliationReport) -> dict[str, Any]:
    """A report's summary as JSON."""
    return {
        "id": report.id,
        "period": report.period,
        "source": report.source,
        "lines": report.lines,
        "size": report.size,
        "counts": report.counts(),
        "created_at": report.created_at.isoformat(),
    }


def differing_lines(session: Session, report_id: int) -> Iterator[ReconciliationLine]:
    """Every differing line of a report, by class then id, read in batches."""
    return iter(
        session.scalars(
            select(ReconciliationLine)
            .where(ReconciliationLine.report_id == report_id)
            .order_by(ReconciliationLine.kind, ReconciliationLine.id)
            .execution_options(yield_per=2000)
        )
    )


def lines_page(
    session: Session, report_id: int, *, page: int, per_page: int, kind: str | None = None
) -> tuple[list[tuple[ReconciliationLine, ReconciliationDispute | None]], int]:
    """One page of a report's differing lines with their disputes, and how many there are."""
    where = [ReconciliationLine.report_id == report_id]
    if kind:
        where.append(ReconciliationLine.kind == kind)
    total = session.scalar(select(func.count()).select_from(ReconciliationLine).where(*where)) or 0
    rows = session.execute(
        select(ReconciliationLine, ReconciliationDispute)
        .outerjoin(ReconciliationDispute, ReconciliationDispute.line_id == ReconciliationLine.id)
        .where(*where)
        .order_by(ReconciliationLine.kind, ReconciliationLine.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [(row[0], row[1]) for row in rows], total


def lines_csv(session: Session, report_id: int) -> Iterator[str]:
    """The differing lines as CSV text, a chunk at a time (header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LINE_FIELDS)
    for count, line in enumerate(differing_lines(session, report_id), start=1):
        values = line_dict(line)
        writer.writerow([_csv_safe(values[name]) for name in LINE_FIELDS])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_safe(value: object) -> object:
    """A partner's text that a spreadsheet would run as a formula is quoted with a '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
