"""The studio's input rules, as pure functions returning every problem found.

Each checker returns a list of (field, message) problems instead of stopping at the first, so
the bulk import can report everything at once; single-object services raise them together as
one ValidationFailed.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import DecimalException
from typing import Any
from urllib.parse import urlsplit

from babel.numbers import get_currency_precision, list_currencies

from marketplace.errors import Problem, ServiceError, is_int
from marketplace.formatting import parse_decimal_input

LANGUAGE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
# Upper bounds keep numbers inside their columns (and sensible), so a form lists the problem
# instead of the database refusing the row with a 500.
MAX_PRICE_MINOR = 2**63 - 1  # Series.episode_price and bundle_price are BIGINT
MAX_FREE_EPISODES = 10_000
MAX_DURATION_SECONDS = 86_400  # one day; Episode.duration_seconds is INTEGER
# A price as people type it with a decimal point: "0.49", "1000.00" or "1,000.00" (commas
# only as thousands separators). A decimal comma ("0,49") is refused rather than guessed at.
# [0-9], not \d: Decimal would also take other scripts' digits, "1_000", "1e3" and "NaN".
# A leading minus is read so that pricing_problems answers "must be more than zero".


def series_problems(
    *, title: Any, language: Any, synopsis: Any = "", genres: Any = (), tags: Any = ()
) -> list[Problem]:
    """Problems with a series' descriptive fields."""
    problems: list[Problem] = []
    if not isinstance(title, str) or not title.strip():
        problems.append(("title", "Give the series a title."))
    elif len(title.strip()) > 200:
        problems.append(("title", "Keep the title under 200 characters."))
    if (
        not isinstance(language, str)
        or not 2 <= len(language) <= 20
        or not set(language) <= LANGUAGE_CHARS
        or not language[:2].isalpha()
    ):
        problems.append(("language", "Use a language code such as en, es or pt-BR."))
    if not isinstance(synopsis, str):
        problems.append(("synopsis", "The synopsis must be text."))
    for name, values in (("genres", genres), ("tags", tags)):
        if not isinstance(values, list | tuple) or not all(
            isinstance(v, str) and 0 < len(v) <= 40 for v in values
        ):
            problems.append((name, f"List {name} as short words (at most 40 characters each)."))
    return problems


def clean_words(values: Iterable[str]) -> list[str]:
    """Trimmed, non-empty, de-duplicated words in their given order."""
    seen: dict[str, None] = {}
    for value in values:
        word = value.strip()
        if word and word.lower() not in {s.lower() for s in seen}:
            seen[word] = None
    return list(seen)


def pricing_problems(
    *, free_episodes: Any, episode_price: Any, bundle_price: Any, currency: Any
) -> list[Problem]:
    """Problems with pricing: free episodes 0 to 10,000; prices positive integer minor units
    that fit their column."""
    problems = currency_problems(currency)
    if not is_int(free_episodes) or not 0 <= free_episodes <= MAX_FREE_EPISODES:
        problems.append(
            (
                "free_episodes",
                f"The number of free episodes must be from 0 to {MAX_FREE_EPISODES:,}.",
            )
        )
    if not is_int(episode_price) or episode_price <= 0:
        problems.append(("episode_price", "The price per episode must be more than zero."))
    elif episode_price > MAX_PRICE_MINOR:
        problems.append(("episode_price", "The price per episode is too large."))
    if bundle_price is not None and (not is_int(bundle_price) or bundle_price <= 0):
        problems.append(("bundle_price", "The bundle price must be more than zero, or empty."))
    elif bundle_price is not None and bundle_price > MAX_PRICE_MINOR:
        problems.append(("bundle_price", "The bundle price is too large."))
    return problems


def currency_problems(currency: Any) -> list[Problem]:
    """Problems with a currency code (ISO 4217, any case)."""
    if not isinstance(currency, str) or currency.upper() not in list_currencies():
        return [("currency", "Use an ISO 4217 currency code such as USD or EUR.")]
    return []


def parse_price(text: str, currency: str, field: str = "episode_price") -> int:
    """A price typed by a person as the page's locale writes it ("0.49", "1,000.00" in
    English; "0,49", "1.000,00" in Spanish) as integer minor units of `currency`."""
    value = parse_decimal_input(text)
    if value is None:
        raise ServiceError("Type a price such as 0.49.", field=field)
    exponent = get_currency_precision(currency.upper())
    try:
        minor = value.scaleb(exponent)
        whole = minor == minor.to_integral_value()
    except DecimalException:  # decimal.Overflow: more digits than Decimal's exponent range
        raise ServiceError("That price is too large.", field=field) from None
    if not whole:
        raise ServiceError(
            f"{currency.upper()} prices have at most {exponent} decimal places.", field=field
        )
    return int(minor)


def media_url_problems(url: Any, field: str = "media_url") -> list[Problem]:
    """Problems with a hosted video's URL (https only)."""
    if not isinstance(url, str) or len(url) > 1000:
        return [(field, "Give an https URL of at most 1000 characters.")]
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        return [(field, "Video links must start with https://.")]
    return []


def episode_problems(*, title: Any, duration_seconds: Any, prefix: str = "") -> list[Problem]:
    """Problems with an episode's title and duration."""
    problems: list[Problem] = []
    if not isinstance(title, str) or len(title) > 200:
        problems.append((f"{prefix}title", "The title must be text under 200 characters."))
    if duration_seconds is not None and (
        not is_int(duration_seconds) or not 0 < duration_seconds <= MAX_DURATION_SECONDS
    ):
        problems.append(
            (
                f"{prefix}duration_seconds",
                f"The duration must be from 1 to {MAX_DURATION_SECONDS:,} seconds (one day).",
            )
        )
    return problems
