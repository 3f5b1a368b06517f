"""Links in mail and redirects: PUBLIC_URL when set, else the host and port the request came
to; `make run PORT=5077` (the development server) hands both processes PUBLIC_URL for that
port and a local SMTP server."""

from __future__ import annotations

import smtplib
import time

from marketplace.accounts.sessions import start_session
from marketplace.demo.devserver import child_environment
from marketplace.navigation import absolute
from tests.payouts import conftest as payout_fixtures
from tests.payouts.support import ONBOARDING_BASE

emulator = payout_fixtures.emulator
gateway = payout_fixtures.gateway


def test_links_follow_the_serving_host_and_port_without_public_url(app):
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = ""
    try:
        with app.test_request_context("/", base_url="http://127.0.0.1:5077"):
            assert absolute("/payouts/return") == "http://127.0.0.1:5077/payouts/return"
        app.config["PUBLIC_URL"] = "https://cliffhanger.example/"
        with app.test_request_context("/", base_url="http://127.0.0.1:5077"):
            assert absolute("payouts/") == "https://cliffhanger.example/payouts/"
    finally:
        app.config["PUBLIC_URL"] = saved


def test_the_stripe_return_url_uses_the_serving_port(
    app, db, client, make_participant, gateway, emulator
):
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = ""
    try:
        served = "http://127.0.0.1:5077"  # as served on port 5077
        user = make_participant()
        token = start_session(db.session, user)  # as tests/conftest.py's login_as does
        with client.session_transaction(base_url=served) as session:
            session["_user_id"], session["_fresh"] = user.get_id(), True
            session["_sid"], session["_seen"] = token, int(time.time())
        started = client.post("/payouts/connect", data={"country": "US"}, base_url=served)
        link = emulator.lookup_account_link(started.headers["Location"])
        assert started.headers["Location"].startswith(ONBOARDING_BASE)
        assert link["return_url"] == "http://127.0.0.1:5077/payouts/return"
        assert link["refresh_url"] == "http://127.0.0.1:5077/payouts/refresh"
    finally:
        app.config["PUBLIC_URL"] = saved


def test_the_development_server_passes_its_port_and_a_local_smtp_server_on():
    env, smtp = child_environment("0.0.0.0", "5077", {"PATH": "/usr/bin"})
    try:
        assert env["PUBLIC_URL"] == "http://127.0.0.1:5077"
        assert (env["MAIL_SERVER"], env["MAIL_USE_TLS"]) == ("127.0.0.1", "0")
        with smtplib.SMTP(env["MAIL_SERVER"], int(env["MAIL_PORT"]), timeout=10) as server:
            assert server.noop()[0] == 250  # a real SMTP server answers there
    finally:
        smtp.stop()
    given = {"PUBLIC_URL": "https://x.example", "MAIL_SERVER": "smtp.example"}
    kept, none = child_environment("127.0.0.1", "5077", given)
    assert none is None and kept["PUBLIC_URL"] == "https://x.example"
    assert kept["MAIL_SERVER"] == "smtp.example"
