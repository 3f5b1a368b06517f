"""Money: integer minor units, one currency, no floats."""

from decimal import Decimal

import pytest

from ledger.errors import CurrencyMismatch
from ledger.money import Money, minor_unit_exponent


def test_minor_unit_exponents_come_from_babel():
    assert [minor_unit_exponent(c) for c in ("JPY", "USD", "KWD")] == [0, 2, 3]


def test_money_adds_and_subtracts_within_one_currency():
    assert Money(150, "USD") + Money(50, "USD") - Money(25, "USD") == Money(175, "USD")
    assert -Money(5, "JPY") == Money(-5, "JPY")
    assert Money(1, "USD") < Money(2, "USD")


def test_money_refuses_to_mix_currencies():
    with pytest.raises(CurrencyMismatch):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(CurrencyMismatch):
        assert Money(1, "USD") < Money(2, "EUR")


@pytest.mark.parametrize("amount", [1.5, 1.0, Decimal("1"), True, "1"])
def test_money_refuses_anything_but_int(amount):
    with pytest.raises(TypeError):
        Money(amount, "USD")


def test_money_refuses_a_bad_currency_code():
    for code in ("usd", "US", "USDX", "U$D"):
        with pytest.raises(ValueError, match="ISO 4217"):
            Money(1, code)


def test_money_is_frozen():
    money = Money(1, "USD")
    with pytest.raises(AttributeError):
        money.amount = 2


def test_decimal_conversion_is_exact_per_currency():
    assert Money.from_decimal("12.34", "USD") == Money(1234, "USD")
    assert Money.from_decimal("1234", "JPY") == Money(1234, "JPY")
    assert Money.from_decimal(Decimal("1.234"), "KWD") == Money(1234, "KWD")
    assert Money(1234, "KWD").to_decimal() == Decimal("1.234")
    assert str(Money(-5, "USD")) == "-0.05 USD"
    with pytest.raises(ValueError, match="finer"):
        Money.from_decimal("0.001", "USD")
    with pytest.raises(TypeError):
        Money.from_decimal(0.5, "USD")
