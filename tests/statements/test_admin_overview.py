"""The admin overview leads with money: batches waiting, payout lines open or failed per
currency, and the ledger's health per currency."""

from __future__ import annotations

import re
from datetime import timedelta

from marketplace.payouts.models import PayoutBatch, PayoutLine
from tests.statements.conftest import T0


def test_the_overview_shows_money_waiting_failures_and_ledger_health(db, client, login_as, world):
    world.unlock(T0 + timedelta(hours=1), gross=1999)
    batch = PayoutBatch(period_key="overview-test", status="draft", as_of=T0 + timedelta(days=20))
    db.session.add(batch)
    db.session.flush()
    line = PayoutLine(
        batch_id=batch.id, user_id=world.participant.id, currency="USD", amount=629,
        status="failed", reason="account closed", destination="acct_x", reservation_entry_id=1,
    )  # fmt: skip
    db.session.add(line)
    db.session.flush()
    login_as(world.admin)
    page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r"<dd data-draft-batches>1</dd>", page)
    assert "1 failed payout line (USD)" in page and "$6.29" in page
    health = re.search(r"<p data-ledger-health>(.*?)</p>", page, re.S).group(1)
    assert "USD" in health and "balanced" in health and "OUT OF BALANCE" not in health
