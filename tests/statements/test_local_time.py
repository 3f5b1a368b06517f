"""Earnings pages in the reader's time zone: the pending-by-day list groups by the local day
money becomes available, and the statement's period line gives its UTC days' bounds in local
time; exports keep UTC."""

from __future__ import annotations

from datetime import timedelta

from marketplace.clock import utcnow


def test_pending_days_and_the_statement_period_in_manila(db, client, login_as, world):
    # Available 7 days after the unlock at 20:00 UTC: 04:00 the next day in Manila (UTC+8).
    day = (utcnow() + timedelta(days=1)).replace(hour=20, minute=0, second=0, microsecond=0)
    unlock_at = day - timedelta(days=7)
    world.unlock(unlock_at, gross=1000)
    world.participant.time_zone = "Asia/Manila"
    db.session.flush()
    login_as(world.participant)
    page = client.get("/earnings/").get_data(as_text=True)
    manila_day = (day + timedelta(days=1)).date().isoformat()
    assert "becomes available (your time, Asia/Manila)" in page
    assert f"<td>{manila_day}</td>" in page
    assert f"<td>{day.date().isoformat()}</td>" not in page

    page = client.get("/earnings/statement?month=2026-03").get_data(as_text=True)
    assert (
        "2026-03-01 to 2026-03-31 (UTC days: 2026-03-01 08:00 PST to 2026-04-01 08:00 PST"
        " your time)" in page
    )

    world.participant.time_zone = "UTC"
    db.session.flush()
    page = client.get("/earnings/").get_data(as_text=True)
    assert "becomes available (UTC)" in page and f"<td>{day.date().isoformat()}</td>" in page
