"""Journey 3: after signed partner unlocks, the participant sees available and pending
earnings, the chart, the statement, and downloads it as CSV and PDF."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.support import log_in, make_account, published_series

PRICE = 200
EACH = 63  # of a $2.00 unlock: partner 30% ($0.60), platform 10% of the rest, then half
# Unlocks per day, days ago. StoryReel holds money 7 days: what is 8+ days old is available.
UNLOCKS_BY_DAYS_AGO = {10: 2, 9: 3, 8: 1, 6: 2, 5: 4, 4: 3, 3: 5, 2: 2, 1: 6, 0: 4}
AVAILABLE = sum(n for days, n in UNLOCKS_BY_DAYS_AGO.items() if days >= 8) * EACH  # $3.78
PENDING = sum(n for days, n in UNLOCKS_BY_DAYS_AGO.items() if days < 8) * EACH  # $16.38
TITLE = "Heiress in the Mailroom"


def dollars(minor: int) -> str:
    """What the page shows for an amount of US cents."""
    return f"${minor // 100:,}.{minor % 100:02d}"


@pytest.fixture
def participant(live_session, partner_apps):
    """A writer (accepted) on a series live on StoryReel for the last 11 days."""
    creator = make_account(live_session, "creator", "bea", "Bea Creator")
    writer = make_account(live_session, "participant", "kemi", "Kemi Adebayo")
    series = published_series(
        live_session,
        creator,
        partner_apps["StoryReel"].app_id,
        [
            {"user": writer, "role": "writer", "credit_name": "Kemi Adebayo", "bps": 5000},
            {"user": creator, "role": "producer", "credit_name": "Bea", "bps": 5000},
        ],
        title=TITLE,
        price=PRICE,
        since=datetime.now(UTC) - timedelta(days=11),
    )
    found = {"email": writer.email, "series_id": series.id}
    live_session.rollback()  # end the read, or SQLite would keep the server from writing
    return found


def report_unlocks(partner, series_id: int) -> list[datetime]:
    """The partner app reports the unlocks of the last 11 days (a late sync); returns when
    they happened."""
    now = datetime.now(UTC)
    unlocks = [
        (3 + i % 4, PRICE, now - timedelta(days=days, hours=3, minutes=7 * i))
        for days, count in UNLOCKS_BY_DAYS_AGO.items()
        for i in range(count)
    ]
    partner.unlock(series_id, unlocks)
    return [moment for _, _, moment in unlocks]


def pending_days(moments: list[datetime], now: datetime) -> set:
    """The days pending money becomes available: 7 days on, rounded up to the hour."""
    days = set()
    for moment in moments:
        available = moment + timedelta(days=7)
        if available.replace(minute=0, second=0, microsecond=0) != available:
            available = available.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if available > now:
            days.add(available.date())
    return days


def figure(page, name: str):
    """The value beside a label in the dashboard's figures (Available, Pending, ...)."""
    return (
        page.locator("dl.figures > div")
        .filter(has=page.get_by_text(name, exact=True))
        .locator("dd")
    )


def test_participant_reads_earnings_and_downloads_the_statement(
    page, participant, partner_apps, screenshot
):
    moments = report_unlocks(partner_apps["StoryReel"], participant["series_id"])
    first, now = min(moments), datetime.now(UTC)
    today = now.date()

    log_in(page, participant["email"])
    expect(page.get_by_role("heading", name="Earnings", exact=True)).to_be_visible()
    expect(figure(page, "Available")).to_have_text(dollars(AVAILABLE))
    expect(figure(page, "Pending")).to_have_text(dollars(PENDING))
    expect(figure(page, "Paid")).to_have_text("$0.00")
    pending = page.get_by_role("table", name="Pending money and the day it becomes available")
    days = sorted(pending_days(moments, now))
    expect(pending.get_by_role("row")).to_have_count(1 + len(days))  # a header, then by day
    expect(pending.get_by_role("row").nth(1)).to_contain_text(days[0].isoformat())
    chart = page.get_by_role("img", name="Daily earnings in USD, last 90 days")
    expect(chart).to_be_visible()
    drawn = page.evaluate(
        """(canvas) => { const chart = Chart.getChart(canvas);
             return chart && chart.data.datasets[0].data.reduce((a, b) => a + b, 0); }""",
        chart.element_handle(),
    )
    assert drawn == AVAILABLE + PENDING
    screenshot(page, "participant-earnings")

    page.get_by_role("link", name="Statement").click()
    page.get_by_label("From").fill(first.date().isoformat())
    page.get_by_label("To (included)").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    statement = page.get_by_role("table")
    expect(statement.get_by_role("row").filter(has_text="Opening balance")).to_contain_text("$0.00")
    expect(statement.get_by_role("row").filter(has_text=TITLE)).to_contain_text(
        dollars(AVAILABLE + PENDING)
    )
    expect(statement.get_by_role("row").filter(has_text="Closing balance")).to_contain_text(
        dollars(AVAILABLE + PENDING)
    )
    expect(
        page.get_by_text(f"available {dollars(AVAILABLE)}, pending {dollars(PENDING)}")
    ).to_be_visible()

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    name = f"statement-USD-{first.date().isoformat()}-{today.isoformat()}"
    assert csv_download.value.suggested_filename == f"{name}.csv"
    rows = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text("utf-8"))))
    earned = [row for row in rows if row["section"] == "earnings"]
    assert {row["series"] for row in earned} == {TITLE}
    assert sum(int(row["amount_minor"]) for row in earned) == AVAILABLE + PENDING
    assert sum(int(row["count"]) for row in earned) == sum(UNLOCKS_BY_DAYS_AGO.values())
    assert rows[-1]["section"] == "closing" and int(rows[-1]["amount_minor"]) == AVAILABLE + PENDING

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF").click()
    assert pdf_download.value.suggested_filename == f"{name}.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(pdf_download.value.path()).pages)
    assert TITLE in text and dollars(AVAILABLE + PENDING) in text
