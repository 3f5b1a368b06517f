"""A participant in Manila: the account takes the browser's time zone at sign-up, and the dates
on the money pages are Manila's (an unlock at 20:30 UTC is the next morning there); changing the
time zone in Settings changes every date shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.accounts.models import User
from tests.browser.support import PASSWORD, make_account, published_series, signup_link_from_mail


def test_a_participant_in_manila_sees_local_dates(browser, live_server, live_session, partner_apps):
    context = browser.new_context(
        base_url=live_server, viewport={"width": 390, "height": 844}, timezone_id="Asia/Manila"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    email = f"marisol-{uuid.uuid4().hex[:6]}@example.com"
    page.goto("/auth/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Marisol Reyes")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_text("On a team: actor, writer, director...").click()
    page.get_by_role("button", name="Create account").click()
    page.goto(signup_link_from_mail(live_session, email))
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Welcome to Cliffhanger.")).to_be_visible()

    participant = live_session.scalar(select(User).where(User.email == email))
    assert participant.time_zone == "Asia/Manila"
    creator = make_account(live_session, "creator", "lito", "Lito Cruz")
    series = published_series(
        live_session,
        creator,
        partner_apps["SnapDrama"].app_id,
        [
            {"user": participant, "role": "actor", "credit_name": "Marisol Reyes", "bps": 5000},
            {"user": creator, "role": "producer", "credit_name": "Lito", "bps": 5000},
        ],
        title="Monsoon Letters",
        price=100,
        since=datetime.now(UTC) - timedelta(days=3),
    )
    series_id = series.id
    live_session.rollback()
    # Yesterday 20:30 UTC is today 04:30 in Manila (UTC+8, no daylight saving time).
    moment = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=20, minute=30, second=0, microsecond=0
    )
    partner_apps["SnapDrama"].unlock(series_id, [(3, 100, moment)])

    day = moment.date()
    lines = (
        f"/earnings/statement/lines?start={day - timedelta(days=1)}&end={day + timedelta(days=1)}"
        f"&currency=USD&line=earning&series_id={series_id}&episode=3&kind=unlock"
    )
    page.goto(lines)
    manila = moment + timedelta(hours=8)
    expect(page.get_by_role("table", name="Every event")).to_contain_text(
        f"{manila:%Y-%m-%d} 04:30 PST"
    )

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Manila")
    page.get_by_label("Time zone").select_option("America/Mexico_City")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved: dates in America/Mexico_City")).to_be_visible()
    page.goto(lines)
    mexico = moment - timedelta(hours=6)  # UTC-6, no daylight saving time since 2022
    expect(page.get_by_role("table", name="Every event")).to_contain_text(
        f"{mexico:%Y-%m-%d} 14:30 CST"
    )
    context.close()
