"""Journey: a creator enters a budget and an actor's advance and publishes a revenue plan; the
actor accepts it from the consent page; as unlocks arrive, the actor's statement shows the
advance outstanding, then recovered, then her profit share growing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import log_in, make_account, published_series

PRICE = 200  # a $2.00 unlock leaves $1.26 in the pool (partner 30 %, platform 10 %)
TITLE = "The Understudy's Contract"


@pytest.fixture
def team(live_session, partner_apps):
    creator = make_account(live_session, "creator", "noor", "Noor Haddad")
    actor = make_account(live_session, "participant", "lena", "Lena Park")
    series = published_series(
        live_session,
        creator,
        partner_apps["SnapDrama"].app_id,
        [
            {"user": creator, "role": "producer", "credit_name": "Noor Haddad", "bps": 5000},
            {"user": actor, "role": "actor", "credit_name": "Lena Park", "bps": 5000},
        ],
        title=TITLE,
        price=PRICE,
        since=datetime.now(UTC) - timedelta(days=1),
    )
    found = {"creator": creator.email, "actor": actor.email, "series_id": series.id}
    live_session.rollback()
    return found


def position(page, column: str) -> str:
    page.goto("/earnings/statement")
    cell = page.locator("#deal-positions-table tbody tr").first.locator(f"td[data-{column}]")
    return cell.inner_text().strip()


def consent_link(live_session, email: str) -> str:
    """The link in the newest "your consent" mail to `email` (what she would click)."""
    from sqlalchemy import select

    from marketplace.mail import OutboxMessage

    body = live_session.scalars(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.to_address == email, OutboxMessage.kind == "plan.consent")
        .order_by(OutboxMessage.id.desc())
    ).first()
    live_session.rollback()
    assert body, f"no consent mail to {email}"
    [link] = [word for word in body.split() if "/consent" in word]
    return link


def test_budget_advance_consent_then_advance_recovered_then_profit(
    page, another_person, team, partner_apps, live_session
):
    series_id = team["series_id"]
    log_in(page, team["creator"])
    page.goto(f"/studio/series/{series_id}/plan")
    page.get_by_label("Carried by").select_option(label="Noor Haddad (producer)")
    page.get_by_label("What it paid for").fill("Shoot, two days")
    page.get_by_label("Amount", exact=True).fill("3.00")
    page.get_by_role("button", name="Add the cost").click()
    expect(page.get_by_text("Cost added to the budget.")).to_be_visible()
    page.get_by_label("Advance paid to").select_option(label="Lena Park (actor)")
    page.get_by_label("Advance paid by").select_option(label="Noor Haddad (producer)")
    page.get_by_label("Advance amount (optional)").fill("0.50")
    page.get_by_role("button", name="Publish the plan").click()
    expect(page.get_by_text("is waiting for the answers")).to_be_visible()
    expect(page.locator("#plan-history")).to_contain_text("Lena Park: pending")

    actor = another_person()
    log_in(actor, team["actor"])
    actor.goto(consent_link(live_session, team["actor"]))
    expect(actor.locator("#consent-reason")).to_contain_text("is repaid to others")
    actor.get_by_role("button", name="Accept").click()
    expect(actor.get_by_text("your answer is recorded")).to_be_visible()

    page.reload()
    expect(page.locator("#plan-explained")).to_contain_text(
        "The first $3.00 of the participants' pool goes to Noor Haddad"
    )
    # The advance is paid; nothing recovered yet.
    assert position(actor, "advance-outstanding") == "$0.50"
    partner = partner_apps["SnapDrama"]
    now = datetime.now(UTC)
    partner.unlock(series_id, [(3, PRICE, now) for _ in range(3)])  # $3.78: $0.78 of profit
    assert position(actor, "advance-outstanding") == "$0.11"  # her $0.39 repaid the advance
    assert position(actor, "profit") == "$0.39"
    partner.unlock(series_id, [(4, PRICE, now) for _ in range(2)])  # $6.30: $3.30 of profit
    assert position(actor, "advance-outstanding") == "$0.00"
    assert position(actor, "profit") == "$1.65"


def test_a_flat_fee_is_owed_then_paid_from_the_creators_earnings(
    page, another_person, team, partner_apps, live_session
):
    from marketplace.splits.terms.guarantees import settle_guarantees

    series_id = team["series_id"]
    log_in(page, team["creator"])
    page.goto(f"/studio/series/{series_id}/plan")
    page.get_by_label("Guarantee to").select_option(label="Lena Park (actor)")
    page.get_by_label("Kind").select_option(label="Flat fee (on top of the share)")
    page.get_by_label("Per").select_option(label="once")
    page.get_by_label("Guaranteed amount (optional)").fill("1.00")
    page.get_by_role("button", name="Publish the plan").click()
    # A fee the creator owes lowers nobody's share: in force at once.
    expect(page.get_by_text("published, effective now")).to_be_visible()
    expect(page.locator("#plan-explained")).to_contain_text(
        "Lena Park is guaranteed a flat fee of $1.00 on top of their share"
    )
    actor = another_person()
    log_in(actor, team["actor"])
    settle_guarantees(live_session)  # the hourly guarantee-dues job
    assert position(actor, "guarantee-owed") == "$1.00"  # Noor has no earnings yet
    assert position(page, "guarantees-owed-by") == "$1.00"  # on Noor's own statement
    partner = partner_apps["SnapDrama"]
    partner.unlock(series_id, [(3, PRICE, datetime.now(UTC)) for _ in range(2)])  # Noor: $1.26
    settle_guarantees(live_session)
    assert position(actor, "guarantee-owed") == "$0.00"
    assert position(actor, "guarantee-paid") == "$1.00"
    assert position(actor, "profit") == "$1.26"
