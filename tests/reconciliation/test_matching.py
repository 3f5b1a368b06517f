"""Matching a partner's report against the event log: each class, on small files."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEvent
from marketplace.reconciliation.models import (
    ReconciliationLine,
    ReconciliationReport,
    StagedLine,
)
from marketplace.reconciliation.parsing import ReportRejected
from marketplace.reconciliation.reports import period_bounds, reconcile_report
from tests.reconciliation.conftest import PERIOD, at, report

LIMIT = 1 << 20


def reconcile(db, world, file, period=PERIOD, limit=LIMIT):
    return reconcile_report(db.session(), world.partner, period, file, limit=limit, source="cli")


def lines_of(db, rep):
    rows = db.session.scalars(
        select(ReconciliationLine)
        .where(ReconciliationLine.report_id == rep.id)
        .order_by(ReconciliationLine.event_id)
    )
    return {(line.kind, line.event_id) for line in rows}


@pytest.fixture
def world(db, make_world):
    w = make_world()
    for n in range(1, 7):
        w.unlock(db, f"u{n}", at(n + 1))
    w.refund(db, "r5", "u5", at(20))
    w.unlock(db, "may1", at(20, month=5))  # outside the period
    w.unlock(db, "jul1", at(2, month=7))
    return w


def test_each_class_is_named_and_counted(db, world):
    rep = reconcile(db, world, report(
        world.line("u1", when=at(2)),
        world.line("u2", amount=50, when=at(3)),
        world.line("u3", currency="EUR", when=at(4)),
        world.line("u4", when=at(5, hour=13)),
        world.line("u5", when=at(6)),
        world.line("r5", amount=-49, when=at(20)),
        world.line("x9", when=at(9)),
        world.line("may1", when=at(21, month=5)),  # their date differs, outside the period
    ))  # fmt: skip
    assert rep.counts() == {
        "matched": 3,
        "only_theirs": 1,
        "only_ours": 1,
        "currency_differs": 1,
        "amount_differs": 1,
        "content_differs": 0,
        "date_differs": 2,
    }
    assert lines_of(db, rep) == {
        ("amount_differs", "u2"),
        ("currency_differs", "u3"),
        ("date_differs", "u4"),
        ("date_differs", "may1"),
        ("only_theirs", "x9"),
        ("only_ours", "u6"),
    }
    assert rep.lines == 8
    line = db.session.scalars(
        select(ReconciliationLine).where(ReconciliationLine.event_id == "u2")
    ).one()
    assert (line.their_amount, line.our_amount, line.line_no) == (50, 49, 3)
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == "reconciliation_report")
    ).one()
    assert audit.action == "reconciliation.report" and audit.details["counts"] == rep.counts()
    # The staged lines are gone once matched.
    assert db.session.scalar(select(func.count()).select_from(StagedLine)) == 0


def test_a_refund_is_negative_on_both_sides_and_a_positive_one_differs(db, world):
    rep = reconcile(db, world, report(world.line("r5", amount=49, when=at(20))))
    assert ("amount_differs", "r5") in lines_of(db, rep)
    only_ours = {e for k, e in lines_of(db, rep) if k == "only_ours"}
    assert only_ours == {"u1", "u2", "u3", "u4", "u5", "u6"}  # may1 and jul1 are other months


def test_pools_are_never_only_ours(db, world):
    from marketplace.ingest.pools import PoolIn, ingest_pool

    pool = PoolIn("pool-1", "subscription", at(1), at(30), 10_000, "USD",
                  [(world.series.id, 5, 10)])  # fmt: skip
    ingest_pool(db.session(), world.partner, pool)
    rep = reconcile(db, world, report(*(world.line(f"u{n}", when=at(n + 1)) for n in range(1, 7)),
                                      world.line("r5", amount=-49, when=at(20))))  # fmt: skip
    assert rep.counts()["matched"] == 7
    assert lines_of(db, rep) == set()


def test_an_empty_report_lists_every_event_of_ours(db, world):
    rep = reconcile(db, world, report())
    assert rep.only_ours == 7 and rep.lines == 0 and rep.matched == 0


def test_another_partners_event_refuses_the_whole_report(db, world, make_world):
    other = make_world()
    other.unlock(db, "theirs-1", at(3))
    before = db.session.scalar(select(func.count()).select_from(ReconciliationReport))
    with pytest.raises(ReportRejected, match=r"another partner app.*theirs-1"):
        reconcile(db, world, report(world.line("u1", when=at(2)),
                                    other.line("theirs-1", when=at(3))))  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(ReconciliationReport)) == before
    assert db.session.scalar(select(func.count()).select_from(StagedLine)) == 0


def test_a_shared_id_that_is_also_ours_is_ours(db, world, make_world):
    other = make_world()
    other.unlock(db, "u1", at(2))
    rep = reconcile(db, world, report(world.line("u1", when=at(2))))
    assert rep.matched == 1


def test_periods_are_calendar_months_in_utc():
    start, end = period_bounds("2025-12")
    assert (start.isoformat(), end.isoformat()) == (
        "2025-12-01T00:00:00+00:00",
        "2026-01-01T00:00:00+00:00",
    )
    for bad in ("2025-13", "2025-6", "june", ""):
        with pytest.raises(ReportRejected, match="YYYY-MM"):
            period_bounds(bad)
    for far in ("0000-01", "9999-12"):
        with pytest.raises(ReportRejected, match="out of range"):
            period_bounds(far)


def test_ids_with_tabs_backslashes_and_quotes_survive_staging(db, world):
    odd = 'tab\there\\back"quote'
    quoted = '"' + odd.replace('"', '""') + '"'
    rep = reconcile(db, world, report(world.line(quoted, when=at(2))))
    assert ("only_theirs", odd) in lines_of(db, rep)


def test_a_line_whose_series_or_episode_differs_does_not_match(db, world):
    """Same id, amount, currency and moment, but another episode or series: the money went
    to other people, so the line is content_differs (before a date difference)."""
    rep = reconcile(db, world, report(
        world.line("u1", when=at(2), episode=6),
        world.line("u2", when=at(3), series=world.series.id + 1000),
        world.line("u3", when=at(4, hour=13), episode=7),  # the date differs too
        world.line("u4", when=at(5)),
    ))  # fmt: skip
    counts = rep.counts()
    assert (counts["matched"], counts["content_differs"], counts["date_differs"]) == (1, 3, 0)
    assert {kind for kind, _ in lines_of(db, rep)} == {"content_differs", "only_ours"}
    line = db.session.scalars(
        select(ReconciliationLine).where(
            ReconciliationLine.report_id == rep.id, ReconciliationLine.event_id == "u1"
        )
    ).one()
    assert (line.their_episode, line.our_episode) == (6, 5)
