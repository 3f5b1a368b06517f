"""Bad reports get a clear error and change nothing (issue 15, acceptance 4)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from marketplace.reconciliation.models import (
    ReconciliationLine,
    ReconciliationReport,
    StagedLine,
)
from marketplace.reconciliation.parsing import ReportRejected, ReportTooLarge
from marketplace.reconciliation.reports import reconcile_report
from tests.reconciliation.conftest import HEADER, PERIOD, at, report


def counts(db):
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (ReconciliationReport, ReconciliationLine, StagedLine)
    )


@pytest.fixture
def world(db, make_world):
    w = make_world()
    w.unlock(db, "u1", at(2))
    return w


def bad_cases(w):
    good = w.line("u1", when=at(2))
    return [
        ("missing column",
         report(good, header="event_id,series_id,episode,amount_minor,currency\n"),
         "missing occurred_at"),
        ("extra column", report(good, header=HEADER.strip() + ",note\n"), "unexpected 'note'"),
        ("twice a column", report(good, header=HEADER.strip() + ",currency\n"),
         "a column appears twice|must be exactly"),
        ("empty file", io.BytesIO(b""), "header"),
        ("decimal amount", report(good, w.line("u2", amount="1.50")),
         "Line 3: amount_minor '1.50'"),
        ("word amount", report(w.line("u2", amount="ten")), "amount_minor 'ten' is not an integer"),
        ("bad series", report(w.line("u2", series="x")), "series_id 'x'"),
        ("short line", report(good, "u3,1,2\n"), "Line 3: 3 fields, expected 6"),
        ("bad currency", report(w.line("u2", currency="usd")), "currency 'usd'"),
        ("naive time", report(f"u2,{w.series.id},5,49,USD,2025-06-02T10:00:00\n"),
         "with an offset"),
        ("duplicate ids", report(good, w.line("u7"), w.line("u7")),
         "appear more than once: 'u7' on lines 3 and 4"),
        ("not utf-8", io.BytesIO(HEADER.encode() + b"u\xff,1,1,1,USD,x\n"), "not UTF-8"),
    ]  # fmt: skip


def test_every_bad_report_is_refused_and_changes_nothing(db, world):
    before = counts(db)
    for name, file, message in bad_cases(world):
        with pytest.raises(ReportRejected, match=message):
            reconcile_report(db.session(), world.partner, PERIOD, file, limit=1 << 20, source="cli")
        assert counts(db) == before, name


def test_a_file_over_the_limit_is_refused(db, world):
    lines = [world.line(f"u{n}", when=at(2)) for n in range(1, 200)]
    file = report(*lines)
    size = len(file.getvalue())
    before = counts(db)
    with pytest.raises(ReportTooLarge, match=f"larger than {size - 1} bytes"):
        reconcile_report(db.session(), world.partner, PERIOD, file, limit=size - 1, source="cli")
    assert counts(db) == before
    file.seek(0)
    rep = reconcile_report(db.session(), world.partner, PERIOD, file, limit=size, source="cli")
    assert rep.size == size and rep.matched == 1
