"""A participant's statement shows her earnings by revenue type (paid and coin unlocks,
bundles, commerce, pools, refunds), adding up to the statement's earnings and refunds."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from marketplace.ingest.models import PartnerEvent
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
    # The coin unlocks behind the coin money, as the event log keeps them (one from another
    # episode has no line of its own: not counted).
    for n, (episode, coins, bonus) in enumerate(((7, 90, 20), (7, 30, 0), (8, 60, 0))):
        world.db.session.add(PartnerEvent(
            partner_id=partner.id, external_id=f"coin-{n}", kind="coins", series_id=series.id,
            episode=episode, amount=0, currency="USD", occurred_at=at, content_hash="0" * 64,
            details={"coins": coins, "bonus_coins": bonus, "rate": 1},
        ))  # fmt: skip
    world.db.session.flush()
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
    coins_row = table[table.index("<td>Coin unlocks</td>") :]
    coins_row = coins_row[: coins_row.index("</tr>")]
    assert (
        '<td class="num" data-coins>120</td><td class="num" data-bonus-coins>20</td>' in coins_row
    )
    download = client.get("/earnings/statement.csv", query_string=MONTH).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(download)))
    coin_rows = [r for r in rows if r["event_kind"] == "coins"]
    assert [(r["coins"], r["bonus_coins"]) for r in coin_rows] == [("120", "20")]
    assert {r["coins"] for r in rows if r["event_kind"] != "coins"} == {""}
    pdf = client.get("/earnings/statement.pdf", query_string=MONTH)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
