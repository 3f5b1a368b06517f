"""axe-core finds no serious or critical violation on the main pages of each role.

The signed-in pages are those of the README's tour, on the demo data (`flask demo load`):
a creator (maya), a participant (writer) and the admin, with their real series, money and
payout batch."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.demo.loader import DEMO_PASSWORD
from marketplace.payouts.models import PayoutBatch
from marketplace.studio.models import Series
from tests.browser.accessibility import serious_violations
from tests.browser.support import log_in

PUBLIC_PAGES = ["/", "/auth/login", "/auth/signup", "/no-such-page", "/api/v1/docs"]

CREATOR, PARTICIPANT, ADMIN = "maya@example.com", "writer@example.com", "admin@example.com"
SIGNED_IN_PAGES = [
    (CREATOR, "/studio/"),
    (CREATOR, "/studio/series/{series}"),
    (CREATOR, "/studio/series/{series}/split"),
    (CREATOR, "/studio/series/{series}/dashboard"),
    (PARTICIPANT, "/earnings/"),
    (PARTICIPANT, "/earnings/statement"),
    (PARTICIPANT, "/payouts/"),
    (ADMIN, "/admin/"),
    (ADMIN, "/admin/payouts"),
    (ADMIN, "/admin/payouts/{batch}"),
    (ADMIN, "/admin/partners"),
    (ADMIN, "/admin/outbox"),
    (ADMIN, "/admin/users"),
    (ADMIN, "/admin/ledger"),
    (ADMIN, "/admin/audit"),
    (ADMIN, "/admin/reconciliation/"),
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_no_serious_violations(page, path):
    page.goto(path)
    assert serious_violations(page) == []


@pytest.fixture(scope="module")
def demo_ids(demo, live_app):
    """Ids in the demo data: maya's first series, the paid payout batch."""
    from marketplace.extensions import db

    with live_app.app_context():
        maya = db.session.scalar(select(User).where(User.email == CREATOR))
        ids = {
            "series": db.session.scalar(
                select(Series.id).where(Series.owner_id == maya.id).order_by(Series.id).limit(1)
            ),
            "batch": db.session.scalar(select(PayoutBatch.id).order_by(PayoutBatch.id).limit(1)),
        }
        db.session.remove()
    return ids


@pytest.fixture(scope="module")
def signed_in_states(browser, live_server):
    """Log each demo account in once; later pages reuse its cookies."""
    states: dict[str, dict] = {}

    def state_of(email: str) -> dict:
        if email not in states:
            context = browser.new_context(base_url=live_server)
            log_in(context.new_page(), email, DEMO_PASSWORD)
            states[email] = context.storage_state()
            context.close()
        return states[email]

    return state_of


@pytest.mark.parametrize(("email", "path"), SIGNED_IN_PAGES)
def test_signed_in_pages_have_no_serious_violations(
    browser, live_server, demo_ids, signed_in_states, email, path
):
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": 412, "height": 915},
        storage_state=signed_in_states(email),
    )
    try:
        page = context.new_page()
        response = page.goto(path.format(**demo_ids))
        assert response.status == 200, path
        assert serious_violations(page) == []
    finally:
        context.close()
