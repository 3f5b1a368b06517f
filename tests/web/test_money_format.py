"""Money shown to people: integer minor units formatted as babel (CLDR) formats them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from marketplace import formatting
from marketplace.formatting import (
    SUPPORTED_LOCALES,
    babel_money,
    format_money,
    money_formatter,
)

# The site's locales, and others whose patterns differ: Indian grouping, Arabic and Persian
# signs and bidi marks, Swiss apostrophes, a symbol after the number, no grouping in Japanese.
LOCALES = [*SUPPORTED_LOCALES, "en_IN", "hi_IN", "ar_EG", "fa_IR", "he_IL", "de_CH", "fr_CH",
           "ja_JP", "pt_BR", "nl_NL", "sv_SE", "pl_PL"]  # fmt: skip
# Two, zero and three decimals, symbols before and after, and a code babel knows nothing of.
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "KRW", "BRL", "INR", "MXN", "CHF", "BHD", "IDR", "XYZ"]


@given(
    st.sampled_from(LOCALES),
    st.sampled_from(CURRENCIES),
    st.integers(min_value=-(10**18), max_value=10**18),
)
def test_the_fast_formatter_writes_what_babel_writes(locale, currency, amount):
    assert money_formatter(locale, currency)(amount) == babel_money(amount, currency, locale)


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        (1234, "USD", "en_US", "$12.34"),
        (-5, "USD", "en_US", "-$0.05"),
        (0, "USD", "en_US", "$0.00"),
        (123456789, "EUR", "de", "1.234.567,89\xa0€"),
        (1500, "JPY", "en_US", "¥1,500"),
        (1234567, "BHD", "en_US", "BHD1,234.567"),
        (12345678901, "INR", "en_IN", "₹12,34,56,789.01"),
    ],
)
def test_known_texts(amount, currency, locale, text):
    assert format_money(amount, currency, locale) == text
    value = Decimal(amount).scaleb(-{"JPY": 0, "BHD": 3}.get(currency, 2))
    assert text == format_currency(value, currency, locale=locale, currency_digits=True)


def test_a_locale_object_formats_as_its_name():
    assert format_money(-123456, "EUR", Locale.parse("fr")) == format_money(-123456, "EUR", "fr")


@pytest.mark.parametrize("amount", [True, 1.5, Decimal("1.00"), "100", None])
def test_only_integer_minor_units(amount):
    with pytest.raises(TypeError):
        format_money(amount, "USD", "en_US")


def test_a_pattern_the_fast_path_cannot_lay_out_is_left_to_babel(monkeypatch):
    # Grouping the body differently from babel must make every probe disagree: babel formats.
    money_formatter.cache_clear()
    real_parse = Locale.parse

    class Odd:
        def __init__(self, locale):
            self.__dict__.update(
                currency_formats=real_parse(locale).currency_formats,
                number_symbols={"latn": {"decimal": ".", "group": "_"}},
            )

    monkeypatch.setattr(formatting, "Locale", type("Locales", (), {"parse": staticmethod(Odd)}))
    try:
        formatter = money_formatter("en_US", "USD")
        assert formatter.__name__ != "fast"
        assert formatter(123456789) == "$1,234,567.89"
    finally:
        money_formatter.cache_clear()
