"""Acceptance 1: payees in the US, GB, DE, PH, KR, BR and NG go through onboarding (the web
pages and the sandbox's hosted page), file their tax forms, earn in USD and EUR, and one batch
is built, approved, executed and settled: every line ends paid, or excluded with a reason that
says what to do; the ledger has the FX and withholding lines and checks clean (check_ledger,
`flask ledger check`, bean-check of the export)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from ledger.reports.checks import check_ledger
from ledger.schema import Account, Entry, Posting
from marketplace.chart import ledger_account
from marketplace.mail import OutboxMessage
from marketplace.payouts.models import PayoutAccount, PayoutLine
from tests.payouts.support import AFTER_HOLD, deliver_events

W8 = {"legal_name": "Payee", "foreign_tin": "TIN-778899", "address": "1 High St",
      "certified": "y", "signed_name": "Payee"}  # fmt: skip
PAYEES = {
    # country: (bank accounts beyond the default currency, W-8BEN treaty (rate, article))
    "US": ((), None),
    "GB": (("eur",), ("0", "12")),
    "DE": ((), None),  # no treaty claimed: the statutory 30 %
    "PH": ((), None),
    "KR": ((), ("10", "14")),
    "BR": ((), None),
    "NG": ((), None),
}


def onboard(client, login_as, user, country, banks):
    """The payee picks their country on the Payouts page and goes through Stripe's pages."""
    login_as(user)
    started = client.post("/payouts/connect", data={"country": country})
    assert started.status_code == 302
    target = started.headers["Location"]
    if "/dev/stripe-onboarding/" not in target:  # Stripe Connect cannot reach the country
        page = client.get("/payouts/").get_data(as_text=True)
        assert "Global Payouts" in page or "Stripe documents no way" in page
        return
    path = target.removeprefix("http://localhost")
    assert client.get(path).status_code == 200
    done = client.post(path, data={"banks": list(banks)})
    assert done.headers["Location"].endswith("/payouts/return")
    client.get("/payouts/return")


def file_tax_form(client, country, treaty):
    if country == "US":
        data = {"legal_name": "Uma US", "tin_type": "SSN", "tin": "123-45-6789",
                "address": "1 Sunset Blvd", "certified": "y", "signed_name": "Uma US"}  # fmt: skip
        assert client.post("/tax/w9", data=data).status_code == 302
        return
    data = {**W8, "residence_country": country}
    if treaty:
        data.update(treaty_country=country, treaty_rate=treaty[0], treaty_article=treaty[1])
    filed = client.post("/tax/w8ben", data=data)
    assert filed.status_code == 302, filed.get_data(as_text=True)


def ledger_postings(db, kind):
    """(account purpose, currency, amount) of every posting of entries of a metadata kind."""
    rows = db.session.execute(select(Entry.meta, Posting.account_id, Posting.amount).join(
        Posting, Posting.entry_id == Entry.id)).all()  # fmt: skip
    accounts = {a.id: a for a in db.session.scalars(select(Account))}
    return [
        (accounts[account_id].purpose, accounts[account_id].currency, amount)
        for meta, account_id, amount in rows
        if (meta or {}).get("kind") == kind
    ]


def test_payees_in_seven_countries_are_paid_or_told_why(
    db, app, client, runner, login_as, gateway, emulator, earn, fund, make_participant,
    make_admin, tmp_path,
):  # fmt: skip
    admin = make_admin(email="boss@example.com")
    fund(5_000_000, "USD")
    fund(5_000_000, "EUR")
    users = {}
    for country, (banks, treaty) in PAYEES.items():
        user = make_participant(email=f"payee-{country.lower()}@example.test")
        users[country] = user
        earn(user, gross=20_000, currency="USD")
        earn(user, gross=15_000, currency="EUR")
        onboard(client, login_as, user, country, banks)
        file_tax_form(client, country, treaty)

    built = runner.invoke(args=["payouts", "build", "--as-of", AFTER_HOLD.isoformat()])
    assert built.exit_code == 0, built.output
    batch_id = json.loads(built.output)["batch"]
    assert (
        runner.invoke(args=["payouts", "approve", str(batch_id), "--by", admin.email]).exit_code
        == 0
    )
    executed = runner.invoke(args=["payouts", "execute", str(batch_id)])
    assert json.loads(executed.output)["retry_later"] == {}, executed.output
    for line in db.session.scalars(
        select(PayoutLine).where(PayoutLine.bank_payout_id.is_not(None))
    ):
        emulator.settle_payout(line.bank_payout_id, paid=True)
    assert {status for _, status, _ in deliver_events(client, emulator)} == {200}

    of_batch = select(PayoutLine).where(PayoutLine.batch_id == batch_id)
    lines = {(ln.payee[6:8].upper(), ln.currency): ln for ln in db.session.scalars(of_batch)}
    for line in lines.values():
        db.session.refresh(line)
    assert len(lines) == 14
    # Every line ends paid, or excluded with a reason that says who does what.
    for (country, currency), line in lines.items():
        assert line.status in ("paid", "excluded"), (country, currency, line.status, line.reason)
        if line.status == "excluded":
            assert "admin" in line.reason.lower(), line.reason
    paid = {key for key, line in lines.items() if line.status == "paid"}
    assert paid == {(c, cur) for c in ("US", "GB", "DE") for cur in ("USD", "EUR")}
    for country in ("KR", "BR", "NG"):
        assert "Global Payouts" in lines[country, "USD"].reason
    assert "Stripe documents no way" in lines["PH", "USD"].reason

    # What reached each bank: its own currency where the account has a bank account in it,
    # otherwise Stripe's conversion into the account's default currency.
    landed = {key: (ln.payout_currency, ln.converted) for key, ln in lines.items() if key in paid}
    assert landed == {
        ("US", "USD"): ("USD", False), ("US", "EUR"): ("USD", True),
        ("GB", "USD"): ("GBP", True), ("GB", "EUR"): ("EUR", False),
        ("DE", "USD"): ("EUR", True), ("DE", "EUR"): ("EUR", False),
    }  # fmt: skip
    assert lines["DE", "USD"].payout_amount == 12_880  # 140.00 USD after tax, at 0.92

    # Withholding: none for the certified W-9 and the UK treaty, 30 % for Germany (no claim).
    assert {key: ln.withheld for key, ln in lines.items() if key in paid} == {
        ("US", "USD"): 0, ("US", "EUR"): 0, ("GB", "USD"): 0, ("GB", "EUR"): 0,
        ("DE", "USD"): 6_000, ("DE", "EUR"): 4_500,
    }  # fmt: skip
    withheld = ledger_account(db.session, "tax_withheld", "USD", users["DE"].id)
    assert ("tax_withheld", "USD", -6_000) in ledger_postings(db, "payout")
    assert withheld.owner_id == str(users["DE"].id)

    # The FX lines: one conversion entry per converted line, balanced per currency.
    fx = ledger_postings(db, "payout_fx")
    assert len(fx) == 4 * 3
    assert ("payouts_converted", "EUR", 12_880) in fx  # DE: 14,000 USD -> 128.80 EUR

    # Mail: the excluded payees were told what to do, once each.
    told = db.session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "action.required")
    ).all()
    assert sorted(told) == sorted(
        f"payee-{c.lower()}@example.test" for c in ("PH", "KR", "BR", "NG")
    )

    assert check_ledger(db.session) == []
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    export = tmp_path / "ledger.beancount"
    exported = runner.invoke(args=["ledger", "export", "--format", "beancount", "-o", str(export)])
    assert exported.exit_code == 0, exported.output
    bean_check = Path(sys.executable).with_name("bean-check")
    checked = subprocess.run([bean_check, export], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    accounts = {a.country: a for a in db.session.scalars(select(PayoutAccount))}
    assert {c for c, a in accounts.items() if a.stripe_account_id} == {"US", "GB", "DE"}
