"""Connected accounts and onboarding links of the emulated Stripe (Express accounts only)."""

from __future__ import annotations

from marketplace.payouts.sandbox.core import (
    COUNTRY_CURRENCY,
    PLATFORM,
    Call,
    boolean,
    check_params,
    merged_metadata,
    new_id,
    paginate,
    record_event,
    text,
)
from marketplace.payouts.sandbox.http import StripeAPIError, invalid, missing
from marketplace.payouts.sandbox.store import JSONObject

ONBOARDING_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
LINK_LIFETIME_SECONDS = 300


def _requirements(due: list[str]) -> JSONObject:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def _capabilities(params: JSONObject) -> dict[str, str]:
    requested = params.get("capabilities")
    if not isinstance(requested, dict) or not requested:
        raise invalid(
            "You must request the `transfers` capability (or `card_payments`) for Express "
            "accounts.",
            param="capabilities",
        )
    statuses = {}
    for name, options in requested.items():
        param = f"capabilities[{name}]"
        if name != "transfers" and not name.endswith("_payments"):
            raise invalid(f"Invalid capability: {name}", param=param)
        if not isinstance(options, dict) or set(options) != {"requested"}:
            raise invalid(f"Invalid hash for {param}: expected `requested`.", param=param)
        if boolean(options["requested"], f"{param}[requested]"):
            statuses[name] = "inactive"
    return statuses


def create_account(call: Call) -> JSONObject:
    """POST /v1/accounts: an Express account that still has to onboard."""
    params = call.params
    check_params(params, {"type", "country", "email", "capabilities", "metadata"}, ("type",))
    if params["type"] != "express":
        raise invalid("The emulated Stripe supports only `express` accounts.", param="type")
    country = (text(params, "country", "US") or "US").upper()
    if country not in COUNTRY_CURRENCY:
        raise invalid(f"Country '{country}' is unknown.", param="country")
    account_id = new_id("acct")
    account: JSONObject = {
        "id": account_id,
        "object": "account",
        "business_profile": {"mcc": None, "name": None, "url": None},
        "business_type": None,
        "capabilities": _capabilities(params),
        "charges_enabled": False,
        "country": country,
        "created": call.now,
        "default_currency": COUNTRY_CURRENCY[country],
        "details_submitted": False,
        "email": text(params, "email"),
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "metadata": merged_metadata({}, params),
        "payouts_enabled": False,
        "requirements": _requirements(ONBOARDING_REQUIREMENTS),
        "settings": {"payouts": {"schedule": {"interval": "manual"}}},
        "tos_acceptance": {"date": None},
        "type": "express",
    }
    call.tx.put("account", account_id, account)
    return account


def get_account(call: Call, account_id: str, *, param: str = "account") -> JSONObject:
    """The stored account, or Stripe's resource_missing error."""
    account = call.tx.get("account", account_id)
    if account is None:
        raise missing("account", account_id, param=param)
    return account


def retrieve_account(call: Call, account_id: str) -> JSONObject:
    """GET /v1/accounts/{id}."""
    check_params(call.params, set())
    return get_account(call, account_id)


def list_accounts(call: Call) -> JSONObject:
    """GET /v1/accounts, newest first."""
    check_params(call.params, {"limit", "starting_after", "ending_before"})
    return paginate(call, call.tx.list("account")[::-1], "/v1/accounts")


def update_account(call: Call, account_id: str) -> JSONObject:
    """POST /v1/accounts/{id}: metadata only (everything else is the account holder's)."""
    check_params(call.params, {"metadata"})
    account = get_account(call, account_id)
    metadata = merged_metadata(account["metadata"], call.params)
    if metadata != account["metadata"]:
        previous = {"metadata": account["metadata"]}
        account["metadata"] = metadata
        call.tx.put("account", account_id, account)
        record_event(call, "account.updated", account, account=account_id, previous=previous)
    return account


def create_account_link(call: Call) -> JSONObject:
    """POST /v1/account_links: a short-lived onboarding URL for an Express account."""
    params = call.params
    required = ("account", "refresh_url", "return_url", "type")
    check_params(params, set(required), required)
    account = get_account(call, params["account"])
    if params["type"] != "account_onboarding":
        raise invalid(
            "The emulated Stripe supports only `account_onboarding` links for Express accounts.",
            param="type",
        )
    token = new_id("link").removeprefix("link_1")
    link = {
        "token": token,
        "account": account["id"],
        "refresh_url": params["refresh_url"],
        "return_url": params["return_url"],
        "created": call.now,
        "expires_at": call.now + LINK_LIFETIME_SECONDS,
        "url": f"{call.onboarding_url_base}/{account['id']}/{token}",
    }
    call.tx.put("account_link", token, link)
    return {
        "object": "account_link",
        "created": link["created"],
        "expires_at": link["expires_at"],
        "url": link["url"],
    }


def complete_onboarding(call: Call, account_id: str) -> JSONObject:
    """What the account holder finishing Stripe's hosted onboarding does to the account."""
    account = get_account(call, account_id)
    if account["details_submitted"]:
        return account
    watched = (
        "capabilities",
        "charges_enabled",
        "details_submitted",
        "external_accounts",
        "payouts_enabled",
        "requirements",
        "tos_acceptance",
    )
    previous = {name: account[name] for name in watched}
    bank_account = {
        "id": new_id("ba"),
        "object": "bank_account",
        "account": account_id,
        "bank_name": "STRIPE TEST BANK",
        "country": account["country"],
        "currency": account["default_currency"],
        "default_for_currency": True,
        "last4": "6789",
        "status": "new",
    }
    account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
    account["charges_enabled"] = "card_payments" in account["capabilities"]
    account["details_submitted"] = True
    account["payouts_enabled"] = True
    account["requirements"] = _requirements([])
    account["tos_acceptance"] = {"date": call.now}
    account["external_accounts"].update(data=[bank_account], total_count=1)
    call.tx.put("account", account_id, account)
    record_event(call, "account.updated", account, account=account_id, previous=previous)
    return account


def require_connected_account(call: Call) -> str:
    """The Stripe-Account header's account, which must exist and belong to this platform."""
    account_id = call.stripe_account
    if account_id is None:
        return PLATFORM
    if call.tx.get("account", account_id) is None:
        raise StripeAPIError(
            403,
            f"The provided key does not have access to account '{account_id}' (or that "
            "account does not exist). Application access may have been revoked.",
            code="account_invalid",
        )
    return account_id
