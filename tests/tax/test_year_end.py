"""Acceptance 4 (year-end): `flask tax year-end 2026 -o DIR` after a year of payouts writes
the 1099-MISC and 1042-S rows and every payee's summary; the files' totals equal the ledger to
the minor unit, the TIN is in clear in the form files only, and payees download the same
summary from their Payouts page."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

from pypdf import PdfReader
from sqlalchemy import select

from ledger.schema import Account, Entry, Posting
from marketplace.payouts.models import PayoutLine
from tests.payouts import conftest as payout_fixtures
from tests.payouts.support import AFTER_HOLD, deliver_events

emulator = payout_fixtures.emulator
gateway = payout_fixtures.gateway
earn = payout_fixtures.earn
connect = payout_fixtures.connect
fund = payout_fixtures.fund
tax_profile = payout_fixtures.tax_profile


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ledger_totals(db):
    """Independently of the tax code: per currency, the 2026 payout movements of every member
    earnings account and the 2026 postings of every tax-withheld account."""
    rows = db.session.execute(
        select(Account.purpose, Account.currency, Posting.amount, Entry.meta, Entry.effective_at)
        .join(Posting, Posting.account_id == Account.id)
        .join(Entry, Entry.id == Posting.entry_id)
    ).all()
    paid, withheld = defaultdict(int), defaultdict(int)
    for purpose, currency, amount, meta, effective_at in rows:
        if effective_at.year != 2026:
            continue
        kind = (meta or {}).get("kind")
        undone = kind == "reversal" and meta.get("reverses_kind") == "payout"
        is_payout = kind == "payout" or undone
        if purpose == "earnings" and is_payout:
            paid[currency] += amount
        if purpose == "tax_withheld":
            withheld[currency] -= amount
    return dict(paid), dict(withheld)


def test_the_year_end_files_equal_the_ledger(
    db, app, client, runner, login_as, gateway, emulator, earn, connect, fund, tax_profile,
    make_participant, make_admin, tmp_path,
):  # fmt: skip
    admin = make_admin(email="boss@example.com")
    fund(5_000_000, "USD")
    fund(5_000_000, "EUR")
    big, small, de, gb = (make_participant(email=f"{n}@example.test")
                          for n in ("big", "small", "de", "gb"))  # fmt: skip
    earn(big, gross=100_000)
    earn(small, gross=20_000)
    earn(de, gross=50_000)
    earn(de, gross=30_000, currency="EUR")
    earn(gb, gross=40_000)
    connect(big)
    connect(small)
    connect(de, country="DE", tax=False)
    tax_profile(de, form="W-8BEN", residence="DE")
    connect(gb, country="GB", tax=False)
    tax_profile(gb, form="W-8BEN", residence="GB", treaty_rate_bps=0)

    batch = json.loads(runner.invoke(
        args=["payouts", "build", "--as-of", AFTER_HOLD.isoformat()]).output)["batch"]  # fmt: skip
    runner.invoke(args=["payouts", "approve", str(batch), "--by", admin.email])
    runner.invoke(args=["payouts", "execute", str(batch)])
    for line in db.session.scalars(select(PayoutLine)):
        emulator.settle_payout(line.bank_payout_id, paid=True)
    deliver_events(client, emulator)
    fresh = select(PayoutLine).execution_options(populate_existing=True)
    assert {ln.status for ln in db.session.scalars(fresh)} == {"paid"}

    out = tmp_path / "2026"
    result = runner.invoke(args=["tax", "year-end", "2026", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["1099-MISC"] == 1

    forms_1099 = read_csv(out / "1099-MISC.csv")
    assert [(r["user_id"], r["recipient_tin"], r["box_2_royalties"],
             r["box_4_federal_income_tax_withheld"], r["currency"]) for r in forms_1099] == [
        (str(big.id), "123456789", "100000", "0", "USD")]  # fmt: skip
    forms_1042 = {(r["user_id"], r["currency"]): r for r in read_csv(out / "1042-S.csv")}
    de_usd = forms_1042[str(de.id), "USD"]
    assert (de_usd["box_1_income_code"], de_usd["box_2_gross_income"],
            de_usd["box_3a_exemption_code"], de_usd["box_3b_tax_rate"],
            de_usd["box_7a_federal_tax_withheld"], de_usd["box_13b_recipient_country_code"],
            de_usd["box_13i_recipient_foreign_tin"]) == (
        "11", "50000", "00", "30.00", "15000", "DE", "FTIN-12345")  # fmt: skip
    assert forms_1042[str(de.id), "EUR"]["box_7a_federal_tax_withheld"] == "9000"
    gb_usd = forms_1042[str(gb.id), "USD"]
    assert (gb_usd["box_3a_exemption_code"], gb_usd["box_3b_tax_rate"]) == ("04", "00.00")

    summary = read_csv(out / "summary.csv")
    reported = {(r["user_id"], r["currency"]): r["reported_on"] for r in summary}
    assert reported[str(small.id), "USD"] == "below threshold"
    paid, withheld = defaultdict(int), defaultdict(int)
    for row in summary:
        paid[row["currency"]] += int(row["paid"])
        withheld[row["currency"]] += int(row["withheld"])
    assert (dict(paid), dict(withheld)) == ledger_totals(db)
    assert dict(paid) == {"USD": 210_000, "EUR": 30_000}
    # Every form row is its summary row, to the minor unit.
    for row in forms_1099:
        assert int(row["box_2_royalties"]) == next(
            int(s["paid"]) for s in summary
            if (s["user_id"], s["currency"]) == (row["user_id"], row["currency"]))  # fmt: skip
    # The TIN is in the form files only.
    assert "123456789" not in (out / "summary.csv").read_text()
    pdf = PdfReader(out / "summaries" / f"{de.id}.pdf")
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "USD 500.00" in text and "USD 150.00" in text and "USD 350.00" in text
    assert "EUR 90.00" in text and "ending 2345" in text and "FTIN-12345" not in text
    assert "Converted by Stripe" in text  # its USD landed as EUR (no USD bank account)

    login_as(de)
    payouts_page = client.get("/payouts/").get_data(as_text=True)
    assert "2026 annual summary" in payouts_page
    assert "$150.00 US tax withheld (30%) of $500.00" in payouts_page
    statement = client.get("/earnings/statement?month=2026-10&currency=USD")
    assert "of which US tax withheld $150.00" in statement.get_data(as_text=True)
    csv_text = client.get("/earnings/statement.csv?month=2026-10&currency=USD").get_data(
        as_text=True
    )
    assert "of which US tax withheld $150.00" in csv_text
    download = client.get("/payouts/annual-summary/2026.pdf")
    assert download.mimetype == "application/pdf"
    mine = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(download.data)).pages)
    assert "USD 350.00" in mine
