"""POST /api/v1/unlocks: acceptance, every rejection code, duplicates and conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from ledger.schema import AllocationRun
from marketplace.chart import ledger_account
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.poster import post_pending
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.studio.models import Listing
from tests.api.conftest import T0, unlock


def codes(response):
    return [r.get("error", {}).get("code", r["status"]) for r in response.get_json()["results"]]


def test_unlocks_are_split_exactly_and_answered_in_order(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [unlock(f"u{i}", series, episode=3 + i % 5, amount=49) for i in range(300)]
    response = partner.post("/api/v1/unlocks", {"events": events})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == [e["id"] for e in events]
    assert {r["status"] for r in results} == {"accepted"}
    commission = ledger_account(db.session, "partner_commission", "USD", partner.app.id)
    later = datetime.now(UTC) + timedelta(days=30)
    gross = 49 * 300
    assert (
        abs(get_balance(db.session, commission.id, now=later).posted - gross * Fraction(3, 10)) < 1
    )
    assert check_ledger(db.session) == []


def test_every_rejection_code(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app, episodes=10, free=2)
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    before_live = (T0 - timedelta(hours=1)).isoformat()
    events = [
        unlock("ok", series),
        unlock("free", series, episode=2),
        unlock("missing-episode", series, episode=11),
        unlock("unknown-series", series, series_id=series.id + 1000),
        unlock("before-live", series, occurred_at=before_live),
        unlock("future", series, occurred_at=future),
        unlock("currency", series, currency="EUR"),
        unlock("country", series, country="XX"),
        unlock("bad-amount", series, amount=-1),
        unlock("float-amount", series, amount=4.9),
        {"id": "missing-fields"},
        unlock("naive-time", series, occurred_at="2026-01-01T00:00:00"),
        unlock("extra", series, coupon="X"),
        "not an object",
        unlock("x" * 65, series),
    ]
    response = partner.post("/api/v1/unlocks", {"events": events})
    assert response.status_code == 200
    assert codes(response) == [
        "accepted",
        "free_episode",
        "unknown_episode",
        "series_not_live",
        "series_not_live",
        "occurred_in_future",
        "wrong_currency",
        "invalid_country",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
    ]
    results = response.get_json()["results"]
    assert results[8]["error"]["field"] == "events[8].amount"
    assert results[10]["error"]["field"] == "events[10].series_id"
    assert results[13]["id"] is None and results[14]["id"] is None


def test_withdrawn_listing_and_missing_split(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    listing = db.session.query(Listing).filter_by(series_id=series.id).one()
    listing.status, listing.withdrawn_at = "withdrawn", datetime.now(UTC) - timedelta(days=1)
    other = make_live_series(partner.app, title="No split")
    for version in list(other_versions(db, other)):
        db.session.delete(version)
    db.session.flush()
    response = partner.post(
        "/api/v1/unlocks",
        {
            "events": [
                unlock(
                    "before-withdrawal", series, occurred_at=(T0 + timedelta(hours=1)).isoformat()
                ),
                unlock("after-withdrawal", series),
                unlock("no-split", other),
            ]
        },
    )
    assert codes(response) == ["accepted", "series_not_live", "no_split"]


def other_versions(db, series):
    from marketplace.splits.models import SplitVersion

    return db.session.query(SplitVersion).filter_by(series_id=series.id)


def test_a_partner_cannot_report_unlocks_on_another_partners_listing(
    db, make_partner, make_live_series
):
    mine, theirs = make_partner(), make_partner()
    series = make_live_series(theirs.app)
    response = mine.post("/api/v1/unlocks", {"events": [unlock("steal", series)]})
    assert codes(response) == ["series_not_live"]
    assert (
        theirs.post("/api/v1/unlocks", {"events": [unlock("steal", series)]}).get_json()["results"][
            0
        ]["status"]
        == "accepted"
    )


def test_duplicates_and_conflicts(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    first = unlock("a", series)
    assert codes(partner.post("/api/v1/unlocks", {"events": [first]})) == ["accepted"]
    changed = dict(first, amount=99)
    same_in_batch = unlock("b", series)
    other_in_batch = dict(same_in_batch, viewer="someone else")
    response = partner.post(
        "/api/v1/unlocks",
        {"events": [first, changed, same_in_batch, same_in_batch, other_in_batch]},
    )
    assert codes(response) == ["duplicate", "conflict", "accepted", "duplicate", "conflict"]
    # Equal content in another offset notation is the same content.
    moment = datetime.fromisoformat(first["occurred_at"]).astimezone(UTC)
    same = dict(first, occurred_at=moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert codes(partner.post("/api/v1/unlocks", {"events": [same]})) == ["duplicate"]
    assert check_ledger(db.session) == []


def test_zero_amount_unlocks_are_recorded_without_money(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    assert codes(partner.post("/api/v1/unlocks", {"events": [unlock("z", series, amount=0)]})) == [
        "accepted"
    ]
    status = partner.get("/api/v1/events/z").get_json()
    assert status["status"] == "accepted" and status["amount"] == 0


def test_batch_limits(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    too_many = {"events": [unlock(f"e{i}", series) for i in range(1001)]}
    response = partner.post("/api/v1/unlocks", too_many)
    assert response.status_code == 413
    assert "1000" in response.get_json()["error"]["message"]
    assert partner.post("/api/v1/unlocks", {"events": []}).get_json() == {"results": []}
    for bad in ({}, {"events": "x"}, [], {"events": [], "more": 1}):
        response = partner.post("/api/v1/unlocks", bad)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_body"
    response = partner.post("/api/v1/unlocks", None, body=b'{"events": [NaN]}')
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_accepted_events_are_posted_once_with_the_entry_that_carries_their_money(
    db, make_partner, make_live_series
):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [unlock(f"t{i}", series, episode=3 + i % 4) for i in range(40)]
    response = partner.post("/api/v1/unlocks", {"events": events}, post=False)
    assert set(codes(response)) == {"accepted"}
    waiting = partner.get("/api/v1/events/t7", post=False).get_json()["ledger"]
    assert waiting == {"status": "accepted", "entry_ids": []}
    assert db.session.scalar(select(func.count()).select_from(AllocationRun)) == 0
    assert post_pending(db.session()).events == 40
    assert post_pending(db.session()).events == 0  # posted once: nothing is left
    rows = dict(
        db.session.execute(
            select(PartnerEvent.external_id, PartnerEvent.id).where(
                PartnerEvent.partner_id == partner.app.id
            )
        ).all()
    )
    runs = db.session.execute(select(AllocationRun.entry_id, AllocationRun.refs)).all()
    in_runs = [ref for _, refs in runs for ref in refs]
    assert sorted(in_runs) == sorted(rows.values())  # each event in exactly one run
    entry_of = {ref: entry_id for entry_id, refs in runs for ref in refs}
    for external_id, row_id in rows.items():
        answer = partner.get(f"/api/v1/events/{external_id}").get_json()["ledger"]
        assert answer == {"status": "posted", "entry_ids": [entry_of[row_id]]}
    assert check_ledger(db.session) == []


def test_the_ledger_refuses_to_post_an_event_twice(db, make_partner, make_live_series):
    """The poster's cursor makes posting exactly-once; should anything post the same event
    again, the entry's idempotency key (bucket and first event) refuses it."""
    partner = make_partner()
    series = make_live_series(partner.app)
    taken = unlock("taken", series)
    assert codes(partner.post("/api/v1/unlocks", {"events": [taken]})) == ["accepted"]
    row = db.session.scalars(select(PartnerEvent).where(PartnerEvent.external_id == "taken")).one()
    again = RevenueFacts(row.id, series.id, 49, row.occurred_at, 5)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        post_revenue(db.session(), partner.app, [again], version_ids=[row.split_version_id])
    assert check_ledger(db.session) == []


def test_earnings_pages_say_which_reports_their_balances_include(
    db, client, login_as, make_partner, make_live_series
):
    from marketplace.accounts.models import User
    from marketplace.splits.models import TeamMember

    partner = make_partner()
    series = make_live_series(partner.app)
    member = db.session.scalars(select(TeamMember).where(TeamMember.series_id == series.id)).first()
    user = User(email="payee-asof@example.com", role="participant")
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.flush()
    member.user_id, member.accepted_at = user.id, T0
    db.session.flush()
    partner.post("/api/v1/unlocks", {"events": [unlock("asof-1", series)]})
    through = db.session.scalars(select(PartnerEvent.created_at)).one()
    login_as(user)
    for path in ("/earnings/", "/earnings/statement"):
        page = client.get(path).get_data(as_text=True)
        assert f"received up to {through:%Y-%m-%d %H:%M:%S} UTC" in page, path
