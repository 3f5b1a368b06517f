"""The participant's pages: dashboard, statement, drill-down, downloads, in their locale."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from pypdf import PdfReader

from marketplace.clock import utcnow
from tests.statements.conftest import T0

MONTH = {"currency": "USD", "month": "2026-01"}


def history(world):
    for n in range(10):
        world.unlock(T0 + timedelta(hours=n), gross=1000, episode=n % 2 + 1, country="US")
    world.unlock(T0 + timedelta(hours=30), gross=999, partner=1, country="GB")
    world.refund(T0 + timedelta(hours=40), gross=1000, episode=1)
    world.pool(T0 + timedelta(days=3), amount=20_000)
    world.payout(world.member, 500, T0 + timedelta(days=5))


def test_dashboard_shows_balances_and_a_local_chart(client, login_as, world):
    recent = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    world.unlock(recent, gross=5000)
    login_as(world.participant)
    page = client.get("/earnings/").get_data(as_text=True)
    assert "Available" in page and "Pending" in page and "Paid" in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page
    assert "cdn" not in page.lower()
    assert "Available on" in page  # pending money with the day it becomes available
    assert (recent + timedelta(days=7)).date().isoformat() in page
    assert '"values": [' in page.replace("&#34;", '"')


def test_statement_page_sections_and_drill_down(client, login_as, world):
    history(world)
    login_as(world.participant)
    page = client.get("/earnings/statement", query_string=MONTH).get_data(as_text=True)
    for label in ("Opening balance", "Night Shift", "Refunds", "Revenue pools", "Payouts",
                  "Closing balance"):  # fmt: skip
        assert label in page
    links = re.findall(r'href="(/earnings/statement/lines\?[^"]+)"', page)
    assert links
    drill = client.get(links[0].replace("&amp;", "&"))
    assert drill.status_code == 200
    assert re.search(r"#1\d{7}", drill.get_data(as_text=True))  # the events' refs


def test_money_follows_the_accept_language(client, login_as, world):
    history(world)
    login_as(world.participant)
    page = client.get(
        "/earnings/statement", query_string=MONTH, headers={"Accept-Language": "es-ES"}
    ).get_data(as_text=True)
    assert re.search(r"\d+,\d\d\s?US\$", page)  # Spanish: decimal comma, symbol after


def test_csv_rows_sum_to_the_statement_with_source_ids(client, login_as, world):
    history(world)
    login_as(world.participant)
    response = client.get("/earnings/statement.csv", query_string=MONTH)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    opening, closing = rows[0], rows[-1]
    body = rows[1:-1]
    assert int(opening["amount_minor"]) + sum(int(r["amount_minor"]) for r in body) == int(
        closing["amount_minor"]
    )
    earnings = [r for r in body if r["section"] == "earnings"]
    assert all(re.fullmatch(r"(#1\d{7} ?)+", r["source_event_ids"]) for r in earnings)
    assert sum(len(r["source_event_ids"].split()) for r in earnings) == 11
    assert next(r for r in body if r["section"] == "payouts")["entry_ids"]


def test_pdf_download_opens(client, login_as, world):
    history(world)
    login_as(world.participant)
    response = client.get("/earnings/statement.pdf", query_string=MONTH)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Closing balance" in text


def test_bad_period_is_a_400_not_a_crash(client, login_as, world):
    login_as(world.participant)
    assert client.get("/earnings/statement?month=2026-13").status_code == 400
    assert client.get("/earnings/statement?start=2026-02-01&end=2026-01-01").status_code == 400
    assert client.get("/earnings/statement.csv?month=nope").status_code == 400
