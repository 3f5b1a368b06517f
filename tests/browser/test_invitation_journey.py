"""Journey 2: an invitee opens the emailed link (read from the admin's outbox), signs up,
accepts, and sees the series; the creator's split sheet then says "accepted"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    PASSWORD,
    log_in,
    make_account,
    published_series,
    signup_link_from_mail,
    unique_email,
)

TITLE = "Ninety Days to Forget Him"


@pytest.fixture
def invited(live_session, partner_apps):
    """A published series whose split invites an actor who has no account yet."""
    admin = make_account(live_session, "admin", "admin")
    creator = make_account(live_session, "creator", "nadia", "Nadia Creator")
    invitee = unique_email("amara")
    series = published_series(
        live_session,
        creator,
        partner_apps["StoryReel"].app_id,
        [
            {"email": creator.email, "role": "producer", "credit_name": "Nadia", "bps": 6000},
            {"email": invitee, "role": "actor", "credit_name": "Amara Osei", "bps": 4000},
        ],
        title=TITLE,
    )
    found = {"admin": admin.email, "creator": creator.email, "invitee": invitee, "id": series.id}
    live_session.rollback()  # end the read, or SQLite would keep the server from writing
    return found


def invitation_link_from_outbox(page, admin_email: str, to: str) -> str:
    """The admin reads the outbox (no SMTP here) and copies the link from the email."""
    log_in(page, admin_email)
    page.get_by_role("link", name="Outbox").click()
    page.get_by_label("Only messages to").fill(to)
    page.get_by_role("button", name="Filter").click()
    message = page.get_by_role("article").filter(
        has=page.get_by_role("heading", name=f'You are invited to "{TITLE}" on Cliffhanger')
    )
    expect(message).to_have_count(1)
    expect(message).to_contain_text(f"To {to}")
    expect(message).to_contain_text("as actor (credited as Amara Osei), with 40%")
    body = message.locator("pre").inner_text()
    [link] = re.findall(r"https?://\S+/studio/invitations/\S+", body)
    return link


def test_invitee_signs_up_from_the_emailed_link_and_accepts(
    page, another_person, invited, live_session
):
    link = invitation_link_from_outbox(another_person(), invited["admin"], invited["invitee"])

    page.goto(link)
    expect(page.get_by_role("heading", name=f"Join the team of “{TITLE}”")).to_be_visible()
    expect(page.get_by_text("As actor, credited as Amara Osei, with 40%")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(invited["invitee"])
    page.get_by_label("Your name").fill("Amara Osei")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_text("On a team: actor, writer, director...").click()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(signup_link_from_mail(live_session, invited["invitee"]))
    page.get_by_role("button", name="Create my account").click()

    # Back on the invitation, now signed in.
    expect(page.get_by_role("heading", name=f"Join the team of “{TITLE}”")).to_be_visible()
    page.get_by_role("button", name=f"Accept as {invited['invitee']}").click()
    expect(page.get_by_text(f"You are on the team of “{TITLE}”.")).to_be_visible()
    expect(page.get_by_role("heading", name="My series")).to_be_visible()
    card = page.locator("section.card").filter(has=page.get_by_role("heading", name=TITLE))
    expect(card).to_contain_text("actor · credited as Amara Osei · share: 40%")
    expect(card).to_contain_text("published")

    # The link has done its work: opening it again says so.
    page.goto(link)
    expect(page.get_by_text("This invitation has been accepted.")).to_be_visible()

    creator = another_person()
    log_in(creator, invited["creator"])
    creator.goto(f"/studio/series/{invited['id']}/split")
    row = creator.get_by_role("row").filter(has_text=invited["invitee"])
    expect(row).to_contain_text("accepted")
    expect(row.get_by_role("button", name="Re-send")).to_have_count(0)
