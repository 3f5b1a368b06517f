"""Acceptance 1: unlocks -> hold passes -> batch built, approved, executed through StripeClient
and the emulator -> signed webhooks -> the participant's history shows the payout paid."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from ledger.reports.statements import statement
from marketplace.chart import ledger_account
from marketplace.mail import OutboxMessage
from marketplace.payouts.models import PayoutAccount, PayoutLine
from tests.payouts.support import AFTER_HOLD, T0, deliver_events


def test_unlock_to_paid_payout(
    db, app, client, runner, login_as, gateway, emulator, earn, fund, make_participant, make_admin
):
    actor = make_participant(email="actor@example.test")
    member = earn(actor, gross=12_345)
    admin = make_admin(email="boss@example.com")
    fund()
    earnings = ledger_account(db.session, "member_earnings", "USD", member.id)
    assert get_balance(db.session, earnings.id, now=T0 + timedelta(days=1)).available == 0

    # The participant connects a Stripe Express account through the web pages.
    login_as(actor)
    page = client.get("/payouts/")
    assert b"Stripe sandbox (emulated)" in page.data
    started = client.post("/payouts/connect")
    assert started.status_code == 302
    onboarding = started.headers["Location"]
    assert onboarding.startswith("http://localhost/payouts/dev/stripe-onboarding/acct_")
    page = client.get(onboarding.removeprefix("http://localhost"))
    assert b"Finish onboarding" in page.data
    back = client.post(onboarding.removeprefix("http://localhost"), data={})
    assert back.status_code == 302 and back.headers["Location"].endswith("/payouts/return")
    client.get("/payouts/return")
    account = db.session.scalars(
        select(PayoutAccount).where(PayoutAccount.user_id == actor.id)
    ).one()
    assert account.payouts_enabled and account.details_submitted
    assert (account.country, account.default_currency, account.bank_currencies) == (
        "US", "usd", ["usd"]
    )

    # Before a first payout: a W-9 (certified, so nothing is withheld).
    filed = client.post("/tax/w9", data={
        "legal_name": "Ada Actor", "tin_type": "SSN", "tin": "123-45-6789",
        "address": "1 Sunset Blvd\nLos Angeles CA", "certified": "y", "signed_name": "Ada Actor",
    })
    assert filed.status_code == 302, filed.data

    # The hold passes; the batch is built, approved and executed from the CLI.
    built = runner.invoke(args=["payouts", "build", "--as-of", AFTER_HOLD.isoformat()])
    assert built.exit_code == 0, built.output
    batch_id = json.loads(built.output)["batch"]
    shown = json.loads(
        runner.invoke(args=["payouts", "show", str(batch_id), "--format", "json"]).output
    )
    [line] = [ln for ln in shown["lines"] if ln["user_id"] == actor.id]
    assert (line["amount"], line["status"], line["flags"]) == (12_345, "proposed", ["first_payout"])
    assert shown["totals"] == {"USD": 12_345}
    assert get_balance(db.session, earnings.id, now=AFTER_HOLD).available == 0  # reserved

    approved = runner.invoke(args=["payouts", "approve", str(batch_id), "--by", admin.email])
    assert approved.exit_code == 0, approved.output
    executed = runner.invoke(args=["payouts", "execute", str(batch_id)])
    assert executed.exit_code == 0, executed.output
    report = json.loads(executed.output)
    assert report["sent"] == [line["id"]] and report["retry_later"] == {}

    row = db.session.get(PayoutLine, line["id"])
    assert row.status == "sent" and row.transfer_id.startswith("tr_") and row.bank_payout_id
    transfers = gateway.client.v1.transfers.list({"destination": account.stripe_account_id})
    assert [t.amount for t in transfers.data] == [12_345]

    # The bank pays; Stripe's signed webhooks arrive; the line is paid.
    emulator.settle_payout(row.bank_payout_id, paid=True)
    responses = deliver_events(client, emulator)
    assert {status for _, status, _ in responses} == {200}
    assert ("payout.paid", 200, {"received": True, "outcome": "handled"}) in responses
    db.session.refresh(row)
    assert row.status == "paid"

    history = client.get("/payouts/")
    assert b"paid" in history.data and b"$123.45" in history.data
    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "payout.paid")
    ).all()
    assert [m.to_address for m in mail] == ["actor@example.test"]

    # The statement of the member's earnings shows the payout; the ledger checks clean.
    st = statement(db.session, earnings.id, T0 - timedelta(days=1), AFTER_HOLD + timedelta(1))
    assert st.total("earning") == 12_345 and st.total("payout") == -12_345 and st.closing == 0
    assert check_ledger(db.session) == []
    checked = runner.invoke(args=["ledger", "check"])
    assert checked.exit_code == 0, checked.output


def test_the_cli_refuses_a_batch_as_of_the_future(db, runner):
    # Money available only then is still on hold now: a refund may yet take it back.
    built = runner.invoke(args=["payouts", "build", "--as-of", "2999-01-01T00:00:00+00:00"])
    assert built.exit_code == 1
    assert "--as-of: as_of must not be in the future" in built.output
