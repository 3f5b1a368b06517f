"""POST /api/v1/unlocks: acceptance, every rejection code, duplicates and conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import func, select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from ledger.schema import AllocationEventRow
from marketplace.chart import ledger_account
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.revenue import RevenueFacts, post_revenue, unlock_source_key
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


def test_event_rows_name_the_entry_that_carries_their_money(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [unlock(f"t{i}", series, episode=3 + i % 4) for i in range(40)]
    assert set(codes(partner.post("/api/v1/unlocks", {"events": events}))) == {"accepted"}
    logged = dict(
        db.session.execute(
            select(PartnerEvent.external_id, PartnerEvent.entry_id).where(
                PartnerEvent.partner_id == partner.app.id
            )
        ).all()
    )
    traced = dict(
        db.session.execute(select(AllocationEventRow.source_key, AllocationEventRow.entry_id)).all()
    )
    assert len(logged) == 40
    for external_id, entry_id in logged.items():
        assert entry_id is not None
        assert traced[unlock_source_key(partner.app.id, external_id)] == entry_id


def test_an_unlock_the_ledger_already_holds_applies_nothing(db, make_partner, make_live_series):
    """The event log and the ledger disagree (the ledger holds an unlock the log does not, as
    a concurrent request would leave it): the whole request is refused with a 409, nothing of
    it is written, and a retry once the log agrees answers normally."""
    partner = make_partner()
    series = make_live_series(partner.app)
    taken = unlock("taken", series)
    moment = datetime.fromisoformat(taken["occurred_at"])
    post_revenue(
        db.session,
        partner.app,
        [RevenueFacts(unlock_source_key(partner.app.id, "taken"), series.id, 49, moment, 5)],
    )
    db.session.commit()
    response = partner.post("/api/v1/unlocks", {"events": [unlock("fresh", series), taken]})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "concurrent_request"
    assert partner.get("/api/v1/events/fresh").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AllocationEventRow)) == 1
    assert check_ledger(db.session) == []
    response = partner.post("/api/v1/unlocks", {"events": [unlock("fresh", series)]})
    assert codes(response) == ["accepted"]
