"""Formatting money and dates for people (the edge; the core keeps integers)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from flask import g, has_request_context, request

SUPPORTED_LOCALES = ["en_US", "en_GB", "es_ES", "es", "en", "fr", "de"]


def user_locale() -> str:
    """The best locale for the current request, from Accept-Language (parsed once per
    request: a statement formats thousands of amounts); en_US outside a request."""
    if not has_request_context():  # CLI, mail
        return "en_US"
    cached = g.get("_money_locale")
    if cached is None:
        best = request.accept_languages.best_match(SUPPORTED_LOCALES)
        cached = g._money_locale = (best or "en_US").replace("-", "_")
    return cached


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """Format integer minor units with their currency, e.g. 1234 USD -> '$12.34'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("money amounts are integer minor units")
    exponent = get_currency_precision(currency)
    value = Decimal(amount).scaleb(-exponent)
    return format_currency(value, currency, locale=locale or user_locale(), currency_digits=True)
