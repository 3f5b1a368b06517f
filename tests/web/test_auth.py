"""Accounts: sign-up, log-in, log-out, password change, CSRF, role-only pages."""

from __future__ import annotations

import re

from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.mail import OutboxMessage
from tests.helpers import PASSWORD, signup_link_path


def signup(client, email="Maya@Example.COM", password="a long enough password", role="creator"):
    return client.post(
        "/auth/signup",
        data={
            "email": email,
            "password": password,
            "confirm": password,
            "role": role,
            "display_name": "Maya",
        },
    )


def test_signup_creates_account_with_normalised_email_and_hashed_password(client, db):
    response = signup(client)
    assert response.status_code == 200 and b"Check your email" in response.data
    assert db.session.scalar(select(User).where(User.email == "maya@example.com")) is None
    link = signup_link_path(db, "maya@example.com")
    assert b"Create my account" in client.get(link).data
    created = client.post(link)
    assert created.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "maya@example.com"))
    assert user is not None and user.role == "creator" and user.display_name == "Maya"
    assert user.password_hash.startswith("scrypt:")
    assert "a long enough password" not in user.password_hash
    # Logged in straight away: the studio/home redirect works.
    assert client.get("/home").status_code == 302
    # The link works once.
    assert client.post(link).status_code == 404


def test_signup_says_the_same_for_a_taken_email_and_mails_its_owner(client, db, make_creator):
    make_creator(email="taken@example.com")
    taken = signup(client, email="TAKEN@Example.com")
    fresh = signup(client, email="fresh@example.com")
    assert taken.status_code == fresh.status_code == 200
    def page(response, email):  # the CSRF token is signed with the time: not part of the answer
        return re.sub(rb'content="[^"]*"', b"", response.data.replace(email, b"X"))

    assert page(taken, b"taken@example.com") == page(fresh, b"fresh@example.com")
    assert len(db.session.scalars(select(User).where(User.email == "taken@example.com")).all()) == 1
    kinds = db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.to_address == "taken@example.com")
    ).all()
    assert kinds == ["signup.exists"]


def test_short_password_and_bad_email_are_rejected(client, db):
    response = signup(client, email="not-an-email", password="short")
    assert response.status_code == 422
    assert db.session.scalar(select(User)) is None


def test_participant_cannot_sign_up_as_admin(client, db):
    response = signup(client, email="sneaky@example.com", role="admin")
    assert response.status_code == 422
    assert db.session.scalar(select(User).where(User.email == "sneaky@example.com")) is None


def test_login_success_and_generic_error_for_wrong_password_or_unknown_email(client, make_creator):
    make_creator(email="real@example.com")
    wrong = client.post(
        "/auth/login", data={"email": "real@example.com", "password": "nope-nope-nope"}
    )
    unknown = client.post("/auth/login", data={"email": "ghost@example.com", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert b"Email or password is not correct." in response.data
    ok = client.post("/auth/login", data={"email": "REAL@example.com", "password": PASSWORD})
    assert ok.status_code == 302


def test_login_keeps_next_but_refuses_offsite_redirects(client, make_creator):
    make_creator(email="nx@example.com")
    ok = client.post(
        "/auth/login?next=/admin/users", data={"email": "nx@example.com", "password": PASSWORD}
    )
    assert ok.headers["Location"] == "/admin/users"
    client.post("/auth/logout")
    evil = client.post(
        "/auth/login?next=//evil.example/x", data={"email": "nx@example.com", "password": PASSWORD}
    )
    assert "evil" not in evil.headers["Location"]


def test_logout_is_a_post_and_ends_the_session(client, make_admin, login_as):
    login_as(make_admin())
    assert client.get("/admin/").status_code == 200
    assert client.get("/auth/logout").status_code == 405
    client.post("/auth/logout")
    assert client.get("/admin/").status_code == 302


def test_change_password(client, db, make_creator, login_as):
    user = login_as(make_creator())
    bad = client.post(
        "/auth/password",
        data={
            "current_password": "wrong",
            "new_password": "another long one",
            "confirm": "another long one",
        },
    )
    assert bad.status_code == 422 and b"current password is not correct" in bad.data
    ok = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long one",
            "confirm": "another long one",
        },
    )
    assert ok.status_code == 302
    db.session.refresh(user)
    assert user.check_password("another long one")


def test_form_post_without_csrf_token_is_refused(app, client, db):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = signup(client, email="csrf@example.com")
        assert response.status_code == 400
        assert b"Bad request" in response.data  # the friendly page, no stack trace
        assert db.session.scalar(select(User).where(User.email == "csrf@example.com")) is None
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_form_post_with_csrf_token_from_the_page_is_accepted(app, client, db):
    from tests.helpers import csrf_token_from

    app.config["WTF_CSRF_ENABLED"] = True
    try:
        token = csrf_token_from(client.get("/auth/signup").get_data(as_text=True))
        response = client.post(
            "/auth/signup",
            data={
                "csrf_token": token,
                "email": "withtoken@example.com",
                "password": "long enough pw",
                "confirm": "long enough pw",
                "role": "creator",
            },
        )
        assert response.status_code == 200 and b"Check your email" in response.data
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_role_only_pages(client, make_creator, make_participant, make_admin, login_as):
    anonymous = client.get("/admin/users")
    assert anonymous.status_code == 302
    assert "/auth/login" in anonymous.headers["Location"]
    assert "next=%2Fadmin%2Fusers" in anonymous.headers["Location"]
    login_as(make_creator())
    assert client.get("/admin/users").status_code == 403
    login_as(make_participant())
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and b"Not allowed" in forbidden.data
    login_as(make_admin())
    assert client.get("/admin/users").status_code == 200


def test_session_cookie_flags(app, client, make_creator):
    make_creator(email="cookie@example.com")
    response = client.post(
        "/auth/login", data={"email": "cookie@example.com", "password": PASSWORD}
    )
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
