"""Formatting money and dates for people (the edge; the core keeps integers), and CSV cells
for spreadsheets.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@` (and
some a tab or carriage return before one) as a formula, so a series title or partner name like
`=HYPERLINK(...)` would run in a participant's spreadsheet. OWASP's rule: prefix such a cell with
a single quote, which spreadsheets show as text. Integers are written as they are, so negative
amounts stay numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    parse_decimal,
)
from flask import g, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

SUPPORTED_LOCALES = ["en_US", "en_GB", "es_ES", "es", "en", "fr", "de"]
"""Locales money may be formatted in; the page's language picks among its own regions."""

LANGUAGES = {"en": "English", "es": "Español"}
"""The languages the site speaks (code: the language's own name); translations/<code>/."""
DEFAULT_LANGUAGE = "en"


def select_language() -> str:
    """Flask-Babel's locale selector: the signed-in person's language setting, else the
    browser's Accept-Language best match among LANGUAGES, else English."""
    if not has_request_context():  # CLI, scheduler, mail sent outside a request
        return DEFAULT_LANGUAGE
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def select_time_zone() -> str:
    """Flask-Babel's time zone selector: the signed-in person's time zone (users.time_zone)."""
    return reader_time_zone().key


def user_locale() -> str:
    """The locale numbers and money are formatted in: the page's language, refined by the
    browser's region when it speaks the same language (es_ES, en_GB); parsed once per request
    (a statement formats thousands of amounts); en_US outside a request."""
    if not has_request_context():  # CLI, mail
        return "en_US"
    cached = g.get("_money_locale")
    if cached is None:
        language = str(get_locale() or DEFAULT_LANGUAGE)
        best = request.accept_languages.best_match(SUPPORTED_LOCALES)
        best = (best or "").replace("-", "_")
        cached = best if best.split("_")[0] == language else language
        g._money_locale = cached
    return cached


def format_money(amount: int, currency: str, locale: Locale | str | None = None) -> str:
    """Format integer minor units with their currency, e.g. 1234 USD -> '$12.34'.

    The text is babel's `format_currency` (CLDR patterns); `money_formatter` gives the same
    text several times faster, which a statement of a few hundred amounts needs."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("money amounts are integer minor units")
    return money_formatter(str(locale or user_locale()), currency)(amount)


def babel_money(amount: int, currency: str, locale: Locale | str) -> str:
    """babel's formatting of integer minor units: the reference `money_formatter` matches."""
    value = Decimal(amount).scaleb(-get_currency_precision(currency))
    return format_currency(value, currency, locale=locale, currency_digits=True)


# Amounts each formatter is checked against babel with before it is used: zero, one minor unit,
# every count of integer digits up to 16 (each grouping boundary of every CLDR pattern), both
# signs. A formatter that differs on any of them is not used: babel formats that pair instead.
_PROBES = tuple(
    sign * magnitude
    for magnitude in (0, 1, 7, 42, *(int("9876543210987654"[:n]) * 100 + 5 for n in range(1, 17)))
    for sign in (1, -1)
)


@lru_cache(maxsize=256)
def money_formatter(locale: str, currency: str):
    """A function formatting integer minor units of `currency` for `locale` exactly as
    `babel_money` does, without its per-call Decimal quantisation and pattern work.

    The number's body (grouping, decimal symbol, digits) is laid out from the locale's currency
    pattern and symbols; the text around it (sign, currency symbol, spacing, bidi marks) is
    taken from babel's own output for one amount of each sign. The result is then compared with
    babel on `_PROBES`; if anything differs, babel itself is returned."""
    try:
        parsed = Locale.parse(locale)
        pattern = parsed.currency_formats["standard"]
        symbols = parsed.number_symbols.get("latn", parsed.number_symbols)
        decimal_symbol, group_symbol = symbols["decimal"], symbols["group"]
        primary, secondary = pattern.grouping
    except (KeyError, AttributeError, TypeError, ValueError):
        return lambda amount: babel_money(amount, currency, locale)
    digits = get_currency_precision(currency)
    scale = 10**digits

    def body(amount: int) -> str:
        units, minor = divmod(abs(amount), scale)
        text = str(units)
        if len(text) > primary:
            groups = [text[-primary:]]
            text = text[:-primary]
            while len(text) > secondary:
                groups.append(text[-secondary:])
                text = text[:-secondary]
            groups.append(text)
            text = group_symbol.join(reversed(groups))
        return f"{text}{decimal_symbol}{minor:0{digits}d}" if digits else text

    affixes = []
    for probe in (1, -1):
        reference, number = babel_money(probe, currency, locale), body(probe)
        if reference.count(number) != 1:
            return lambda amount: babel_money(amount, currency, locale)
        before, _, after = reference.partition(number)
        affixes.append((before, after))
    (plus_before, plus_after), (minus_before, minus_after) = affixes

    def fast(amount: int) -> str:
        if amount < 0:
            return f"{minus_before}{body(amount)}{minus_after}"
        return f"{plus_before}{body(amount)}{plus_after}"

    if any(fast(probe) != babel_money(probe, currency, locale) for probe in _PROBES):
        return lambda amount: babel_money(amount, currency, locale)
    return fast


def reader_time_zone() -> ZoneInfo:
    """The signed-in person's time zone (users.time_zone); UTC for everyone else."""
    name = "UTC"
    if has_request_context():
        name = getattr(current_user, "time_zone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: datetime | None, seconds: bool = False) -> str:
    """An aware UTC time as the reader's local time with its zone's abbreviation:
    "2026-03-01 21:30 PST" (Asia/Manila's abbreviation), "2026-03-01 13:30 UTC"."""
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(reader_time_zone())
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname()}"


def localdate(value: datetime | date | None) -> str:
    """The reader's local calendar day of an aware time (a plain date is shown as it is)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(reader_time_zone()).date().isoformat()
    return value.isoformat()


SPACES = str.maketrans("", "", " \u00a0\u202f")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def parse_decimal_input(text: str | None, locale: Locale | str | None = None) -> Decimal | None:
    """A number typed by a person, as the page's locale writes it ("1.234,56" in Spanish,
    "1,234.56" in English), or plainly with either mark before the decimals ("1234,56",
    "33.33"); None when it is not a finite number."""
    raw = (text or "").strip().translate(SPACES)
    if not raw or len(raw) > 40:
        return None
    try:
        value = parse_decimal(raw, locale=str(locale or user_locale()), strict=True)
    except (NumberFormatError, ValueError):
        if not PLAIN_NUMBER.fullmatch(raw):
            return None
        value = Decimal(raw.replace(",", "."))
    return value if value.is_finite() else None


def parse_money_input(
    text: str | None, currency: str, locale: Locale | str | None = None
) -> int | None:
    """An amount typed by a person in major units ("1.234,56" in Spanish) as integer minor
    units of `currency`; None when it is not a number or has more decimals than the currency."""
    value = parse_decimal_input(text, locale)
    if value is None:
        return None
    minor = value.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value():
        return None
    return int(minor)


def percent(bps: int) -> str:
    """Basis points as a percentage for people: 9999 -> "99.99%", 10000 -> "100%"."""
    return f"{Decimal(bps) / 100:f}%"


def percent_field(bps: int) -> str:
    """Basis points as a form's percent value: 5000 -> "50", 3333 -> "33.33"."""
    return f"{Decimal(bps) / 100:f}"


def parse_percent(text: str | None) -> int | None:
    """A percentage typed by a person ("33.33", "33,33", "50 %") as basis points; None when it
    is not a number from 0 with at most two decimals."""
    value = parse_decimal_input((text or "").strip().rstrip("%"))
    if value is None or value < 0:
        return None
    bps = value * 100
    if bps != bps.to_integral_value():
        return None
    return int(bps)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a cell must not start with (OWASP CSV injection)."""


def safe_cell(value: Any) -> Any:
    """A cell as a spreadsheet should read it: text starting with a formula character gets a
    leading `'`; integers (amounts, counts) and everything else are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCSVWriter:
    """csv.writer whose every text cell goes through safe_cell."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, escaping formula-leading text cells."""
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write every row, escaping formula-leading text cells."""
        for row in rows:
            self.writerow(row)
