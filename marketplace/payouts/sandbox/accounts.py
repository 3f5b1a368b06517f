"""Connected accounts and onboarding links of the emulated Stripe (Express accounts only).

Where an account may be opened follows Stripe's documented Connect rules
(marketplace.payouts.crossborder.stripe_rules): in the platform's country, or cross-border
within the cross-border region under the `recipient` service agreement; Stripe refuses the
rest.
"""

from __future__ import annotations

from marketplace.payouts.crossborder import stripe_rules
from marketplace.payouts.sandbox.core import (
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


def _service_agreement(params: JSONObject) -> str:
    tos = params.get("tos_acceptance", {})
    if not isinstance(tos, dict) or set(tos) - {"service_agreement"}:
        raise invalid("Only tos_acceptance[service_agreement] can be set.", param="tos_acceptance")
    agreement = tos.get("service_agreement", "full")
    if agreement not in ("full", "recipient"):
        raise invalid(
            f"Invalid service_agreement: {agreement}",
            param="tos_acceptance[service_agreement]",
        )
    return agreement


def _check_country(call: Call, country: str, agreement: str, capabilities: dict) -> None:
    if country not in stripe_rules.DEFAULT_CURRENCY and country not in (
        stripe_rules.GLOBAL_PAYOUTS_COUNTRIES
    ):
        raise invalid(f"Country '{country}' is unknown.", param="country")
    route = stripe_rules.payout_route(call.platform_country, country)
    if route.kind != "connect":
        raise invalid(
            f"Connected accounts in {country} are not available to platforms in "
            f"{call.platform_country}: cross-border payouts reach only the US, the UK, the "
            "EEA, Canada and Switzerland. Use Global Payouts instead.",
            param="country",
        )
    if route.cross_border and agreement != "recipient":
        raise invalid(
            "Cross-border payouts only work with accounts under the `recipient` service "
            "agreement: pass tos_acceptance[service_agreement]=recipient.",
            param="tos_acceptance[service_agreement]",
        )
    if agreement == "recipient" and "card_payments" in capabilities:
        raise invalid(
            "Accounts under the `recipient` service agreement cannot request card_payments.",
            param="capabilities[card_payments]",
        )


def _list(url: str, data: list[JSONObject] | None = None) -> JSONObject:
    return {"data": data or [], "has_more": False, "object": "list", "url": url}


_SETTINGS: JSONObject = {
    "bacs_debit_payments": {"display_name": None, "service_user_number": None},
    "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
    "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
    "card_payments": {
        "decline_on": {"avs_failure": False, "cvc_failure": False},
        "statement_descriptor_prefix": None,
        "statement_descriptor_prefix_kana": None,
        "statement_descriptor_prefix_kanji": None,
    },
    "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
    "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
    "payments": {
        "statement_descriptor": None,
        "statement_descriptor_kana": None,
        "statement_descriptor_kanji": None,
        "statement_descriptor_prefix_kana": None,
        "statement_descriptor_prefix_kanji": None,
    },
    "payouts": {
        "debit_negative_balances": True,
        "schedule": {"delay_days": 2, "interval": "manual"},
        "statement_descriptor": None,
    },
    "sepa_debit_payments": {},
}
_BUSINESS_PROFILE: JSONObject = {
    "annual_revenue": {"amount": None, "currency": None, "fiscal_year_end": None},
    "estimated_worker_count": None,
    "mcc": None,
    "minority_owned_business_designation": None,
    "name": None,
    "product_description": None,
    "support_address": dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state")),
    "support_email": None,
    "support_phone": None,
    "support_url": None,
    "url": None,
}


def create_account(call: Call) -> JSONObject:
    """POST /v1/accounts: an Express account that still has to onboard."""
    params = call.params
    check_params(
        params,
        {"type", "country", "email", "capabilities", "metadata", "tos_acceptance"},
        ("type",),
    )
    if params["type"] != "express":
        raise invalid("The emulated Stripe supports only `express` accounts.", param="type")
    country = (text(params, "country", call.platform_country) or "").upper()
    agreement = _service_agreement(params)
    capabilities = _capabilities(params)
    _check_country(call, country, agreement, capabilities)
    account_id = new_id("acct")
    account: JSONObject = {
        "id": account_id,
        "object": "account",
        "business_profile": _BUSINESS_PROFILE,
        "business_type": None,
        "capabilities": capabilities,
        "charges_enabled": False,
        "controller": {"type": "application"},
        "country": country,
        "created": call.now,
        "default_currency": stripe_rules.DEFAULT_CURRENCY[country],
        "details_submitted": False,
        "email": text(params, "email"),
        "external_accounts": _list(f"/v1/accounts/{account_id}/external_accounts"),
        "future_requirements": _requirements([]),
        "metadata": merged_metadata({}, params),
        "payouts_enabled": False,
        "requirements": _requirements(ONBOARDING_REQUIREMENTS),
        "settings": _SETTINGS,
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": "express",
    }
    call.tx.put("account", account_id, account)
    call.tx.put("account_terms", account_id, {"service_agreement": agreement})
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


def bank_account(call: Call, account: JSONObject, currency: str) -> JSONObject:
    """A test bank account of the account's country in `currency` (Stripe's test bank)."""
    return {
        "account_holder_name": None,
        "account_holder_type": "individual",
        "account_type": None,
        "bank_name": "STRIPE TEST BANK",
        "country": account["country"],
        "currency": currency,
        "customer": None,
        "fingerprint": new_id("fp").removeprefix("fp_1")[:16],
        "id": new_id("ba"),
        "last4": "6789",
        "metadata": {},
        "object": "bank_account",
        "routing_number": "110000000",
        "status": "new",
    }


def complete_onboarding(
    call: Call, account_id: str, currencies: list[str] | None = None
) -> JSONObject:
    """What the account holder finishing Stripe's hosted onboarding does to the account: a bank
    account in the default currency and in each of `currencies` the country can settle in."""
    account = get_account(call, account_id)
    if account["details_submitted"]:
        return account
    allowed = stripe_rules.bank_currencies(account["country"])
    wanted = [account["default_currency"], *(c.lower() for c in currencies or [])]
    for code in wanted:
        if code not in allowed:
            raise ValueError(
                f"accounts in {account['country']} hold bank accounts in {allowed} only, not {code}"
            )
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
    banks = [bank_account(call, account, code) for code in dict.fromkeys(wanted)]
    account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
    account["charges_enabled"] = "card_payments" in account["capabilities"]
    account["details_submitted"] = True
    account["payouts_enabled"] = True
    account["requirements"] = _requirements([])
    account["tos_acceptance"] = {"date": call.now, "ip": "127.0.0.1", "user_agent": None}
    account["external_accounts"]["data"] = banks
    call.tx.put("account", account_id, account)
    record_event(call, "account.updated", account, account=account_id, previous=previous)
    return account


def bank_currency_set(account: JSONObject) -> set[str]:
    """The currencies the account has a bank account in."""
    return {bank["currency"] for bank in account["external_accounts"]["data"]}


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
