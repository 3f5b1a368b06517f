"""The creator dashboard's headline: revenue, net to the team and unlocks against the
previous period of the same length; the selected range marked; custom ranges validated."""

from __future__ import annotations

import re
from datetime import timedelta

from marketplace.clock import utcnow


def _figure(page: str, name: str) -> str:
    """The text of one headline figure (its value and its change), tags removed."""
    match = re.search(rf'data-figure="{name}">(.*?)</div>', page, re.S)
    assert match, name
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_headline_compares_with_the_previous_period(client, login_as, world):
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    for n in range(6):
        world.unlock(hour - timedelta(days=3, minutes=n), gross=500, episode=1)
    for n in range(2):  # in the 90 days before the last 90
        world.unlock(hour - timedelta(days=100, minutes=n), gross=500, episode=1)
    login_as(world.creator)
    page = client.get(f"/studio/series/{world.series.id}/dashboard").get_data(as_text=True)
    assert "Last 90 days" in page
    assert _figure(page, "revenue-USD") == "Revenue (USD) $30.00 +200.0 % vs $10.00"
    assert _figure(page, "unlocks") == "Unlocks 6 +200.0 % vs 2"
    net = _figure(page, "net-USD")
    assert net.startswith("Net to the team (USD) $18.90 +200.0 % vs $6.30"), net
    # The selected range is marked, and only it.
    assert page.count('aria-current="page">') == 1
    assert re.search(r'days=90"\s+aria-current="page">90 days', page)

    page = client.get(f"/studio/series/{world.series.id}/dashboard?days=30").get_data(as_text=True)
    assert re.search(r'days=30"\s+aria-current="page">30 days', page)
    assert _figure(page, "unlocks") == "Unlocks 6 new vs 0"


def test_a_custom_range_of_days(client, login_as, world):
    now = utcnow()
    world.unlock(now - timedelta(days=10), gross=500, episode=1)
    world.unlock(now - timedelta(days=3), gross=500, episode=2)
    login_as(world.creator)
    first = (now - timedelta(days=11)).date().isoformat()
    last = (now - timedelta(days=9)).date().isoformat()
    url = f"/studio/series/{world.series.id}/dashboard?from={first}&to={last}"
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"{first} to {last} (3 days)" in page
    assert _figure(page, "revenue-USD") == "Revenue (USD) $5.00 new vs $0.00"
    assert 'aria-current="page">' not in page  # no preset is selected
    assert f'name="from" value="{first}"' in page


def test_a_wrong_range_says_what_is_wrong(client, login_as, world):
    login_as(world.creator)
    base = f"/studio/series/{world.series.id}/dashboard"
    response = client.get(f"{base}?from=2026-05-10&to=2026-05-01")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The from date must be on or before the to date." in page
    assert 'aria-invalid="true" aria-describedby="range-from-error"' in page
    assert "Showing the last 90 days." in page
    page = client.get(f"{base}?from=10/05/2026&to=").get_data(as_text=True)
    assert "Enter the from date as YYYY-MM-DD" in page and "Enter the to date" in page
    future = (utcnow() + timedelta(days=5)).date().isoformat()
    page = client.get(f"{base}?from={future}&to={future}").get_data(as_text=True)
    assert "The from date is in the future" in page
    page = client.get(f"{base}?from=2020-01-01&to=2026-01-01").get_data(as_text=True)
    assert "A range is at most 731 days." in page
