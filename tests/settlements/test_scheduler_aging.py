"""The hourly settlement job: closes what is due once, mails admins once per overdue
statement; the aging buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.mail import OutboxMessage
from marketplace.scheduler.jobs import create_scheduler, settle_due
from marketplace.settlements.aging import aging, bucket_of, overdue_partners
from marketplace.settlements.models import SettlementStatement
from tests.settlements.conftest import T0

OCT = datetime(2026, 10, 1, tzinfo=UTC)


def test_the_hourly_job_closes_due_periods_once_and_mails_overdue_once(
    app, db, make_world, make_admin
):
    admin = make_admin()
    world = make_world()
    world.unlock(T0 + timedelta(days=2), amount=1000)
    world.unlock(OCT + timedelta(days=2), amount=1000)
    db.session.commit()
    now = datetime(2026, 11, 5, tzinfo=UTC)  # September and October past their cut-off
    assert settle_due(app, now) == 2
    assert settle_due(app, now) == 0
    statements = db.session.scalars(
        select(SettlementStatement).where(SettlementStatement.partner_id == world.partner.id)
    ).all()
    assert [s.label for s in sorted(statements, key=lambda s: s.period_start)] == [
        "2026-09",
        "2026-10",
    ]
    # September was due on Oct 31: overdue, one mail to each admin, once.
    mails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == admin.email)
    ).all()
    assert [m.subject for m in mails] == [f"Overdue: {world.partner.name} settlement 2026-09"]
    settle_due(app, now + timedelta(hours=1))
    assert len(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == admin.email)
    ).all()) == 1  # fmt: skip
    row = next(r for r in aging(db.session, now) if r.partner_id == world.partner.id)
    assert row.buckets["1-30"] == 700 and row.buckets["current"] == 700
    assert world.partner.id in {r.partner_id for r in overdue_partners(db.session, now)}
    assert "settlement-close" in {job.id for job in create_scheduler(app).get_jobs()}


def test_aging_buckets():
    assert [bucket_of(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current", "current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+",
    ]  # fmt: skip
