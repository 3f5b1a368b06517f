"""Formatting money and dates for people (the edge; the core keeps integers)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from flask import request


def user_locale() -> str:
    """The best locale for the current request, from Accept-Language; en_US otherwise."""
    try:
        best = request.accept_languages.best_match(
            ["en_US", "en_GB", "es_ES", "es", "en", "fr", "de"]
        )
    except RuntimeError:  # outside a request (CLI, mail)
        best = None
    return (best or "en_US").replace("-", "_")


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """Format integer minor units with their currency, e.g. 1234 USD -> '$12.34'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("money amounts are integer minor units")
    exponent = get_currency_precision(currency)
    value = Decimal(amount).scaleb(-exponent)
    return format_currency(value, currency, locale=locale or user_locale(), currency_digits=True)
