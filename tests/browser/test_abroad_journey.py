"""Journey 7: an actor in Spain accepts an emailed invitation to a series sold in euros, sets
up payouts with Stripe in Spain, files a W-8BEN, is paid in EUR (30 % US tax withheld: no
treaty claimed) once an admin approves and sends the batch, and downloads the annual
summary from the Payouts page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from marketplace.partners.services import create_partner
from marketplace.payouts.batches import build_batch
from marketplace.payouts.gateway import get_gateway, relay_emulated_stripe
from marketplace.payouts.services import record_platform_funding
from tests.browser.support import (
    PASSWORD,
    SignedPartner,
    log_in,
    make_account,
    published_series,
    run_poster,
    signup_link_from_mail,
    unique_email,
)

INVITE_TITLE = "Corazón de Tormenta"
PRICE = 300  # EUR 3.00
UNLOCKS = 20
# Per EUR 3.00 unlock: the partner keeps 30 % (0.90), the platform 10 % of the rest (0.21),
# the actor gets half of 1.89 = 0.945, so 20 unlocks earn EUR 18.90; 30 % withheld: 5.67.
GROSS, NET = "€18.90", "€13.23"


@pytest.fixture
def invited_abroad(live_app, live_server, live_session):
    """An EUR partner app (no hold), a series live on it since yesterday whose split invites
    an actor with no account yet, and the platform's EUR balance funded."""
    admin = make_account(live_session, "admin", "ines")
    creator = make_account(live_session, "creator", "pilar", "Pilar Creator")
    partner, key_id, secret = create_partner(
        live_session, name=f"TelenovelaYa {uuid.uuid4().hex[:4]}", currency="EUR",
        share_bps=3000, hold_days=0,
    )  # fmt: skip
    signed = SignedPartner(
        partner.id, partner.name, key_id, secret, live_server, lambda: run_poster(live_app)
    )
    invitee = unique_email("lucia")
    since = datetime.now(UTC) - timedelta(days=2)
    series = published_series(
        live_session, creator, partner.id,
        [{"email": creator.email, "role": "producer", "credit_name": "Pilar", "bps": 5000},
         {"email": invitee, "role": "actor", "credit_name": "Lucía Vega", "bps": 5000}],
        title=INVITE_TITLE, price=PRICE, since=since, currency="EUR",
    )  # fmt: skip
    get_gateway(live_app).emulator.fund_platform(1_000_000, "eur")
    record_platform_funding(live_session, amount=1_000_000, currency="EUR",
                            reference=f"browser-eur-{uuid.uuid4().hex[:8]}")  # fmt: skip
    found = {"admin": admin.email, "invitee": invitee, "series": series.id, "partner": signed}
    live_session.rollback()
    return found


def test_an_actor_in_spain_is_paid_in_euros(
    page, another_person, invited_abroad, live_app, live_session
):
    who = invited_abroad
    # Unlocks a day and a half ago: available (no hold) before yesterday's batch.
    when = datetime.now(UTC) - timedelta(hours=36)
    who["partner"].unlock(who["series"], [(3 + i % 3, PRICE, when + timedelta(minutes=i))
                                          for i in range(UNLOCKS)], currency="EUR")  # fmt: skip

    # The invitation, from the mail (the admin's outbox shows it), signed up and accepted.
    link = _invitation_link(another_person(), who)
    page.goto(link)
    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(who["invitee"])
    page.get_by_label("Your name").fill("Lucía Vega")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_text("On a team: actor, writer, director...").click()
    page.get_by_role("button", name="Create account").click()
    # The account is made from the link mailed to the address (the outbox holds it).
    page.goto(signup_link_from_mail(live_session, who["invitee"]))
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("button", name=f"Accept as {who['invitee']}").click()
    expect(page.get_by_text(f"You are on the team of “{INVITE_TITLE}”.")).to_be_visible()

    # Payouts: Stripe in Spain (the sandbox's hosted onboarding), then the W-8BEN.
    page.get_by_role("navigation").get_by_role("link", name="Payouts").click()
    page.get_by_label("Country you live in").select_option("ES")
    page.get_by_role("button", name="Set up payouts with Stripe").click()
    expect(page.get_by_text("Your account is in ES")).to_be_visible()
    page.get_by_role("button", name="Finish onboarding").click()
    expect(page.get_by_text("Your payout account is ready.")).to_be_visible()
    expect(page.get_by_text("in ES can receive payouts in EUR")).to_be_visible()
    page.get_by_role("link", name="Fill in your tax form").click()
    page.get_by_role("link", name="Fill in a W-8BEN (everyone else)").click()
    page.get_by_label("Legal name").fill("Lucía Vega Martín")
    page.get_by_label("Country of tax residence").select_option("ES")
    page.get_by_label("Foreign tax identifying number").fill("12345678Z")
    page.get_by_label("Permanent residence address").fill("Calle Mayor 1, 28013 Madrid")
    page.get_by_label("Under penalties of perjury").check()
    page.get_by_label("Signature (type your name)").fill("Lucía Vega Martín")
    page.get_by_role("button", name="Submit W-8BEN").click()
    expect(page.get_by_text("Your W-8BEN is on file.")).to_be_visible()
    expect(page.get_by_text("W-8BEN, FOREIGN ending 678Z")).to_be_visible()

    # Yesterday's batch (the scheduler's job), approved and sent by an admin.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    batch = build_batch(live_session, as_of=yesterday, now=datetime.now(UTC)).batch
    batch_id = batch.id
    live_session.rollback()
    admin = another_person()
    log_in(admin, who["admin"])
    admin.goto(f"/admin/payouts/{batch_id}")
    line = admin.get_by_role("row").filter(has_text=who["invitee"])
    expect(line).to_contain_text(NET)
    expect(line).to_contain_text("withheld (30%)")
    admin.get_by_role("button", name="Approve batch").click()
    admin.get_by_role("button", name="Send approved payouts").click()
    expect(line).to_contain_text("sent")
    assert relay_emulated_stripe(live_app) > 0  # the bank pays; the webhooks arrive

    page.reload()
    history = page.get_by_role("row").filter(has_text=yesterday.date().isoformat())
    expect(history).to_contain_text(NET)
    expect(history).to_contain_text(f"US tax withheld (30%) of {GROSS}")
    expect(history).to_contain_text("paid")

    year = datetime.now(UTC).year
    with page.expect_download() as download:
        page.get_by_role("link", name=f"{year} annual summary").click()
    text = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "Lucía Vega Martín" in text and "W-8BEN, FOREIGN ending 678Z" in text
    assert "EUR 18.90" in text and "EUR 5.67" in text and "EUR 13.23" in text


def _invitation_link(admin_page, who) -> str:
    """The admin reads the outbox and copies the link from the invitation."""
    log_in(admin_page, who["admin"])
    admin_page.get_by_role("link", name="Outbox").click()
    admin_page.get_by_label("Only messages to").fill(who["invitee"])
    admin_page.get_by_role("button", name="Filter").click()
    message = admin_page.get_by_role("article").filter(
        has=admin_page.get_by_role("heading", name=f'You are invited to "{INVITE_TITLE}"')
    )
    expect(message).to_contain_text("as actor (credited as Lucía Vega), with 50%")
    [link] = re.findall(r"https?://\S+/studio/invitations/\S+", message.locator("pre").inner_text())
    return link
