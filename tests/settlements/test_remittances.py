"""Remittances: applied oldest first or to the named statement, partial and over-payments,
another currency at the rate received, and every bad input refused with nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from ledger.schema import Entry
from marketplace.chart import ledger_account
from marketplace.errors import NotFound, ServiceError
from marketplace.settlements.models import Remittance
from marketplace.settlements.payments import credit_of, record_remittance
from marketplace.settlements.statements import close_period
from tests.settlements.conftest import T0

SEP, OCT, NOV = T0, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def receivable(db, world) -> int:
    account = ledger_account(db.session, "partner_receivable", "USD", world.partner.id)
    return get_balance(db.session, account.id).posted


def two_closed_months(db, world):
    for day in range(3, 13):
        world.unlock(SEP + timedelta(days=day), amount=100)
    world.unlock(OCT + timedelta(days=2), amount=500)
    sep, _ = close_period(db.session, world.partner, SEP, now=OCT + timedelta(days=4))
    oct_, _ = close_period(db.session, world.partner, OCT, now=NOV + timedelta(days=4))
    return sep, oct_


def test_partial_payment_oldest_first_then_named_then_credit(db, make_world):
    world = make_world()
    sep, oct_ = two_closed_months(db, world)
    assert (sep.amount_owed, oct_.amount_owed) == (700, 350)
    record_remittance(db.session, world.partner, amount=500, currency="USD", reference="B1")
    assert (sep.paid, oct_.paid) == (500, 0)  # oldest first; the rest stays open
    record_remittance(
        db.session, world.partner, amount=300, currency="USD", reference="B2",
        settlement_id=oct_.id,
    )  # fmt: skip
    assert (sep.paid, oct_.paid) == (500, 300)
    record_remittance(db.session, world.partner, amount=400, currency="USD", reference="B3")
    assert (sep.paid, oct_.paid) == (700, 350)
    assert credit_of(db.session, world.partner.id) == 150
    # The credit pays the next statement at its close.
    world.unlock(NOV + timedelta(days=1), amount=100)
    nov, _ = close_period(db.session, world.partner, NOV, now=NOV + timedelta(days=34))
    assert (nov.amount_owed, nov.paid) == (70, 70)
    assert credit_of(db.session, world.partner.id) == 80
    # Receivable = owed - remitted, exactly.
    assert receivable(db, world) == 700 + 350 + 70 - 1200
    assert check_ledger(db.session) == []


def test_a_remittance_in_another_currency_needs_the_rate(db, make_world):
    world = make_world()
    sep, _ = two_closed_months(db, world)
    with pytest.raises(ServiceError, match="needs the rate received") as refused:
        record_remittance(db.session, world.partner, amount=600, currency="EUR", reference="E1")
    assert refused.value.code == "wrong_currency"
    paid = record_remittance(
        db.session, world.partner, amount=600, currency="EUR", reference="E1", rate="1.1"
    )
    assert paid.settled == 660 and sep.paid == 660
    assert receivable(db, world) == 700 + 350 - 660
    fx_eur = ledger_account(db.session, "fx_gain_loss", "EUR")
    fx_usd = ledger_account(db.session, "fx_gain_loss", "USD")
    assert get_balance(db.session, fx_eur.id).posted == 600
    assert get_balance(db.session, fx_usd.id).posted == -660
    cash = ledger_account(db.session, "stripe_balance", "EUR")
    assert get_balance(db.session, cash.id).posted == 600
    assert check_ledger(db.session) == []


@pytest.mark.parametrize(
    ("kwargs", "field", "error"),
    [
        ({"amount": -100}, "amount", ServiceError),
        ({"amount": 0}, "amount", ServiceError),
        ({"currency": "GBP"}, "currency", ServiceError),
        ({"rate": "1.2"}, "rate", ServiceError),
        ({"currency": "GBP", "rate": "-1"}, "rate", ServiceError),
        ({"settlement_id": 999_999}, "settlement", NotFound),
        ({"reference": " "}, "reference", ServiceError),
    ],
)
def test_bad_remittances_change_nothing(db, make_world, kwargs, field, error):
    world = make_world()
    sep, _ = two_closed_months(db, world)
    before = (receivable(db, world), db.session.scalar(select(func.count(Entry.id))))
    given = {"amount": 100, "currency": "USD", "reference": "X1"} | kwargs
    with pytest.raises(error) as refused:
        record_remittance(db.session, world.partner, **given)
    assert refused.value.field == field and refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(Remittance.id))) == 0
    assert (receivable(db, world), db.session.scalar(select(func.count(Entry.id)))) == before
    assert sep.paid == 0


def test_another_partners_settlement_is_refused(db, make_world):
    world, other = make_world(), make_world()
    sep, _ = two_closed_months(db, world)
    with pytest.raises(ServiceError, match="belongs to another partner app") as refused:
        record_remittance(
            db.session, other.partner, amount=100, currency="USD", reference="Z",
            settlement_id=sep.id,
        )  # fmt: skip
    assert refused.value.code == "other_partner"
    assert db.session.scalar(select(func.count(Remittance.id))) == 0


def test_cli_remit(db, make_world, runner):
    world = make_world()
    sep, _ = two_closed_months(db, world)
    db.session.commit()
    base = ["settlements", "remit", "--partner", world.partner.name, "--currency", "USD"]
    ok = runner.invoke(args=[*base, "--amount", "1.50", "--reference", "CLI1"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["settled"] == 150
    for amount, why in (("-1", "more than zero"), ("0", "more than zero"), ("1.234", "decimals")):
        bad = runner.invoke(args=[*base, "--amount", amount, "--reference", "CLI2"])
        assert bad.exit_code != 0 and why in bad.output
    other = runner.invoke(args=[*base, "--amount", "1", "--reference", "C3", "--settlement", "0"])
    assert other.exit_code != 0 and "No settlement statement 0" in other.output
    assert sep.paid == 150


def test_a_statement_whose_refunds_exceed_its_gross_is_netted_as_a_credit(db, make_world):
    """October refunds a large September unlock: October owes a negative amount, which pays
    September's open statement; the rest is the app's credit and pays November at its
    close. Nothing is owed twice, and the receivable still equals owed - remitted."""
    world = make_world()
    big = world.unlock(SEP + timedelta(days=3), amount=10_000)
    world.unlock(SEP + timedelta(days=4), amount=2_000)
    sep, _ = close_period(db.session, world.partner, SEP, now=OCT + timedelta(days=4))
    record_remittance(
        db.session, world.partner, amount=sep.amount_owed - 1_000, currency="USD",
        reference="sep-part", now=OCT + timedelta(days=5),
    )  # fmt: skip
    world.refund(big["event_id"], OCT + timedelta(days=2))
    world.unlock(OCT + timedelta(days=3), amount=500)
    oct_, _ = close_period(db.session, world.partner, OCT, now=NOV + timedelta(days=4))
    assert oct_.gross == 500 - 10_000 and oct_.amount_owed < 0
    # September's last 1,000 is paid by October's credit; the rest is credit.
    assert (sep.paid, sep.outstanding) == (sep.amount_owed, 0)
    left = -oct_.amount_owed - 1_000
    assert credit_of(db.session, world.partner.id) == left > 0
    world.unlock(NOV + timedelta(days=1), amount=30_000)
    nov, _ = close_period(db.session, world.partner, NOV, now=NOV + timedelta(days=34))
    assert nov.paid == left and credit_of(db.session, world.partner.id) == 0
    record_remittance(db.session, world.partner, amount=nov.outstanding, currency="USD",
                      reference="nov", now=NOV + timedelta(days=35))  # fmt: skip
    owed = sep.amount_owed + oct_.amount_owed + nov.amount_owed
    remitted = db.session.scalar(select(func.sum(Remittance.settled)))
    assert receivable(db, world) == owed - remitted == 0
    assert check_ledger(db.session) == []
