"""Journey: a creator opens her series' analytics, reads the funnel (episode-1 viewers, free
episodes completed, first paid unlock), and compares the Spanish version with its original."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from marketplace.studio.models import Series
from tests.browser.support import log_in, make_account, published_series

TITLE = "Married to the Night Shift"


def view_rows(series_id: int, counts: dict[int, tuple[int, int]]) -> dict:
    """Yesterday's view counts {episode: (starts, completions)} of one series, in the US."""
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    return {
        "events": [
            {
                "series_id": series_id,
                "episode": episode,
                "day": day,
                "country": "US",
                "starts": starts,
                "completions": completions,
            }
            for episode, (starts, completions) in counts.items()
        ]
    }


@pytest.fixture
def versions(live_session, partner_apps):
    """An English series and its Spanish version, both live on StoryReel for ten days, with
    the app's view counts and unlocks of yesterday and today."""
    creator = make_account(live_session, "creator", "ines", "Ines Creator")
    since = datetime.now(UTC) - timedelta(days=10)
    split = [{"user": creator, "role": "producer", "credit_name": "Ines", "bps": 10_000}]
    app_id = partner_apps["StoryReel"].app_id
    original = published_series(live_session, creator, app_id, split, title=TITLE, since=since)
    spanish = published_series(
        live_session, creator, app_id, split, title="Casada con el turno de noche", since=since
    )
    version = live_session.get(Series, spanish.id)
    version.original_series_id, version.language = original.id, "es"
    live_session.commit()
    found = {"email": creator.email, "original": original.id, "spanish": spanish.id}
    live_session.rollback()
    partner = partner_apps["StoryReel"]
    for series_id, counts in (
        (found["original"], {1: (1000, 900), 2: (700, 640), 3: (300, 280)}),
        (found["spanish"], {1: (400, 390), 2: (360, 350), 3: (250, 240)}),
    ):
        status, body = partner.post("/views", view_rows(series_id, counts))
        assert status == 200 and {r["status"] for r in body["results"]} == {"accepted"}
    now = datetime.now(UTC) - timedelta(hours=1)
    partner.unlock(found["original"], [(3, 49, now)] * 6)
    partner.unlock(found["spanish"], [(3, 49, now)] * 5)
    return found


def test_a_creator_compares_a_localized_version_with_its_original(page, versions):
    log_in(page, versions["email"])
    page.goto(f"/studio/series/{versions['original']}")
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name=f"{TITLE}: analytics")).to_be_visible()
    funnel = page.locator("#funnel-table")
    expect(funnel.get_by_role("row", name="Started episode 1")).to_contain_text("1000")
    expect(funnel.get_by_role("row", name="Completed the free episodes")).to_contain_text("64.0 %")
    expect(funnel.get_by_role("row", name="First paid unlock")).to_contain_text("0.6 %")
    versions_table = page.locator("#versions-table")
    expect(versions_table).to_contain_text("(es)")
    page.get_by_role("link", name="Compare with es").click()
    comparison = page.locator("#comparison-table")
    expect(page.locator("#comparison")).to_contain_text("against Casada con el turno de noche")
    # Episode 2 keeps 70 % of the original's viewers, 90 % of the Spanish version's.
    expect(comparison.get_by_role("row").nth(2)).to_contain_text("70.0 %")
    expect(comparison.get_by_role("row").nth(2)).to_contain_text("90.0 %")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("analytics-series-")
