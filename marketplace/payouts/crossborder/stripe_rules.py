"""Stripe's documented rules for paying people abroad, as the payouts feature and the emulated
sandbox apply them. Every fact here is Stripe's, with the page it comes from; nothing else in
the project decides where or in what currency a payee can be paid.

- Cross-border payouts, https://docs.stripe.com/connect/cross-border-payouts ("Availability"):
  platforms based in the US, the UK, the EEA, Canada or Switzerland can transfer funds to
  connected accounts in any of those regions, whatever the settlement currency. Stripe does not
  support self-serve cross-border payouts to other countries: "Contact sales to discuss
  alternatives, or use Global Payouts".
- Service agreements, https://docs.stripe.com/connect/service-agreement-types: cross-border
  payouts only work with accounts under the `recipient` service agreement, which cannot request
  `card_payments`; the country must be passed explicitly when it differs from the platform's.
- Global Payouts, https://docs.stripe.com/global-payouts/send-money/recipient-countries
  (senders: US and UK) and its changelog entries
  https://docs.stripe.com/changelog/dahlia/2026-03-25/cross-border-payouts-new-countries and
  https://docs.stripe.com/changelog/dahlia/2026-05-27/cross-border-payouts-20-new-bank-account-types
  (the recipient countries named below are the ones those pages name).
- Settlement currencies, https://docs.stripe.com/payouts/multicurrency-settlement: Stripe
  converts funds into the account's default currency; accounts in AE, AU, CH, the EU, GB, HK,
  LI, NO, SG and the US can settle in more currencies, each paid out to a bank account in that
  currency. https://docs.stripe.com/connect/currencies: a transfer in a currency the connected
  account cannot settle in is converted into its default currency.
"""

from __future__ import annotations

from dataclasses import dataclass

EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS", "IE",
    "IT", "LV", "LI", "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})  # fmt: skip
CROSS_BORDER_REGION = EEA | {"US", "GB", "CA", "CH"}
"""Platforms here pay connected accounts anywhere here (cross-border payouts)."""

GLOBAL_PAYOUTS_SENDERS = frozenset({"US", "GB"})
GLOBAL_PAYOUTS_COUNTRIES = frozenset({
    "AR", "CO", "EG",  # changelog 2026-03-25
    "AO", "AZ", "BD", "BO", "BR", "CL", "GA", "GH", "GI", "HN", "KR", "KZ", "LA", "NE", "NG",
    "NI", "PY", "SA", "SM", "UY",  # changelog 2026-05-27
})  # fmt: skip
"""Recipient countries of Global Payouts outside the cross-border region (as the pages cited
above name them)."""

_EURO = ("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU",
         "LV", "MT", "NL", "PT", "SI", "SK")  # fmt: skip
DEFAULT_CURRENCY = {
    "US": "usd", "CA": "cad", "GB": "gbp", "CH": "chf", "NO": "nok", "SE": "sek", "DK": "dkk",
    "PL": "pln", "CZ": "czk", "HU": "huf", "RO": "ron", "BG": "bgn", "IS": "isk", "LI": "chf",
    **dict.fromkeys(_EURO, "eur"),
}  # fmt: skip
"""A connected account's default (local) currency, for the countries it can be opened in."""

MULTICURRENCY_SETTLEMENT = (
    frozenset({"AE", "AU", "CH", "GB", "HK", "LI", "NO", "SG", "US"})
    | set(_EURO)
    | {"BG", "CZ", "DK", "HU", "PL", "RO", "SE"}
)
"""Countries whose accounts can settle in currencies besides the default one."""
EXTRA_SETTLEMENT_CURRENCIES = ("usd", "eur", "gbp")
"""The additional currencies the sandbox lets such accounts hold a bank account in."""


@dataclass(frozen=True)
class Route:
    """How a payee in `country` is paid by a platform in `platform_country`.

    Fields: kind ("connect": a Connect account is created there; "global_payouts": only Stripe
    Global Payouts reaches it; "none": Stripe documents no route), cross_border (Connect
    account abroad: the recipient service agreement applies), reason (for people, when not
    "connect": what is wrong and what to do).
    """

    kind: str
    cross_border: bool = False
    reason: str = ""


def payout_route(platform_country: str, country: str) -> Route:
    """Where and how Stripe lets this platform pay a payee in `country`."""
    if country == platform_country:
        return Route("connect")
    if platform_country in CROSS_BORDER_REGION and country in CROSS_BORDER_REGION:
        return Route("connect", cross_border=True)
    if platform_country in GLOBAL_PAYOUTS_SENDERS and country in GLOBAL_PAYOUTS_COUNTRIES:
        return Route(
            "global_payouts",
            reason=(
                f"Stripe Connect cannot pay accounts in {country} from a {platform_country} "
                "platform; Stripe Global Payouts can. An admin must enable Global Payouts for "
                "this platform before these payouts can be sent."
            ),
        )
    return Route(
        "none",
        reason=(
            f"Stripe documents no way for a {platform_country} platform to pay people in "
            f"{country} (neither cross-border payouts nor Global Payouts). An admin must ask "
            "Stripe for an alternative."
        ),
    )


def bank_currencies(country: str) -> tuple[str, ...]:
    """Currencies an account in `country` may hold a bank account in (default first)."""
    default = DEFAULT_CURRENCY[country]
    if country not in MULTICURRENCY_SETTLEMENT:
        return (default,)
    return (default, *[c for c in EXTRA_SETTLEMENT_CURRENCIES if c != default])


def settlement_currency(transfer_currency: str, default: str, bank: set[str]) -> str:
    """The currency a transfer lands in on a connected account: its own when the account has a
    bank account in it, else converted into the default currency."""
    return transfer_currency if transfer_currency in bank else default


def platform_currencies(platform_country: str) -> tuple[str, ...]:
    """The currencies the platform's own Stripe balance holds, and so can transfer: those it
    settles in (its default, plus the multicurrency-settlement ones where available)."""
    return bank_currencies(platform_country)


def unpayable_currency_reason(platform_country: str, currency: str) -> str | None:
    """Why the platform cannot transfer `currency` (None when it can), with the fix."""
    held = platform_currencies(platform_country)
    if currency.lower() in held:
        return None
    names = ", ".join(c.upper() for c in held)
    return (
        f"currency not receivable: Stripe holds a {platform_country} platform's balance in "
        f"{names} only, so {currency.upper()} earnings cannot be transferred. An admin must "
        f"have the partner app settle in {names}; the money stays in your balance meanwhile."
    )
