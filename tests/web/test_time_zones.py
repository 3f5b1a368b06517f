"""Each person's time zone: set at sign-up from the browser, editable in Settings, and used by
the `localtime` filter for every date a page shows."""

from __future__ import annotations

from datetime import UTC, datetime

from marketplace.accounts.signups import confirm_signup, request_signup
from marketplace.formatting import localdate, localtime
from tests.helpers import signup_link_path

AT = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)


def test_localtime_shows_the_readers_zone(app, db, make_participant):
    person = make_participant()
    person.time_zone = "Asia/Manila"
    with app.test_request_context():
        from flask_login import login_user, logout_user

        login_user(person)
        assert localtime(AT) == "2026-03-02 04:30 PST"
        assert localtime(AT, seconds=True) == "2026-03-02 04:30:00 PST"
        assert localdate(AT) == "2026-03-02"
        logout_user()  # nobody signed in: UTC
        assert localtime(AT) == "2026-03-01 20:30 UTC"


def test_settings_save_a_time_zone_and_refuse_an_unknown_one(client, db, login_as, make_creator):
    person = login_as(make_creator())
    page = client.get("/auth/settings")
    assert page.status_code == 200 and 'value="Asia/Manila"' in page.get_data(as_text=True)
    saved = client.post("/auth/settings", data={"time_zone": "Europe/Madrid", "language": "es"})
    assert saved.status_code == 302
    db.session.refresh(person)
    assert (person.time_zone, person.language) == ("Europe/Madrid", "es")
    refused = client.post("/auth/settings", data={"time_zone": "Mars/Olympus", "language": ""})
    assert refused.status_code == 422
    db.session.refresh(person)
    assert person.time_zone == "Europe/Madrid"


def test_an_account_takes_the_browsers_time_zone_or_utc(app, db):
    for zone, expected in (("Asia/Manila", "Asia/Manila"), ("Nowhere/Else", "UTC"), (None, "UTC")):
        email = f"tz-{expected.replace('/', '-').lower()}-{id(zone)}@example.com"
        with app.test_request_context():
            request_signup(db.session, email=email, password="a good long password",
                           role="participant")  # fmt: skip
            token = signup_link_path(db, email).rstrip("/").rsplit("/", 1)[-1]
            user = confirm_signup(db.session, token, time_zone=zone)
        assert user.time_zone == expected
