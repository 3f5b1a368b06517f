"""The creator's series dashboard: drop-off curve, revenue by partner/country, team escrow."""

from __future__ import annotations

from datetime import timedelta

from marketplace.models.base import utcnow


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
