"""Journey on a phone (390x844): buttons follow the series' state (Publish disabled with its
reason while blocked; publishing where it is already live is information, not a success), and
uploads show megabytes and time left, can be cancelled, and many episodes go up at once, each
with its own progress bar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from marketplace.studio.series import create_series
from tests.browser.support import log_in, make_account, published_series, small_mp4
from tests.media import video

PHONE = {"width": 390, "height": 844}
SLOW = {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 250_000}
FAST = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
SENDING = re.compile(r"\d+\.\d MB of \d+\.\d MB sent")


@pytest.fixture
def phone(browser, live_server):
    """A 390x844 page; the test fails if the Content-Security-Policy blocked anything."""
    context = browser.new_context(base_url=live_server, viewport=PHONE)
    context.set_default_timeout(20_000)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    context.close()
    assert blocked == [], blocked


@pytest.fixture
def creator_series(live_session, partner_apps):
    """A creator with a draft series (nothing to publish yet) and one live on StoryReel."""
    creator = make_account(live_session, "creator", "noor", "Noor Creator")
    draft = create_series(
        live_session, creator, title="Harbour Lights", synopsis="", language="en", genres=[]
    )
    live = published_series(
        live_session,
        creator,
        partner_apps["StoryReel"].app_id,
        [{"user": creator, "role": "producer", "credit_name": "Noor", "bps": 10_000}],
        title="Salt and Steel",
        episodes=2,
    )
    found = {"email": creator.email, "draft": draft.id, "live": live.id}
    live_session.rollback()  # end the read: on SQLite it would hold the server's writes
    return found


def throttle(page: Page, conditions: dict) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", conditions)


def test_publish_follows_the_series_state(phone, creator_series):
    log_in(phone, creator_series["email"])
    phone.goto(f"/studio/series/{creator_series['draft']}")
    blocked = phone.get_by_role("button", name="Publish to partner apps")
    expect(blocked).to_be_disabled()
    expect(phone.get_by_text("Not ready yet: see the list above.")).to_be_visible()
    expect(phone.get_by_text("Set a price per paid episode.").first).to_be_visible()

    phone.goto(f"/studio/series/{creator_series['live']}")
    phone.get_by_role("link", name="Publish to more partner apps").click()
    expect(phone.get_by_label(re.compile(r"StoryReel .* · already live"))).to_be_checked()
    phone.get_by_role("button", name="Publish").click()
    info = phone.locator(".flash-info")
    expect(info).to_have_text("Already live on StoryReel: nothing changed.")
    expect(phone.locator(".flash-success")).to_have_count(0)

    phone.get_by_role("link", name="Publish to more partner apps").click()
    phone.get_by_label(re.compile(r"SnapDrama \(USD")).check()
    phone.get_by_role("button", name="Publish").click()
    expect(phone.locator(".flash-success")).to_have_text(
        "Published to SnapDrama. Already live on StoryReel."
    )


def test_a_single_upload_shows_megabytes_and_can_be_cancelled(phone, creator_series):
    log_in(phone, creator_series["email"])
    phone.goto(f"/studio/series/{creator_series['draft']}/episodes/new")
    phone.get_by_label("Video file (mp4, mov or webm)").set_input_files(
        {"name": "long.mp4", "mimeType": "video/mp4", "buffer": small_mp4()}
    )
    throttle(phone, SLOW)
    phone.get_by_role("button", name="Save episode").click()
    progress = phone.locator(".upload-progress p")
    expect(progress).to_have_text(SENDING)
    expect(phone.get_by_role("button", name="Save episode")).to_be_disabled()
    # Leaving mid-upload asks first (the page stays when the person says no).
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    phone.on("dialog", answer)
    phone.evaluate("() => { window.location.href = '/studio/'; }")
    phone.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    phone.get_by_role("button", name="Cancel upload").click()
    expect(phone.get_by_text("Upload cancelled: nothing was saved.")).to_be_visible()
    expect(phone.get_by_role("button", name="Save episode")).to_be_enabled()
    throttle(phone, FAST)
    phone.goto(f"/studio/series/{creator_series['draft']}")
    expect(phone.get_by_role("heading", name="Episodes (0)")).to_be_visible()


def test_many_episodes_at_once_each_with_its_bar_and_cancel(phone, creator_series, screenshot):
    log_in(phone, creator_series["email"])
    phone.goto(f"/studio/series/{creator_series['draft']}")
    short = video("mp4", 90, 160, 2)
    phone.get_by_label(re.compile("Video files")).set_input_files(
        [
            {"name": "ep3.mp4", "mimeType": "video/mp4", "buffer": short},
            {"name": "ep1.mp4", "mimeType": "video/mp4", "buffer": short},
            {"name": "ep2.mp4", "mimeType": "video/mp4", "buffer": small_mp4()},
        ]
    )
    throttle(phone, SLOW)
    phone.get_by_role("button", name="Upload 3 files").click()
    queue = phone.get_by_role("list", name="Uploads").get_by_role("listitem")
    expect(queue).to_have_count(3)
    expect(queue.nth(0)).to_contain_text("ep1.mp4")  # file-name order
    expect(queue.nth(0)).to_contain_text("Added as episode 1 · 0:02.")
    expect(queue.nth(1).locator(".bulk-status")).to_have_text(SENDING)
    expect(queue.nth(2)).to_contain_text("Waiting")
    screenshot(phone, "bulk-upload-phone")
    phone.get_by_role("button", name="Cancel ep2.mp4").click()
    expect(queue.nth(1)).to_contain_text("Cancelled: nothing was saved.")
    expect(queue.nth(2)).to_contain_text("Added as episode 2 · 0:02.")
    expect(phone.get_by_text("2 episodes added, 1 cancelled.")).to_be_visible()
    throttle(phone, FAST)
    phone.get_by_role("link", name="Show them in the list").click()
    expect(phone.get_by_role("heading", name="Episodes (2)")).to_be_visible()
    episodes = phone.locator("ul.episodes > li")
    expect(episodes.nth(0)).to_contain_text("1. ep1")
    expect(episodes.nth(1)).to_contain_text("2. ep3")
    expect(episodes.nth(1)).to_contain_text("0:02")
