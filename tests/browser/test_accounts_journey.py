"""A visitor signs up and logs in, as a person would, in Chromium."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.support import signup_link_from_mail


def test_sign_up_log_out_and_log_in_again(page, live_session):
    email = f"journey-{uuid.uuid4().hex[:6]}@example.com"
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Jo Journey")
    page.get_by_label("Password", exact=True).fill("a good long password")
    page.get_by_label("Repeat password").fill("a good long password")
    page.get_by_text("A creator: I publish series").click()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(signup_link_from_mail(live_session, email))
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Welcome to Cliffhanger.")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is not correct.")
    page.get_by_label("Password").fill("a good long password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
