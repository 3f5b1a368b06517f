"""The creator's series dashboard: drop-off curve, revenue by partner/country, team escrow."""

from __future__ import annotations

from datetime import timedelta

from marketplace.clock import utcnow


def test_dashboard_shows_dropoff_revenue_and_escrow(client, login_as, world):
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    for n in range(6):
        world.unlock(hour + timedelta(minutes=n), gross=500, episode=1, country="US")
    for n in range(2):
        world.unlock(
            hour + timedelta(minutes=10 + n), gross=500, episode=2, country="GB", partner=1
        )
    login_as(world.creator)
    response = client.get(f"/studio/series/{world.series.id}/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<td>1</td><td class="num">6</td>' in page
    assert '<td>2</td><td class="num">2</td>' in page
    assert "$30.00" in page  # 6 x $5.00 on the first partner in the US
    assert "In escrow" in page and "invited" in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page


def test_other_creators_get_a_404(client, login_as, world):
    login_as(world.other_creator)
    assert client.get(f"/studio/series/{world.series.id}/dashboard").status_code == 404


def test_each_partner_apps_money_is_shown_in_its_own_currency(db, client, login_as, world):
    # A series sold in USD on one app and in EUR on another: the dashboard said "$" for both.
    world.partners[1].currency = "EUR"
    db.session.flush()
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    for n in range(3):
        world.unlock(hour + timedelta(minutes=n), gross=500, episode=1, country="US")
    for n in range(2):
        world.unlock(hour + timedelta(minutes=9 + n), gross=500, episode=2, country="GB", partner=1)
    login_as(world.creator)
    page = client.get(f"/studio/series/{world.series.id}/dashboard").get_data(as_text=True)
    assert f'<td>{world.partners[1].name}</td><td>GB</td><td class="num">€10.00</td>' in page
    assert f'<td>{world.partners[0].name}</td><td>US</td><td class="num">$15.00</td>' in page
    assert page.count('data-chart="revenue"') == 2  # one chart per currency
    assert "Revenue per day by partner app, EUR" in page
