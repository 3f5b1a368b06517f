"""Sessions end on the server (log out, log out everywhere, idle and absolute expiry), logins
and sign-ups are throttled per account and per address, and an unknown email costs a login as
much as a known one."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserSession
from tests.helpers import PASSWORD


def copy_of(app, client):
    """Another browser holding a copy of the client's session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def log_in(client, email, password=PASSWORD, address="127.0.0.1"):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})  # fmt: skip


def test_a_copied_session_cookie_stops_working_at_logout(app, client, db, make_participant):
    user = make_participant(email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    assert log_in(client, user.email).status_code == 302
    copied = copy_of(app, client)
    assert copied.get("/earnings/").status_code == 200
    client.post("/auth/logout")
    assert copied.get("/earnings/").status_code == 302
    assert "/auth/login" in copied.get("/earnings/").location


def test_log_out_everywhere_ends_every_session(app, client, db, make_participant):
    user = make_participant(email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    log_in(client, user.email)
    phone = app.test_client()
    log_in(phone, user.email)
    assert phone.get("/earnings/").status_code == 200
    assert client.post("/auth/logout-everywhere").status_code == 302
    assert phone.get("/earnings/").status_code == 302
    assert client.get("/earnings/").status_code == 302
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(rows) == 2 and all(row.ended_at is not None for row in rows)
    assert log_in(client, user.email).status_code == 302  # a new login works again


def test_an_idle_session_expires(app, client, db, make_participant):
    user = make_participant(email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    log_in(client, user.email)
    assert client.get("/earnings/").status_code == 200
    with client.session_transaction() as session:
        session["_seen"] = int(time.time()) - app.config["SESSION_IDLE_SECONDS"] - 5
    assert client.get("/earnings/").status_code == 302


def test_a_session_expires_after_its_maximum_age_however_busy(app, client, db, make_participant):
    user = make_participant(email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    log_in(client, user.email)
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.created_at -= timedelta(seconds=app.config["SESSION_MAX_SECONDS"] + 1)
    db.session.flush()
    assert client.get("/earnings/").status_code == 302


def test_forty_wrong_passwords_lock_the_account_even_from_many_addresses(
    client, db, make_participant
):
    user = make_participant(email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    answers = [log_in(client, user.email, "wrong password", f"10.0.{n // 250}.{n % 250}")
               for n in range(40)]  # fmt: skip
    statuses = [a.status_code for a in answers]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    assert "Retry-After" in answers[-1].headers
    right = log_in(client, user.email, PASSWORD, "10.9.9.9")
    assert right.status_code == 429
    assert client.get("/earnings/").status_code == 302  # not logged in


def test_one_address_trying_many_accounts_is_throttled(client, db, make_participant):
    statuses = [log_in(client, f"nobody{n}@example.com", "guess", "198.51.100.7").status_code
                for n in range(35)]  # fmt: skip
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    assert log_in(client, "nobody@example.com", "guess", "198.51.100.8").status_code == 401


def test_an_unknown_email_costs_the_same_password_check_as_a_known_one(
    client, db, make_participant, monkeypatch
):
    user = make_participant(email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    calls = []
    real = hashlib.scrypt

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    log_in(client, user.email, "wrong password")
    known = len(calls)
    del calls[:]
    log_in(client, "no-such-person@example.com", "wrong password")
    assert known == 1 and len(calls) == known


@pytest.mark.parametrize("per", ["email", "address"])
def test_sign_ups_are_throttled_per_email_and_per_address(client, db, per):
    def sign_up(n):
        email = "same@example.com" if per == "email" else f"new{n}@example.com"
        address = f"10.1.0.{n}" if per == "email" else "10.2.0.1"
        return client.post("/auth/signup", environ_base={"REMOTE_ADDR": address}, data={
            "email": email, "password": PASSWORD, "confirm": PASSWORD, "role": "creator",
        }).status_code  # fmt: skip

    statuses = [sign_up(n) for n in range(12)]
    allowed = 3 if per == "email" else 10
    assert statuses[:allowed] == [200] * allowed and set(statuses[allowed:]) == {429}


def test_invitation_acceptance_is_throttled_per_account(client, db, login_as, cast):
    login_as(cast.other_participant)
    statuses = [client.post(f"/studio/invitations/guess-{n}/accept").status_code
                for n in range(22)]  # fmt: skip
    assert statuses[:20] == [404] * 20 and set(statuses[20:]) == {429}
