"""Acceptance 4 of issue 18: bad coin unlocks, bundles, purchases and view counts are rejected
per event with their documented codes, and the rest of the batch is applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import select

from ledger.reports.checks import check_ledger
from ledger.schema import AllocationBucket
from marketplace.ingest.api.openapi import REJECTION_CODES
from marketplace.ingest.kinds.coin_values import set_coin_rate
from marketplace.ingest.models import EpisodeViewDays, EpisodeViews, PartnerEvent
from marketplace.splits.models import TeamMember


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def codes(response) -> list[str]:
    return [r.get("error", {}).get("code", r["status"]) for r in response.get_json()["results"]]


def accepted_ids(db, kind: str) -> set[str]:
    return set(
        db.session.scalars(select(PartnerEvent.external_id).where(PartnerEvent.kind == kind))
    )


def test_coin_unlocks_without_a_coin_value_in_force_are_rejected(
    db, make_partner, make_live_series
):
    partner = make_partner()
    series = make_live_series(partner.app)
    start = datetime.now(UTC) - timedelta(hours=2)
    set_coin_rate(
        db.session,
        partner.app,
        paid=Fraction(5, 6),
        bonus=Fraction(0),
        effective_from=start,
        now=start,
    )
    coin = {"series_id": series.id, "episode": 5, "coins": 90}
    response = partner.post(
        "/api/v1/coin-unlocks",
        {
            "events": [
                {"id": "c1", **coin, "occurred_at": ago(hours=3)},
                {"id": "c2", **coin, "occurred_at": ago(hours=1), "bonus_coins": 10},
                {"id": "c3", **coin, "episode": 1, "occurred_at": ago(hours=1)},
                {"id": "c4", **coin, "coins": -1, "occurred_at": ago(hours=1)},
            ]
        },
    )
    assert codes(response) == ["no_coin_value", "accepted", "free_episode", "invalid_event"]
    assert accepted_ids(db, "coins") == {"c2"}
    status = partner.get("/api/v1/events/c2").get_json()
    assert status["kind"] == "coins" and status["ledger"]["status"] == "posted"
    assert (status["coins"], status["bonus_coins"]) == (90, 10)
    assert status["ledger"]["entry_ids"]
    assert partner.get("/api/v1/events/c1").get_json()["error"]["code"] == "no_coin_value"
    bucket = db.session.scalar(select(AllocationBucket))
    assert bucket.cumulative_gross == 75  # 90 coins x 5/6 cent
    assert check_ledger(db.session) == []


def test_bundles_over_episodes_that_do_not_exist_are_rejected(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app, episodes=10)
    sale = {"series_id": series.id, "amount": 999, "currency": "USD", "occurred_at": ago(hours=1)}
    response = partner.post(
        "/api/v1/bundles",
        {
            "events": [
                {"id": "b1", **sale, "first_episode": 3, "last_episode": 10},
                {"id": "b2", **sale, "first_episode": 8, "last_episode": 12},
                {"id": "b3", **sale, "first_episode": 6, "last_episode": 4},
                {"id": "b4", **sale},
                {"id": "b5", **sale, "series_id": 999_999},
            ]
        },
    )
    assert codes(response) == [
        "accepted",
        "unknown_episode",
        "invalid_range",
        "accepted",
        "series_not_live",
    ]
    assert accepted_ids(db, "bundle") == {"b1", "b4"}
    whole = db.session.scalar(select(PartnerEvent).where(PartnerEvent.external_id == "b4"))
    assert (whole.details["first"], whole.details["last"]) == (1, 10)
    assert db.session.scalar(select(AllocationBucket.cumulative_gross)) == 2 * 999


def test_purchases_without_a_valid_commission_are_rejected(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    other = make_live_series(partner.app, title="Other")
    stranger = db.session.scalar(select(TeamMember.id).where(TeamMember.series_id == other.id))
    sale = {
        "series_id": series.id,
        "episode": 12 - 2,
        "product": "Scarf",
        "price": 2500,
        "currency": "USD",
        "occurred_at": ago(hours=1),
    }
    response = partner.post(
        "/api/v1/purchases",
        {
            "events": [
                {"id": "s1", **sale, "commission": 500},
                {"id": "s2", **sale},
                {"id": "s3", **sale, "commission": 0},
                {"id": "s4", **sale, "commission": 2501},
                {"id": "s5", **sale, "commission": 100, "featured": [stranger]},
                {"id": "s6", **sale, "commission": 100, "episode": 11},
                {"id": "s7", **sale, "commission": 2500},
            ]
        },
    )
    assert codes(response) == [
        "accepted",
        "no_commission",
        "no_commission",
        "commission_above_price",
        "unknown_member",
        "unknown_episode",
        "accepted",
    ]
    assert accepted_ids(db, "purchase") == {"s1", "s7"}
    [bucket] = db.session.scalars(select(AllocationBucket)).all()
    assert bucket.key.endswith("|commerce") and bucket.cumulative_gross == 3000
    assert check_ledger(db.session) == []


def test_view_counts_are_upserted_and_bad_rows_rejected(db, make_partner, make_live_series):
    partner = make_partner()
    elsewhere = make_partner()
    series = make_live_series(partner.app)
    not_here = make_live_series(elsewhere.app, title="Elsewhere")
    today = datetime.now(UTC).date()
    row = {"series_id": series.id, "episode": 1, "day": today.isoformat(), "country": "US"}
    response = partner.post(
        "/api/v1/views",
        {
            "events": [
                {**row, "starts": 1000, "completions": 800},
                {**row, "episode": 2, "starts": -5, "completions": 1},
                {**row, "series_id": not_here.id, "starts": 5, "completions": 1},
                {**row, "episode": 2, "starts": 700, "completions": 650},
                {**row, "episode": 99, "starts": 1, "completions": 1},
                {
                    **row,
                    "day": (today + timedelta(days=2)).isoformat(),
                    "starts": 1,
                    "completions": 0,
                },
                {**row, "country": "XX", "starts": 1, "completions": 0},
            ]
        },
    )
    assert codes(response) == [
        "accepted",
        "negative_count",
        "series_not_live",
        "accepted",
        "unknown_episode",
        "occurred_in_future",
        "invalid_country",
    ]
    counts = {
        v.episode: (v.starts, v.completions) for v in db.session.scalars(select(EpisodeViews))
    }
    assert counts == {1: (1000, 800), 2: (700, 650)}
    # A later report of the day replaces its counts; a repeat changes nothing.
    for _ in range(2):
        partner.post("/api/v1/views", {"events": [{**row, "starts": 1200, "completions": 900}]})
    db.session.expire_all()
    views = db.session.scalars(select(EpisodeViews).where(EpisodeViews.episode == 1)).one()
    assert (views.starts, views.completions) == (1200, 900)


def test_day_totals_follow_every_report_of_the_countries(db, make_partner, make_live_series):
    """episode_view_days (what analytics reads without a country) is always the sum of the
    day's country rows: new rows add, a later report moves it by the change, a repeat and a
    key twice in one batch count once."""
    partner = make_partner()
    series = make_live_series(partner.app)
    today = datetime.now(UTC).date()
    row = {"series_id": series.id, "episode": 1, "day": today.isoformat()}
    batches = [
        [{**row, "country": "US", "starts": 100, "completions": 80},
         {**row, "country": "JP", "starts": 50, "completions": 40},
         {**row, "episode": 2, "country": "US", "starts": 30, "completions": 30}],
        [{**row, "country": "US", "starts": 120, "completions": 90},
         {**row, "country": "BR", "starts": 7, "completions": 1}],
        [{**row, "country": "US", "starts": 120, "completions": 90}],  # a repeat
        [{**row, "country": "JP", "starts": 10, "completions": 5},
         {**row, "country": "JP", "starts": 60, "completions": 45}],  # the later wins
    ]  # fmt: skip
    for events in batches:
        assert set(codes(partner.post("/api/v1/views", {"events": events}))) == {"accepted"}
    db.session.expire_all()
    sums: dict[int, tuple[int, int]] = {}
    for v in db.session.scalars(select(EpisodeViews)):
        before = sums.get(v.episode, (0, 0))
        sums[v.episode] = (before[0] + v.starts, before[1] + v.completions)
    totals = {
        t.episode: (t.starts, t.completions) for t in db.session.scalars(select(EpisodeViewDays))
    }
    assert totals == sums == {1: (187, 136), 2: (30, 30)}


def test_every_new_code_is_documented():
    for code in (
        "no_coin_value",
        "invalid_range",
        "no_commission",
        "commission_above_price",
        "unknown_member",
        "negative_count",
    ):
        assert code in REJECTION_CODES
