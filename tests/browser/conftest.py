"""Browser journeys: Playwright driving Debian's Chromium against a live server.

The server runs this app in a thread on its own database (a fresh SQLite file, or a fresh
PostgreSQL database next to TEST_DATABASE_URL's), because a browser's requests cannot share
a test's rolled-back transaction. Without /usr/bin/chromium every test here is skipped, and
the skip reason says so.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.partners.services import create_partner
from tests.browser.support import SignedPartner, run_poster

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(config, items):
    """Skip every browser test, with a clear reason, when Debian's Chromium is absent."""
    if os.path.exists(CHROMIUM) and shutil.which(CHROMIUM):
        return
    reason = f"browser journeys SKIPPED: no Chromium at {CHROMIUM} (apt-get install chromium)"
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


def _browser_database(tmp_path_factory) -> tuple[str, callable]:
    """A fresh database for the live server, and how to drop it afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("browser") / "browser.sqlite3")
        return url, lambda: None
    name = f"cliff_browser_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app the browser talks to, migrated, on its own database."""
    from flask_migrate import upgrade

    url, drop = _browser_database(tmp_path_factory)
    app = create_app(
        {
            "TESTING": False,
            "CLIFFHANGER_ENV": "testing",
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "MEDIA_ROOT": str(tmp_path_factory.mktemp("browser-media")),
            "STRIPE_EMULATOR_PATH": str(tmp_path_factory.mktemp("stripe") / "emulator.sqlite3"),
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()
    drop()


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """Serve live_app on a free port of 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    live_app.config["SERVER_NAME_FOR_LINKS"] = f"http://127.0.0.1:{server.server_port}"
    live_app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _phone_context(browser, live_server):
    context = browser.new_context(
        base_url=live_server, viewport={"width": 412, "height": 915}, device_scale_factor=1
    )
    context.set_default_timeout(15_000)
    return context


def _watch_policy(page, violations: list[str]) -> None:
    """Collect what the Content-Security-Policy blocked on this page (Chromium logs each)."""
    page.on(
        "console",
        lambda message: violations.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )


@pytest.fixture
def page(browser, live_server):
    """A fresh phone-sized browser context per test (creators live on their phones); the test
    fails if the Content-Security-Policy blocked anything the pages use."""
    context = _phone_context(browser, live_server)
    page = context.new_page()
    violations: list[str] = []
    _watch_policy(page, violations)
    yield page
    context.close()
    assert violations == [], "the Content-Security-Policy blocked: " + "; ".join(violations)


@pytest.fixture
def another_person(browser, live_server):
    """Factory: a page in a phone-sized context of its own (another person, other cookies)."""
    contexts = []

    def open_page():
        contexts.append(_phone_context(browser, live_server))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(tmp_path_factory):
    """Save a screenshot: into docs/img (the README shows these) with UPDATE_SCREENSHOTS=1,
    else into a temporary folder, so a test run leaves the working tree as it was."""
    folder = (
        SCREENSHOTS
        if os.environ.get("UPDATE_SCREENSHOTS") == "1"
        else tmp_path_factory.mktemp("screenshots")
    )

    def take(page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def live_session(live_app):
    """Run service calls against the live server's database (committed for real).

    End every read (commit or rollback) before the browser writes: on SQLite an open read
    transaction keeps the server's commits waiting until they fail as "database is locked"."""
    with live_app.app_context():
        yield _db.session
        _db.session.remove()


@pytest.fixture(scope="session")
def partner_apps(live_app, live_server) -> dict[str, SignedPartner]:
    """Two partner apps with their keys: StoryReel (7-day hold) and SnapDrama (no hold)."""
    apps = {}
    with live_app.app_context():
        for name, hold_days in (("StoryReel", 7), ("SnapDrama", 0)):
            partner, key_id, secret = create_partner(
                _db.session, name=name, currency="USD", share_bps=3000, hold_days=hold_days
            )
            apps[name] = SignedPartner(
                partner.id, name, key_id, secret, live_server, lambda: run_poster(live_app)
            )
        _db.session.remove()
    return apps



@pytest.fixture(scope="session")
def demo(live_app, live_server) -> None:
    """`flask demo load` into the live database: the accounts the README's tour names."""
    from marketplace.demo.loader import load_demo_data

    with live_app.app_context():
        load_demo_data(_db.session)
        _db.session.remove()


@pytest.fixture
def funded_platform(live_app, live_server, live_session):
    """The platform's (emulated) Stripe balance topped up, and the top-up in the ledger."""
    from marketplace.payouts.gateway import get_gateway
    from marketplace.payouts.services import record_platform_funding

    amount = 1_000_000
    get_gateway(live_app).emulator.fund_platform(amount, "usd")
    record_platform_funding(
        live_session, amount=amount, currency="USD", reference=f"browser-{uuid.uuid4().hex[:8]}"
    )
    live_session.rollback()
