"""The creator's analytics page: funnel, retention, revenue by type, versions compared,
filters and CSV, from what partner apps reported through the API (owner only)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from marketplace.ingest.kinds.coin_values import set_coin_rate
from tests.api.conftest import T0, unlock


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def views(series, counts, day=None):
    """View rows: {episode: (starts, completions)} on one day (yesterday by default)."""
    day = day or (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    return {
        "events": [
            {"series_id": series.id, "episode": e, "day": day, "country": "US",
             "starts": s, "completions": c}
            for e, (s, c) in counts.items()
        ]
    }  # fmt: skip


@pytest.fixture
def world(db, make_partner, make_live_series):
    """A series with a Spanish version, both on one app: views, unlocks, coins, a bundle and
    a purchase reported through the API."""
    partner = make_partner()
    series = make_live_series(
        partner.app, episodes=10, free=2, title="Vows", live_at=T0 - timedelta(days=30)
    )
    localized = make_live_series(partner.app, episodes=10, free=2, title="Votos")
    localized.original_series_id = series.id
    localized.language = "es"
    localized.owner_id = series.owner_id
    db.session.flush()
    start = T0 - timedelta(days=1)
    set_coin_rate(db.session, partner.app, paid=Fraction(5, 6), bonus=Fraction(0),
                  effective_from=start, now=start)  # fmt: skip
    partner.post("/api/v1/views", views(series, {1: (1000, 900), 2: (700, 600), 3: (300, 250)}))
    partner.post("/api/v1/views", views(localized, {1: (400, 380), 2: (350, 340), 3: (200, 0)}))
    partner.post("/api/v1/unlocks", {"events": [
        unlock(f"u{i}", series, episode=3) for i in range(3)
    ] + [unlock("u9", series, episode=5), unlock("es1", localized, episode=3)]})  # fmt: skip
    coin = {"series_id": series.id, "episode": 3, "coins": 120, "occurred_at": ago(hours=2)}
    partner.post("/api/v1/coin-unlocks", {"events": [{"id": "c1", **coin}, {"id": "c2", **coin}]})
    partner.post("/api/v1/bundles", {"events": [{
        "id": "b1", "series_id": series.id, "amount": 999, "currency": "USD",
        "occurred_at": ago(hours=2),
    }]})  # fmt: skip
    partner.post("/api/v1/purchases", {"events": [{
        "id": "s1", "series_id": series.id, "episode": 4, "product": "Scarf", "price": 2500,
        "commission": 500, "currency": "USD", "occurred_at": ago(hours=2),
    }]})  # fmt: skip
    return partner, series, localized


def test_the_owner_sees_the_funnel_and_revenue_by_type(client, login_as, world):
    _, series, localized = world
    from marketplace.accounts.models import User
    from marketplace.extensions import db

    owner = db.session.get(User, series.owner_id)
    login_as(owner)
    page = client.get(f"/studio/series/{series.id}/analytics?days=30")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'Started episode 1</td><td class="num">1000' in html
    assert (
        'Completed the free episodes (2)</td><td class="num">600</td><td class="num">60.0 %' in html
    )
    # Episode 3 is the first paid one: three cash unlocks and two coin unlocks.
    assert 'First paid unlock (episode 3)</td><td class="num">5</td><td class="num">0.5 %' in html
    for name in ("Paid unlocks", "Coin unlocks", "Bundles", "In-story commerce"):
        assert name in html
    assert "Votos (es)" in html and "Compare with es" in html
    compared = client.get(f"/studio/series/{series.id}/analytics?days=30&compare={localized.id}")
    text = compared.get_data(as_text=True)
    assert 'id="comparison"' in text and "Retention, es" in text
    assert '<td>2</td><td class="num">70.0 %</td><td class="num">87.5 %</td>' in text
    # Filters: another app has nothing; a country with no views neither.
    other = client.get(f"/studio/series/{series.id}/analytics?partner=999999")
    assert "No views or unlocks in this period." in other.get_data(as_text=True)
    download = client.get(f"/studio/series/{series.id}/analytics.csv?days=30")
    assert download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0][:5] == ["episode", "starts", "retention", "completions", "unlocks"]
    assert rows[3][:5] == ["3", "300", "30.0 %", "250", "5"]
    kinds = {row[0] for row in rows if len(row) == 3}
    assert {"unlock", "coins", "bundle", "purchase"} <= kinds


def test_only_the_owner_sees_the_analytics(client, login_as, make_creator, world):
    _, series, _ = world
    login_as(make_creator())
    assert client.get(f"/studio/series/{series.id}/analytics").status_code == 404
    assert client.get(f"/studio/series/{series.id}/analytics.csv").status_code == 404


def test_the_period_over_period_change(client, login_as, world):
    partner, series, _ = world
    from marketplace.accounts.models import User
    from marketplace.extensions import db

    # The week before: 500 episode-1 viewers, so this week's 1000 is +100 %.
    earlier = (datetime.now(UTC) - timedelta(days=9)).date().isoformat()
    partner.post("/api/v1/views", views(series, {1: (500, 400)}, day=earlier))
    login_as(db.session.get(User, series.owner_id))
    html = client.get(f"/studio/series/{series.id}/analytics?days=7").get_data(as_text=True)
    assert (
        'Started episode 1</td><td class="num">1000</td><td class="num">100 %</td>'
        '<td class="num">+100.0 %' in html
    )


def test_the_daily_money_rollup_agrees_with_the_ledger(db, world):
    """series_revenue_days (what the page reads without a country) holds, per series, kind
    and day, the events and gross of the ledger's own daily statement rollups, refunds
    included; and the page's figures with the only country reported equal those without."""
    from sqlalchemy import func, select

    from ledger.rollups import ROUNDING
    from ledger.schema import AllocationBucket, StatementDay
    from marketplace.dashboard.analytics import Filters, _money, _money_by_country, series_figures
    from marketplace.ingest.models import SeriesRevenueDays

    partner, series, localized = world
    refund = {"id": "r1", "unlock_id": "u0", "occurred_at": ago(hours=1)}
    assert partner.post("/api/v1/refunds", {"events": [refund]}).status_code == 200
    ledger: dict[tuple[int, str], list[int]] = {}
    rows = db.session.execute(
        select(AllocationBucket.key, StatementDay.line_key, StatementDay.earning,
               StatementDay.events, StatementDay.gross)
        .join(AllocationBucket, AllocationBucket.id == StatementDay.bucket_id)
    )  # fmt: skip
    for key, line_key, earning, events, gross in rows:
        sid, kind = int(key.split("|")[0].split(":")[1]), line_key.rsplit(",", 1)[1][1:-2]
        if kind != ROUNDING:
            found = ledger.setdefault((sid, kind), [0, 0])
            found[0] += events if earning else -events
            found[1] += gross
    rollup = {
        (sid, kind): [int(events), int(gross)]
        for sid, kind, events, gross in db.session.execute(
            select(SeriesRevenueDays.series_id, SeriesRevenueDays.kind,
                   func.sum(SeriesRevenueDays.events), func.sum(SeriesRevenueDays.gross))
            .group_by(SeriesRevenueDays.series_id, SeriesRevenueDays.kind)
        )
    }  # fmt: skip
    assert rollup == ledger
    assert rollup[series.id, "refund"] == [-1, -49] and (localized.id, "unlock") in rollup
    # The page's two paths: the day totals and daily money (no country), and the rows per
    # country with the ledger's rollups (views and unlocks all in the US here).
    end = datetime.now(UTC)
    start = end - timedelta(days=30)
    everywhere, before = series_figures(db.session, series, start, end, Filters())
    in_us, _ = series_figures(db.session, series, start, end, Filters(country="US"))
    assert (everywhere.starts, everywhere.completions) == (in_us.starts, in_us.completions)
    assert everywhere.starts[1] == 1000 and before.viewers == 0
    for first, middle in ((start, start), (start - timedelta(days=30), start)):
        ours = _money(db.session, series, first.date(), middle.date(), end.date(), Filters())
        theirs = _money_by_country(db.session, series, first, middle, end, Filters())
        assert sorted(map(tuple, ours)) == sorted(map(tuple, theirs))
