"""Action-required banners follow the payee's state (money and no payout account, no tax form,
invitations waiting), and Payouts says when the next run is and the minimum it pays."""

from __future__ import annotations

from datetime import timedelta

from marketplace.clock import utcnow
from marketplace.payouts.models import PayoutAccount
from tests.statements.conftest import T0


def _banners(client, path: str) -> list[str]:
    text = client.get(path).get_data(as_text=True)
    return [key for key in ("payout_account", "tax_profile", "invitation", "payout_incomplete",
                            "country_not_payable") if f'data-action="{key}"' in text]  # fmt: skip


def test_money_without_a_payout_account_or_tax_form_asks_for_both(db, client, login_as, world):
    login_as(world.participant)
    assert _banners(client, "/earnings/") == []  # nothing earned yet: nothing to ask
    world.unlock(T0 + timedelta(hours=1), gross=1999)
    for path in ("/earnings/", "/payouts/"):
        assert _banners(client, path) == ["payout_account", "tax_profile"], path
    page = client.get("/earnings/").get_data(as_text=True)
    assert "You have $6.29 and no payout account" in page

    account = PayoutAccount(
        user_id=world.participant.id, country="US", stripe_account_id="acct_test_1"
    )
    db.session.add(account)
    db.session.flush()
    assert _banners(client, "/earnings/") == ["tax_profile", "payout_incomplete"]
    text = client.get("/payouts/").get_data(as_text=True)
    assert 'data-action="payout_incomplete"' in text and 'data-action="payout_account"' not in text


def test_an_invitation_waiting_is_announced_with_its_link(
    db, client, login_as, world, make_participant
):
    invited = make_participant(email="invited@example.test")
    world.escrow.invitation_nonce = "abc123"
    world.escrow.invitation_expires_at = utcnow() + timedelta(days=10)
    db.session.flush()
    login_as(invited)
    text = client.get("/earnings/").get_data(as_text=True)
    assert 'data-action="invitation"' in text
    assert "You are invited to Night Shift as actor" in text and "/studio/invitations/" in text


def test_payouts_show_the_next_run_and_the_minimum(db, client, login_as, world, app):
    app.config["PAYOUT_SCHEDULE"] = "0 6 * * mon"
    login_as(world.participant)
    text = client.get("/payouts/").get_data(as_text=True)
    assert "The next payout run is on <strong>" in text and " UTC</strong>" in text
    assert "at least <strong>$10.00</strong>" in text


def test_admins_get_no_payee_banners(db, client, login_as, world):
    login_as(world.admin)
    assert 'class="alerts"' not in client.get("/admin/").get_data(as_text=True)
