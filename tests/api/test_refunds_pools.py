"""Refunds reverse their unlock exactly; pools are shared by views exactly; event statuses."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from ledger.balances import get_balance
from ledger.journal import pg_array
from ledger.reports.checks import check_ledger
from ledger.schema import Account, BalanceRow, Entry
from marketplace.chart import ledger_account
from marketplace.ingest.refunds import _UNLOCKS_PG
from tests.api.conftest import unlock


def statuses(response):
    return [r.get("error", {}).get("code", r["status"]) for r in response.get_json()["results"]]


def balances(db):
    rows = db.session.execute(select(Account.id, BalanceRow.posted).join(BalanceRow)).all()
    return {account_id: posted for account_id, posted in rows if posted}


def refund(event_id, unlock_id, **extra):
    body = {"id": event_id, "unlock_id": unlock_id, "occurred_at": datetime.now(UTC).isoformat()}
    body.update(extra)
    return body


def test_refunds_reverse_unlocks_exactly(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    before = balances(db)
    partner.post(
        "/api/v1/unlocks", {"events": [unlock(f"u{i}", series, amount=37 + i) for i in range(7)]}
    )
    response = partner.post(
        "/api/v1/refunds",
        {"events": [refund(f"r{i}", f"u{i}", reason="chargeback") for i in range(7)]},
    )
    assert statuses(response) == ["accepted"] * 7
    assert balances(db) == before  # every account back to where it was
    assert check_ledger(db.session) == []
    status = partner.get("/api/v1/events/u3").get_json()
    assert status["status"] == "refunded" and status["refund_id"] == "r3"
    assert partner.get("/api/v1/events/r3").get_json()["unlock_id"] == "u3"


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="PostgreSQL's planner",
)
def test_the_refunds_unlock_look_up_probes_each_id_whatever_the_planner_thinks(
    db, make_partner, make_live_series
):
    """With nested loops costed out (as stale statistics made a hash of every event of the
    partner look cheaper for the dedupe look-up), the refunds' unlock look-up still reaches
    partner_events only by one LIMIT 1 probe per id, never by a hash or merge join."""
    partner = make_partner()
    series = make_live_series(partner.app)
    partner.post("/api/v1/unlocks", {"events": [unlock(f"u{i}", series) for i in range(5)]})
    db.session.execute(text("SET LOCAL enable_nestloop = off"))
    params = {"ids": pg_array(["u0", "u3", "u9"]), "partner": partner.app.id}
    explained = db.session.execute(
        text(f"EXPLAIN (FORMAT JSON) {_UNLOCKS_PG.element.text}"), params
    ).scalar_one()
    plan = json.dumps(explained if isinstance(explained, list) else json.loads(explained))
    assert "Hash Join" not in plan and "Merge Join" not in plan
    assert '"Node Type": "Limit"' in plan
    response = partner.post(
        "/api/v1/refunds", {"events": [refund("r0", "u0"), refund("r3", "u3"), refund("r9", "u9")]}
    )
    assert statuses(response) == ["accepted", "accepted", "unknown_unlock"]
    assert check_ledger(db.session) == []


def test_refund_rejections(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    partner.post(
        "/api/v1/unlocks", {"events": [unlock("u1", series, occurred_at=old), unlock("u2", series)]}
    )
    first = refund("r1", "u1")
    response = partner.post(
        "/api/v1/refunds",
        {
            "events": [
                first,
                refund("r2", "u1"),
                refund("r3", "nope"),
                refund(
                    "r4", "u2", occurred_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
                ),
                refund("r5", "u2", occurred_at=(datetime.now(UTC) - timedelta(days=2)).isoformat()),
                refund("u2", "u2"),
            ]
        },
    )
    assert statuses(response) == [
        "accepted",
        "already_refunded",
        "unknown_unlock",
        "occurred_in_future",
        "refund_before_unlock",
        "conflict",
    ]
    again = partner.post(
        "/api/v1/refunds", {"events": [first, refund("r6", "u1"), dict(first, reason="x")]}
    )
    assert statuses(again) == ["duplicate", "already_refunded", "conflict"]
    rejected = partner.get("/api/v1/events/r3").get_json()
    assert rejected["status"] == "rejected" and rejected["error"]["code"] == "unknown_unlock"
    assert partner.get("/api/v1/events/never").status_code == 404
    assert check_ledger(db.session) == []


def test_another_partner_cannot_refund_my_unlock(db, make_partner, make_live_series):
    mine, theirs = make_partner(), make_partner()
    series = make_live_series(mine.app)
    mine.post("/api/v1/unlocks", {"events": [unlock("u1", series)]})
    assert statuses(theirs.post("/api/v1/refunds", {"events": [refund("r1", "u1")]})) == [
        "unknown_unlock"
    ]
    assert theirs.get("/api/v1/events/u1").status_code == 404


def pool(pool_id, views, amount=1000, **extra):
    now = datetime.now(UTC)
    body = {
        "id": pool_id,
        "kind": "subscription",
        "period_start": (now - timedelta(days=2)).isoformat(),
        "period_end": (now - timedelta(days=1)).isoformat(),
        "amount": amount,
        "currency": "USD",
        "views": views,
    }
    body.update(extra)
    return body


def test_pools_are_shared_by_views_exactly(db, make_partner, make_live_series):
    partner = make_partner()
    a, b, c = (make_live_series(partner.app, title=t) for t in "abc")
    views = [
        {"series_id": a.id, "episode": 1, "count": 1},
        {"series_id": b.id, "episode": 2, "count": 1},
        {"series_id": c.id, "episode": 3, "count": 1},
        {"series_id": a.id, "episode": 4, "count": 0},
    ]
    sent = pool("p1", views, amount=1000)
    response = partner.post("/api/v1/revenue-pools", sent)
    body = response.get_json()
    assert body["status"] == "accepted"
    shares = {s["series_id"]: s["amount"] for s in body["shares"]}
    assert sum(shares.values()) == 1000
    assert shares == {a.id: 334, b.id: 333, c.id: 333}  # tie: lowest series id first
    receivable = ledger_account(db.session, "partner_receivable", "USD", partner.app.id)
    assert get_balance(db.session, receivable.id).posted == 1000
    again = partner.post("/api/v1/revenue-pools", sent).get_json()
    assert again["status"] == "duplicate" and again["shares"] == body["shares"]
    conflict = partner.post("/api/v1/revenue-pools", dict(sent, amount=999)).get_json()
    assert conflict["error"]["code"] == "conflict"
    assert partner.get("/api/v1/events/p1").get_json()["kind"] == "pool"
    assert check_ledger(db.session) == []


def test_pool_rejections(db, make_partner, make_live_series):
    partner, other = make_partner(), make_partner()
    mine = make_live_series(partner.app)
    theirs = make_live_series(other.app)
    ok = [{"series_id": mine.id, "episode": 1, "count": 5}]
    cases = [
        (pool("x1", [{"series_id": theirs.id, "episode": 1, "count": 5}]), "series_not_live"),
        (pool("x2", [{"series_id": mine.id, "episode": 99, "count": 5}]), "unknown_episode"),
        (pool("x3", ok, currency="EUR"), "wrong_currency"),
        (
            pool(
                "x4",
                ok,
                period_end=datetime.now(UTC).isoformat(),
                period_start=datetime.now(UTC).isoformat(),
            ),
            "invalid_period",
        ),
        (pool("x5", [{"series_id": mine.id, "episode": 1, "count": 0}]), "no_views"),
    ]
    for body, code in cases:
        answer = partner.post("/api/v1/revenue-pools", body).get_json()
        assert answer["status"] == "rejected", body
        assert answer["error"]["code"] == code
    response = partner.post("/api/v1/revenue-pools", pool("x6", ok, kind="tips"))
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "kind"
    assert partner.get("/api/v1/events/x1").get_json()["error"]["code"] == "series_not_live"
    entries = db.session.scalar(select(func.count()).select_from(Entry))
    empty = pool("x7", ok, amount=0)
    zero = partner.post("/api/v1/revenue-pools", empty).get_json()
    assert zero["status"] == "accepted"
    assert zero["shares"] == [{"series_id": mine.id, "amount": 0}]
    # Recorded (a repeat is a duplicate) but no money moved: the ledger has no new entry.
    assert db.session.scalar(select(func.count()).select_from(Entry)) == entries
    repeat = partner.post("/api/v1/revenue-pools", empty).get_json()
    assert repeat["status"] == "duplicate"
