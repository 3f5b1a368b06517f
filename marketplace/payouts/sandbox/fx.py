"""The emulated Stripe's currency conversion: fixed, made-up rates, so development and tests
are deterministic. Amounts stay integers of each currency's minor unit; the rate is a Decimal
and is rounded into the JSON number Stripe's balance transactions carry as `exchange_rate`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PER_USD = {
    "usd": Decimal("1"), "eur": Decimal("0.92"), "gbp": Decimal("0.79"),
    "cad": Decimal("1.36"), "aud": Decimal("1.52"), "nzd": Decimal("1.65"),
    "jpy": Decimal("150"), "chf": Decimal("0.88"), "sek": Decimal("10.5"),
    "nok": Decimal("10.6"), "dkk": Decimal("6.87"), "pln": Decimal("3.98"),
    "czk": Decimal("23.1"), "huf": Decimal("360"), "ron": Decimal("4.58"),
    "bgn": Decimal("1.80"), "isk": Decimal("138"), "sgd": Decimal("1.34"),
    "hkd": Decimal("7.82"), "mxn": Decimal("17.1"), "brl": Decimal("5.0"),
    "inr": Decimal("83.2"),
}  # fmt: skip
"""Units of each currency per US dollar (development only; not market rates)."""

ZERO_DECIMAL = frozenset({"jpy", "isk"})


def exponent(currency: str) -> int:
    """Digits of the minor unit, as Stripe counts them for these currencies."""
    return 0 if currency in ZERO_DECIMAL else 2


def rate(source: str, target: str) -> Decimal:
    """Units of `target` per unit of `source`."""
    return PER_USD[target] / PER_USD[source]


def convert(amount: int, source: str, target: str) -> int:
    """`amount` minor units of `source` in minor units of `target` (half up)."""
    major = Decimal(amount).scaleb(-exponent(source))
    converted = (major * rate(source, target)).scaleb(exponent(target))
    return int(converted.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_json(source: str, target: str) -> float:
    """The rate as the JSON number Stripe sends (six decimals); never used to compute money."""
    return float(rate(source, target).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))
