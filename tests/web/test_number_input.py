"""Numbers and amounts typed by people: the page's locale's way ("1.234,56" in Spanish,
"1,234.56" in English), or plainly with a decimal comma or point; what Babel formats for a
locale parses back to the same value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from marketplace.formatting import parse_decimal_input, parse_money_input, parse_percent

LOCALES = ["en", "en_US", "es", "es_ES", "es_MX"]
amounts = st.decimals(
    min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"), places=2
)


@given(st.sampled_from(LOCALES), amounts, st.booleans())
def test_a_number_babel_formats_parses_back(locale, value, grouped):
    text = format_decimal(value, locale=locale, decimal_quantization=False, group_separator=grouped)
    assert parse_decimal_input(text, locale) == value


@given(st.sampled_from(LOCALES), st.integers(min_value=0, max_value=10**12))
def test_an_amount_formatted_without_its_symbol_parses_to_its_minor_units(locale, minor):
    text = format_currency(Decimal(minor) / 100, "USD", locale=locale, format="#,##0.00",
                           currency_digits=False)  # fmt: skip
    assert parse_money_input(text, "USD", locale) == minor


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("1.234,56", "es", Decimal("1234.56")),
        ("1234,56", "es", Decimal("1234.56")),
        ("33,33", "es", Decimal("33.33")),
        ("33.33", "es", Decimal("33.33")),  # a point before two digits: the decimals
        ("1 234,56", "es", Decimal("1234.56")),
        ("1,234.56", "en", Decimal("1234.56")),
        ("12,5", "en", Decimal("12.5")),  # not a grouping: a decimal comma
        ("0.49", "en", Decimal("0.49")),
        ("abc", "es", None),
        ("1.2.3", "en", None),
        ("", "en", None),
        ("NaN", "en", None),
        ("Infinity", "es", None),
    ],
)
def test_typed_numbers(text, locale, expected):
    assert parse_decimal_input(text, locale) == expected


def test_amounts_keep_to_the_currencys_decimals():
    assert parse_money_input("12,34", "USD", "es") == 1234
    assert parse_money_input("1.234,5", "EUR", "es") == 123450
    assert parse_money_input("12,345", "USD", "en") == 1234500  # English grouping
    assert parse_money_input("12,345", "USD", "es") is None  # three decimals
    assert parse_money_input("1.500", "JPY", "es") == 1500
    assert parse_money_input("1,5", "JPY", "es") is None


def test_percent_shares_take_a_decimal_comma(app):
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert parse_percent("33,33") == 3333
        assert parse_percent("33,33 %") == 3333
        assert parse_percent("12,345") is None
        assert parse_percent("-5") is None
    with app.test_request_context():
        assert parse_percent("33.33%") == 3333
