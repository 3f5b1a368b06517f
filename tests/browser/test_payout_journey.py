"""Journey 4: after signed unlocks on a partner app with no hold, the participant connects a
Stripe account, an admin builds a payout batch, approves and sends it, the bank pays (the
scheduler's relay of the emulated Stripe), and the participant sees the payout as paid."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from marketplace.payouts.gateway import relay_emulated_stripe
from tests.browser.support import log_in, make_account, published_series

UNLOCKS = 20
PRICE = 200
# Per $2.00 unlock: the partner keeps 30% ($0.60), the platform 10% of the rest ($0.14), and
# the participants share $1.26 half and half: $0.63 each, so 20 unlocks pay $12.60 each.
EACH = "$12.60"


@pytest.fixture
def earning_participant(live_session, partner_apps, funded_platform):
    """A participant (accepted) on a series live on SnapDrama, whose money has no hold."""
    admin = make_account(live_session, "admin", "omar")
    creator = make_account(live_session, "creator", "ivy", "Ivy Creator")
    participant = make_account(live_session, "participant", "sol", "Sol Rivera")
    series = published_series(
        live_session,
        creator,
        partner_apps["SnapDrama"].app_id,
        [
            {"user": participant, "role": "director", "credit_name": "Sol Rivera", "bps": 5000},
            {"user": creator, "role": "producer", "credit_name": "Ivy", "bps": 5000},
        ],
        title="The Last Ferry to Avalon",
        price=PRICE,
        since=datetime.now(UTC) - timedelta(hours=6),
    )
    found = {
        "admin": admin.email,
        "creator": creator.email,
        "participant": participant.email,
        "series_id": series.id,
    }
    live_session.rollback()  # end the read, or SQLite would keep the server from writing
    return found


def test_admin_pays_a_batch_and_the_participant_sees_it_paid(
    page, another_person, earning_participant, partner_apps, live_app, screenshot
):
    who = earning_participant
    now = datetime.now(UTC)
    # Unlocks of the last few hours, at least two hours old: the ledger makes money available
    # by the hour (rounded up), so even with no hold, the past hour's unlocks still wait.
    partner_apps["SnapDrama"].unlock(
        who["series_id"],
        [(3 + i % 4, PRICE, now - timedelta(hours=2, minutes=9 * i)) for i in range(UNLOCKS)],
    )

    log_in(page, who["participant"])
    page.get_by_role("navigation").get_by_role("link", name="Payouts").click()
    expect(page.get_by_text("Connect a Stripe account to receive your earnings.")).to_be_visible()
    expect(page.get_by_text("No payouts yet.")).to_be_visible()
    page.get_by_role("button", name="Set up payouts with Stripe").click()  # in the US
    page.get_by_role("button", name="Finish onboarding").click()  # the sandbox's Stripe page
    expect(page.get_by_text("Your payout account is ready.")).to_be_visible()
    expect(page.get_by_text("ready", exact=True)).to_be_visible()
    page.get_by_role("link", name="Fill in your tax form").click()
    page.get_by_role("link", name="Fill in a W-9 (US persons)").click()
    page.get_by_label("Legal name (as on your tax return)").fill("Sol Rivera")
    page.get_by_label("Number", exact=True).fill("123-45-6789")
    page.get_by_label("Address").fill("1 Ocean Ave, Santa Monica, CA")
    page.get_by_label("Under penalties of perjury").check()
    page.get_by_label("Signature (type your name)").fill("Sol Rivera")
    page.get_by_role("button", name="Submit W-9").click()
    expect(page.get_by_text("Your W-9 is on file.")).to_be_visible()

    admin = another_person()
    log_in(admin, who["admin"])
    admin.get_by_role("navigation").get_by_role("link", name="Payouts").click()
    admin.get_by_role("button", name="Build today's batch").click()
    expect(admin.get_by_text("Batch built.")).to_be_visible()
    today = now.date().isoformat()
    expect(
        admin.get_by_role("heading", name=re.compile(rf"Payout batch #\d+ · {today}"))
    ).to_be_visible()
    line = admin.get_by_role("row").filter(has_text=who["participant"])
    expect(line).to_contain_text(EACH)
    expect(line).to_contain_text("proposed")
    expect(line).to_contain_text("first payout to a new account")
    creator_line = admin.get_by_role("row").filter(has_text=who["creator"])
    expect(creator_line).to_contain_text("excluded")
    expect(creator_line).to_contain_text("no payout account")

    admin.get_by_role("button", name="Approve batch").click()
    expect(admin.get_by_text("Batch approved.")).to_be_visible()
    admin.get_by_role("button", name="Send approved payouts").click()
    # Today's batch pays everyone due, not only this journey's participant.
    expect(
        admin.get_by_text(re.compile(r"Sent [1-9]\d*, failed 0, to retry \d+\."))
    ).to_be_visible()
    expect(line).to_contain_text("sent")

    # What the scheduler does every few seconds in the sandbox: the bank pays, webhooks arrive.
    assert relay_emulated_stripe(live_app) > 0

    page.reload()
    history = page.get_by_role("row").filter(has_text=today)
    expect(history).to_contain_text(EACH)
    expect(history).to_contain_text("paid")

    admin.set_viewport_size({"width": 1024, "height": 768})  # admins work at a desk
    admin.reload()
    expect(line).to_contain_text("paid")
    screenshot(admin, "admin-payout-batch")
