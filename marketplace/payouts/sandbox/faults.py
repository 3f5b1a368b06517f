"""Faults the emulated Stripe can be told to inject (EmulatedStripe.inject)."""

from __future__ import annotations

from marketplace.payouts.sandbox.http import StripeAPIError
from marketplace.payouts.sandbox.money import PLATFORM_INSUFFICIENT
from marketplace.payouts.sandbox.store import JSONObject

FAULT_KINDS = ("network_error_before", "network_error_after", "error")

# Injectable API errors: status, message, param. Codes not listed need an explicit message.
KNOWN_ERRORS: dict[str, tuple[int, str, str | None]] = {
    "balance_insufficient": (400, PLATFORM_INSUFFICIENT, None),
    "insufficient_capabilities_for_transfer": (
        400,
        "Your destination account needs to have at least one of the following capabilities "
        "enabled: transfers, crypto_transfers, legacy_payments",
        "destination",
    ),
    "account_invalid": (
        400,
        "The destination account is not valid for this request.",
        "destination",
    ),
    "payouts_not_allowed": (400, "Payouts are not allowed on this account.", None),
    "rate_limit": (429, "Too many requests hit the API too quickly.", None),
}


def fault_error(fault: JSONObject) -> StripeAPIError:
    """The API error an injected "error" fault answers with."""
    status = fault["status"]
    return StripeAPIError(
        status,
        fault["message"],
        error_type="api_error" if status >= 500 else "invalid_request_error",
        code=fault["code"],
        param=fault["param"],
        executed=400 <= status < 500 and status != 429,
    )
