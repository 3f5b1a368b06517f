"""Payouts of the emulated Stripe: a connected account's balance to its bank account in the
payout's currency, and the bank's answer (paid, or failed with the money returned)."""

from __future__ import annotations

from marketplace.payouts.sandbox.accounts import get_account, require_connected_account
from marketplace.payouts.sandbox.balances import balance_transaction
from marketplace.payouts.sandbox.core import (
    PLATFORM,
    Call,
    adjust_available,
    balance_of,
    check_params,
    currency,
    merged_metadata,
    new_id,
    paginate,
    positive_int,
    record_event,
    text,
)
from marketplace.payouts.sandbox.http import invalid, missing, refused
from marketplace.payouts.sandbox.store import JSONObject

PAYOUT_FAILURES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or the "
    "number, of payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is "
    "invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}
_TWO_DAYS = 2 * 24 * 3600


def _require_funds(call: Call, owner: str, code: str, amount: int, message: str) -> None:
    if balance_of(call.tx, owner)["available"].get(code, 0) < amount:
        raise refused(message, code="balance_insufficient")


def _connected_account(call: Call) -> JSONObject:
    owner = require_connected_account(call)
    if owner == PLATFORM:
        raise invalid(
            "The emulated Stripe makes payouts from connected accounts only; send "
            "the Stripe-Account header."
        )
    return get_account(call, owner)


def create_payout(call: Call) -> JSONObject:
    """POST /v1/payouts with Stripe-Account: connected balance to the account's bank."""
    params = call.params
    allowed = {"amount", "currency", "description", "metadata", "method", "statement_descriptor"}
    check_params(params, allowed, ("amount", "currency"))
    account = _connected_account(call)
    amount = positive_int(params, "amount")
    code = currency(params)
    metadata = merged_metadata({}, params)
    if params.get("method", "standard") != "standard":
        raise invalid("The emulated Stripe supports only `standard` payouts.", param="method")
    if not account["payouts_enabled"]:
        raise refused(
            "Payouts are not enabled on this account: its onboarding is incomplete.",
            code="payouts_not_allowed",
        )
    bank = next((b for b in account["external_accounts"]["data"] if b["currency"] == code), None)
    if bank is None:
        raise invalid(f"This account has no external account in currency {code}.", param="currency")
    _require_funds(
        call,
        account["id"],
        code,
        amount,
        "You have insufficient funds in your Stripe account for this transfer.",
    )
    adjust_available(call.tx, account["id"], code, -amount)
    payout_id = new_id("po")
    txn = balance_transaction(
        call, account["id"], amount=-amount, currency=code, kind="payout", source=payout_id
    )
    payout: JSONObject = {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": call.now + _TWO_DAYS,
        "automatic": False,
        "balance_transaction": txn["id"],
        "created": call.now,
        "currency": code,
        "description": text(params, "description"),
        "destination": bank["id"],
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": metadata,
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": text(params, "statement_descriptor"),
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
    }
    call.tx.put("payout", payout["id"], {**payout, "_account": account["id"]})
    record_event(call, "payout.created", payout, account=account["id"])
    return payout


def _public(payout: JSONObject) -> JSONObject:
    return {k: v for k, v in payout.items() if k != "_account"}


def retrieve_payout(call: Call, payout_id: str) -> JSONObject:
    """GET /v1/payouts/{id} with Stripe-Account."""
    check_params(call.params, set())
    account = _connected_account(call)
    payout = call.tx.get("payout", payout_id)
    if payout is None or payout["_account"] != account["id"]:
        raise missing("payout", payout_id)
    return _public(payout)


def list_payouts(call: Call) -> JSONObject:
    """GET /v1/payouts with Stripe-Account, newest first, optionally by status."""
    params = call.params
    check_params(params, {"status", "limit", "starting_after", "ending_before"})
    account = _connected_account(call)
    payouts = [
        _public(p)
        for p in call.tx.list("payout")[::-1]
        if p["_account"] == account["id"] and params.get("status", p["status"]) == p["status"]
    ]
    return paginate(call, payouts, "/v1/payouts")


def settle_payout(call: Call, payout_id: str, *, paid: bool, failure_code: str) -> JSONObject:
    """The bank's answer to a pending payout: paid, or failed with the money returned."""
    stored = call.tx.get("payout", payout_id)
    if stored is None:
        raise KeyError(f"no payout {payout_id}")
    if stored["status"] != "pending":
        raise ValueError(f"payout {payout_id} is already {stored['status']}")
    if not paid and failure_code not in PAYOUT_FAILURES:
        raise ValueError(f"unknown failure_code {failure_code!r}; use one of {PAYOUT_FAILURES}")
    account = stored["_account"]
    previous: dict[str, str | None] = {"status": "pending"}
    if paid:
        stored["status"] = "paid"
        stored["reconciliation_status"] = "completed"
        stored["trace_id"] = {"status": "supported", "value": "TRACE" + payout_id[-12:]}
    else:
        previous.update(failure_code=None, failure_message=None, failure_balance_transaction=None)
        txn = balance_transaction(
            call,
            account,
            amount=stored["amount"],
            currency=stored["currency"],
            kind="payout_failure",
            source=payout_id,
        )
        stored.update(
            status="failed",
            failure_code=failure_code,
            failure_message=PAYOUT_FAILURES[failure_code],
            failure_balance_transaction=txn["id"],
        )
        adjust_available(call.tx, account, stored["currency"], stored["amount"])
    call.tx.put("payout", payout_id, stored)
    payout = _public(stored)
    record_event(call, f"payout.{stored['status']}", payout, account=account, previous=previous)
    return payout
