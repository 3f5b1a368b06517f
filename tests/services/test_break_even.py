"""The creator's dashboard shows the break-even point of the plan in force (pool, revenue and
unlocks still needed) and when it comes at the last 30 days' pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.dashboard.break_even import series_break_even
from marketplace.ingest.revenue import post_revenue
from tests.services.test_revenue_plans import LATER
from tests.services.test_revenue_waterfall import planned_world, unlock


def test_break_even_needs_and_the_30_day_projection(db, make_creator):
    partner, series, _, _ = planned_world(db, make_creator(), budget=2_000)
    now = LATER + timedelta(days=1)
    empty = series_break_even(db.session, series, now)
    assert (empty.to_break_even, empty.revenue_needed, empty.projected_at) == (2_000, None, None)
    # Two unlocks of 1,000: 1,260 of pool, so 740 more pool is needed.
    post_revenue(db.session, partner, [unlock(partner, series, f"u{i}") for i in range(2)])
    point = series_break_even(db.session, series, now)
    assert (point.pool, point.break_even, point.to_break_even) == (1_260, 2_000, 740)
    assert (point.pool_30d, point.gross_30d, point.unlocks_30d) == (1_260, 2_000, 2)
    assert point.revenue_needed == 1_175  # 740 x 2,000 / 1,260, rounded up
    assert point.unlocks_needed == 2
    # 1,260 in 30 days: 740 more takes 30 x 740 / 1,260 = 17.6 days.
    assert now + timedelta(days=17) < point.projected_at < now + timedelta(days=18)
    # Past break-even there is nothing left to project.
    post_revenue(db.session, partner, [unlock(partner, series, f"v{i}") for i in range(2)])
    past = series_break_even(db.session, series, now)
    assert (past.to_break_even, past.projected_at) == (0, None)


def test_the_dashboard_page_shows_the_break_even_point(db, make_creator, login_as, client, app):
    owner = make_creator()
    partner, series, _, _ = planned_world(db, owner, budget=2_000)
    recently = datetime.now(UTC) - timedelta(hours=1)  # the page reads the last 30 days
    post_revenue(db.session, partner, [unlock(partner, series, f"u{i}", at=recently)
                                       for i in range(2)])  # fmt: skip
    login_as(owner)
    page = client.get(f"/studio/series/{series.id}/dashboard").get_data(as_text=True)
    assert "Break-even under the revenue plan" in page
    assert "$7.40" in page  # the pool still needed
    assert "$11.75" in page  # the viewer revenue still needed
