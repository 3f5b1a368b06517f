"""Journey 1: a creator signs up, creates a series, uploads an episode (the progress bar moves),
prices it, sets a split with two invitees, and publishes to a partner app."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import PASSWORD, signup_link_from_mail, small_mp4, unique_email

RECORD_PROGRESS = """() => {
  const box = document.querySelector('.upload-progress');
  const bar = box.querySelector('progress');
  new MutationObserver(() => window.recordProgress(bar.value, box.querySelector('p').textContent))
    .observe(box, {attributes: true, subtree: true, childList: true, characterData: true});
}"""


def sign_up_as_creator(page: Page, email: str, live_session) -> None:
    """From the landing page to the studio, as a new creator."""
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Rosa Creator")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_text("A creator: I publish series").click()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(signup_link_from_mail(live_session, email))
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Welcome to Cliffhanger.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your series")).to_be_visible()


def upload_episode(page: Page, title: str) -> list[tuple[int, str]]:
    """Add an episode with a 3 MB MP4 on a slow uplink; returns what the progress bar showed."""
    seen: list[tuple[int, str]] = []
    page.expose_function("recordProgress", lambda value, text: seen.append((int(value), text)))
    page.get_by_role("link", name="Add episode 1").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Duration (seconds)").fill("84")  # the file's own 3 s wins
    page.get_by_label("Video file (mp4, mov or webm)").set_input_files(
        {"name": "pilot.mp4", "mimeType": "video/mp4", "buffer": small_mp4()}
    )
    page.evaluate(RECORD_PROGRESS)
    # A phone's uplink (about 32 Mbit/s), so the 3 MB upload takes a few progress events.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 4_000_000},
    )
    page.get_by_role("button", name="Save episode").click()
    # No "Episode 1 added." here: the upload script follows the JSON's redirect, and that
    # message travels in the JSON only (see the report); the new episode shows on the page.
    expect(page.get_by_role("heading", name="Episodes (1)")).to_be_visible(timeout=15_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    return seen


def fill_split_row(page: Page, number: int, email: str, role: str, credit: str, share: str) -> None:
    """Fill the split sheet's row "Participant <number>" (the share in percent)."""
    row = page.get_by_role("group", name=f"Participant {number}")
    row.get_by_label("Email").fill(email)
    row.get_by_label("Role").select_option(role)
    row.get_by_label("Credit name").fill(credit)
    row.get_by_label("Share (%)").fill(share)


def test_creator_publishes_a_series(page, partner_apps, screenshot, live_session):
    creator = unique_email("rosa")
    writer, actor = unique_email("ines"), unique_email("tom")
    sign_up_as_creator(page, creator, live_session)

    page.get_by_role("link", name="New series").click()
    page.get_by_label("Title").fill("The Lighthouse Contract")
    page.get_by_label("Synopsis").fill("A keeper signs a contract she cannot read by daylight.")
    page.get_by_label("Genres (comma-separated)").fill("romance, mystery")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_text("Series created. Add episodes, pricing and the split next.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="The Lighthouse Contract")).to_be_visible()
    expect(page.get_by_text("draft", exact=True)).to_be_visible()

    progress = upload_episode(page, "The keeper's first night")
    values = [value for value, _ in progress]
    assert any(0 < value < 100 for value in values), progress
    assert values == sorted(values) and values[-1] == 100, progress
    assert any(
        re.fullmatch(r"\d+\.\d MB of \d+\.\d MB sent( · about .+ left)?", text)
        for _, text in progress
    ), progress
    expect(page.get_by_role("heading", name="Episodes (1)")).to_be_visible()
    episode = page.locator("ul.episodes li").first
    expect(episode).to_contain_text("1. The keeper's first night")
    expect(episode).to_contain_text("0:03")  # the file's own 3 s, as m:ss
    expect(episode.get_by_role("link", name="watch")).to_be_visible()

    page.get_by_role("link", name="Set pricing").click()
    page.get_by_label("Free episodes (the first N)").fill("0")
    page.get_by_label("Price per paid episode").fill("0.49")
    page.get_by_label("Bundle price for the whole series (optional)").fill("9.99")
    page.get_by_role("button", name="Save pricing").click()
    expect(page.get_by_text("Pricing saved.")).to_be_visible()
    expect(page.get_by_text("$0.49 per episode")).to_be_visible()
    expect(page.get_by_text("the whole series for $9.99")).to_be_visible()

    page.get_by_role("link", name="Edit the split and see invitations").click()
    page.get_by_role("button", name="Add a row").click()
    page.get_by_role("button", name="Add a row").click()
    fill_split_row(page, 1, creator, "producer", "Rosa Creator", "20")
    fill_split_row(page, 2, writer, "writer", "Ines Writer", "50")
    fill_split_row(page, 3, actor, "actor", "Tom Actor", "30")
    page.get_by_role("button", name="Save split").click()
    expect(page.get_by_text("Split version 1 saved, effective now")).to_be_visible()
    table = page.get_by_role("table")
    for email, share, status in (
        (creator, "20%", "accepted"),
        (writer, "50%", "invited, expires on"),
        (actor, "30%", "invited, expires on"),
    ):
        row = table.get_by_role("row").filter(has_text=email)
        expect(row).to_contain_text(share)
        expect(row).to_contain_text(status)
    expect(table.get_by_role("button", name="Re-send")).to_have_count(2)

    page.get_by_role("link", name="Back to the series").click()
    expect(page.get_by_text("Before publishing:")).to_have_count(0)
    page.get_by_role("link", name="Publish to partner apps").click()
    page.get_by_label("StoryReel (USD, partner keeps 30%)").check()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published to StoryReel.")).to_be_visible()
    expect(page.get_by_text("published", exact=True)).to_be_visible()
    listing = page.get_by_role("listitem").filter(has_text="StoryReel:")
    expect(listing).to_contain_text("live")
    expect(listing.get_by_role("button", name="withdraw")).to_be_visible()
    screenshot(page, "creator-series")
