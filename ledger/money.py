"""Money as an integer count of a currency's minor unit plus an ISO 4217 code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision

from ledger.errors import CurrencyMismatch


@lru_cache(maxsize=256)
def minor_unit_exponent(code: str) -> int:
    """Return how many decimal places the currency's minor unit has (JPY 0, USD 2, KWD 3)."""
    return get_currency_precision(code.upper())


def check_currency(code: object) -> str:
    """Return the code if it looks like an ISO 4217 code (three upper-case letters), else raise."""
    if not (
        isinstance(code, str)
        and len(code) == 3
        and code.isascii()
        and code.isupper()
        and code.isalpha()
    ):
        raise ValueError(f"not an ISO 4217 currency code: {code!r}")
    return code


def check_minor_units(amount: object) -> int:
    """Return the amount if it is a plain int (no bool, Decimal or fraction), else TypeError."""
    if type(amount) is not int:
        raise TypeError(f"money amounts are int minor units, got {type(amount).__name__}")
    return amount


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of one currency.

    Fields:
        amount: signed integer count of the currency's minor unit (cents for USD, yen for JPY).
        currency: ISO 4217 code, upper case ("USD").
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_minor_units(self.amount)
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return nothing of the currency."""
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str, currency: str) -> Money:
        """Convert a major-unit Decimal (or its string) exactly; refuse sub-minor-unit values."""
        if not isinstance(value, Decimal | str):
            raise TypeError(f"from_decimal takes a Decimal or str, got {type(value).__name__}")
        exact = Decimal(value).scaleb(minor_unit_exponent(check_currency(currency)))
        if exact != exact.to_integral_value():
            raise ValueError(f"{value} {currency} is finer than the currency's minor unit")
        return cls(int(exact), currency)

    def to_decimal(self) -> Decimal:
        """Return the amount in major units as an exact Decimal (12.34 for 1234 USD)."""
        return Decimal(self.amount).scaleb(-minor_unit_exponent(self.currency))

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} do not mix")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"
