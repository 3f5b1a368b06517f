"""Journey: an admin closes a partner app's month and records a partial remittance; a
participant of that app, under the `collected` payout policy, then sees the released share of
her earnings as available on her earnings page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from marketplace.ingest.poster import post_pending
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.partners.contracts import add_contract_version, period_bounds
from marketplace.partners.services import create_partner
from tests.browser.support import log_in, make_account, published_series


def test_an_admin_settles_a_collected_month_and_the_actor_sees_her_money(page, live_session):
    admin = make_account(live_session, "admin", "ada")
    creator = make_account(live_session, "creator", "cy")
    actor = make_account(live_session, "participant", "ava")
    name = f"CashBox {uuid.uuid4().hex[:6]}"
    partner, _, _ = create_partner(
        live_session, name=name, currency="USD", share_bps=3000, hold_days=0
    )
    # Last month is past its cut-off (3 late days) whenever this runs after the 4th.
    this_month, _ = period_bounds("monthly", datetime.now(UTC))
    last_month, _ = period_bounds("monthly", this_month - timedelta(days=1))
    if datetime.now(UTC) < this_month + timedelta(days=3, minutes=5):
        last_month, _ = period_bounds("monthly", last_month - timedelta(days=1))
    add_contract_version(
        live_session, partner, effective_from=last_month - timedelta(days=1),
        payout_policy="collected", now=last_month - timedelta(days=2),
    )  # fmt: skip
    series = published_series(
        live_session, creator, partner.id,
        [{"user": creator, "role": "producer", "credit_name": "Cy", "bps": 5_000},
         {"user": actor, "role": "actor", "credit_name": "Ava", "bps": 5_000}],
        title="Paid Promise", since=last_month,
    )  # fmt: skip
    when = last_month + timedelta(days=2)
    ingest_unlocks(
        live_session, partner,
        [UnlockIn(f"u{n}", series.id, 3, 1000, "USD", when) for n in range(10)],
    )  # fmt: skip
    post_pending(live_session)
    period, admin_email, actor_email = f"{last_month:%Y-%m}", admin.email, actor.email
    live_session.rollback()

    log_in(page, admin_email)
    page.goto("/admin/settlements")
    page.get_by_label("Partner app").first.select_option(label=name)
    page.get_by_label("Period").fill(period)
    page.get_by_role("button", name="Close period").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name}: settlement {period}")
    # 10 unlocks of $10.00, the app keeps 30 %: $70.00 owed.
    expect(page.get_by_text("$70.00").first).to_be_visible()
    page.goto("/admin/settlements")
    form = page.locator("form", has=page.get_by_role("button", name="Record remittance"))
    form.get_by_label("Partner app").select_option(label=name)
    form.get_by_label("Amount received").fill("35.00")
    form.get_by_label("Currency", exact=True).fill("USD")
    form.get_by_label("Bank reference").fill("WIRE-JOURNEY-1")
    form.get_by_role("button", name="Record remittance").click()
    expect(page.get_by_text("Remittance WIRE-JOURNEY-1")).to_be_visible()
    statements = page.get_by_role("region", name="Statements")
    expect(statements.locator("tr", has_text=name)).to_contain_text("$35.00")

    page.context.clear_cookies()
    log_in(page, actor_email)
    page.goto("/earnings/")
    # Her share: 10 x $10.00 less 30 % to the app and the platform's fee, half of it hers;
    # half of the statement is paid, so half of it is available; the rest waits.
    available = page.locator("dl.figures").first.locator("dd").first
    expect(available).not_to_have_text("$0.00")
    expect(available).to_have_text("$15.75")
    expect(page.get_by_text("when the partner app pays its statement")).to_be_visible()
