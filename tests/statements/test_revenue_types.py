"""A participant's statement shows her earnings by revenue type (paid and coin unlocks,
bundles, commerce, pools, refunds), adding up to the statement's earnings and refunds."""

from __future__ import annotations

import re
from datetime import timedelta

from marketplace.ingest.revenue import RevenueFacts, post_revenue
from tests.helpers import ref_of
from tests.statements.conftest import T0

MONTH = {"currency": "USD", "month": "2026-01"}


def test_the_statement_shows_earnings_by_revenue_type(client, login_as, world):
    at = T0 + timedelta(days=3)
    world.unlock(at)
    world.pool(at)
    partner = world.partners[0]
    series = world.series
    sales = [
        RevenueFacts(ref_of("bundle:t:1"), series.id, 1500, at, kind="bundle"),
        RevenueFacts(ref_of("coins:t:1"), series.id, 75, at, episode=7, kind="coins",
                     bucket=f"series:{series.id}|partner:{partner.id}|USD|coin-test"),
        RevenueFacts(ref_of("purchase:t:1"), series.id, 500, at, episode=7, kind="purchase",
                     bucket=f"series:{series.id}|partner:{partner.id}|USD|commerce-test",
                     partner_cut=False),
    ]  # fmt: skip
    post_revenue(world.db.session, partner, sales, now=at)
    login_as(world.participant)
    page = client.get("/earnings/statement", query_string=MONTH).get_data(as_text=True)
    assert "Earnings by revenue type" in page
    table = page[page.index('id="by-type-table"') :]
    table = table[: table.index("</table>")]
    names = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert names == [
        "Bundles", "Coin unlocks", "Subscription and ads pools", "In-story commerce",
        "Paid unlocks",
    ]  # fmt: skip
