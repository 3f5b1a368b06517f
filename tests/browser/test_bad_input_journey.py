"""Journey 5: bad input on the way shows a clear message, and nothing is saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from marketplace.studio.series import create_series
from tests.browser.support import log_in, make_account


@pytest.fixture
def draft_series(live_session):
    """A creator (signed up earlier) and an empty draft series of theirs."""
    creator = make_account(live_session, "creator", "kai")
    series = create_series(
        live_session, creator, title="Salt and Silence", synopsis="", language="en", currency="USD"
    )
    found = creator.email, series.id
    live_session.rollback()  # end the read, or SQLite would keep the server from writing
    return found


def test_a_renamed_file_is_refused_with_a_clear_message(page, draft_series):
    email, series_id = draft_series
    log_in(page, email)
    page.goto(f"/studio/series/{series_id}")
    page.get_by_role("link", name="Add episode 1").click()
    page.get_by_label("Title").fill("Pilot")
    page.get_by_label("Video file (mp4, mov or webm)").set_input_files(
        {"name": "pilot.mp4", "mimeType": "video/mp4", "buffer": b"%PDF-1.7\n" + b"x" * 4096}
    )
    page.get_by_role("button", name="Save episode").click()
    alert = page.locator(".upload-error")
    expect(alert).to_have_text(
        "This file is not an mp4, mov or webm video (its content was checked, not its name)."
    )
    expect(alert).to_have_attribute("role", "alert")
    expect(page.get_by_role("button", name="Save episode")).to_be_enabled()

    page.get_by_role("link", name="Back to the series").click()
    expect(page.get_by_role("heading", name="Episodes (0)")).to_be_visible()


def test_a_split_not_adding_up_names_the_sum(page, draft_series):
    email, series_id = draft_series
    log_in(page, email)
    page.goto(f"/studio/series/{series_id}/split")
    page.get_by_role("button", name="Add a row").click()
    rows = [
        ("Participant 1", "writer", "Mia Writer", "60"),
        ("Participant 2", "actor", "Leo Actor", "30"),
    ]
    for legend, role, credit, share in rows:
        row = page.get_by_role("group", name=legend)
        row.get_by_label("Email").fill(f"{credit.split()[0].lower()}@example.com")
        row.get_by_label("Role").select_option(role)
        row.get_by_label("Credit name").fill(credit)
        row.get_by_label("Share (%)").fill(share)
    page.get_by_role("button", name="Save split").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Shares add up to 90%; they must add up to 100% (10% left to give)."
    )
    expect(page.get_by_role("heading", name="First version")).to_be_visible()
    # What was typed is kept, so the creator fixes one number instead of starting over.
    expect(
        page.get_by_role("group", name="Participant 1").get_by_label("Share (%)")
    ).to_have_value("60")

    page.get_by_role("group", name="Participant 2").get_by_label("Share (%)").fill("40")
    page.get_by_role("button", name="Save split").click()
    expect(page.get_by_text("Split version 1 saved, effective now")).to_be_visible()


def test_a_price_with_too_many_decimals_is_refused(page, draft_series):
    email, series_id = draft_series
    log_in(page, email)
    page.goto(f"/studio/series/{series_id}/pricing")
    page.get_by_label("Free episodes (the first N)").fill("3")
    page.get_by_label("Price per paid episode").fill("0.499")
    page.get_by_role("button", name="Save pricing").click()
    expect(page.get_by_text("USD prices have at most 2 decimal places.")).to_be_visible()
    expect(page.get_by_label("Price per paid episode")).to_have_attribute("aria-invalid", "true")
