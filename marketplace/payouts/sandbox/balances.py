"""Balances of the emulated Stripe: the balance object, the platform's funding, the balance
transactions every movement leaves on each balance it touches, and the events log."""

from __future__ import annotations

from marketplace.payouts.sandbox.accounts import get_account, require_connected_account
from marketplace.payouts.sandbox.core import (
    PLATFORM,
    Call,
    adjust_available,
    balance_of,
    check_params,
    currency,
    new_id,
    paginate,
    positive_int,
)
from marketplace.payouts.sandbox.http import missing
from marketplace.payouts.sandbox.store import JSONObject


def retrieve_balance(call: Call) -> JSONObject:
    """GET /v1/balance for the platform, or the connected account in Stripe-Account."""
    check_params(call.params, set())
    owner = require_connected_account(call)
    balance = balance_of(call.tx, owner)
    default = call.platform_currency
    if owner != PLATFORM:
        default = get_account(call, owner)["default_currency"]
    codes = sorted(set(balance["available"]) | set(balance["pending"]) | {default})

    def funds(bucket: str) -> list[JSONObject]:
        return [
            {
                "amount": balance[bucket].get(c, 0),
                "currency": c,
                "source_types": {"card": balance[bucket].get(c, 0)},
            }
            for c in codes
        ]

    result: JSONObject = {
        "object": "balance",
        "available": funds("available"),
        "livemode": False,
        "pending": funds("pending"),
    }
    if owner == PLATFORM:
        result["connect_reserved"] = [{"amount": 0, "currency": c} for c in codes]
    return result


def fund_platform(call: Call, amount: int, code: str) -> None:
    """Make `amount` available on the platform, as settled charges would."""
    positive_int({"amount": str(amount)}, "amount")
    adjust_available(call.tx, PLATFORM, currency({"currency": code}), amount)


def balance_transaction(
    call: Call,
    owner: str,
    *,
    amount: int,
    currency: str,
    kind: str,
    source: str,
    exchange_rate: float | None = None,
    description: str | None = None,
) -> JSONObject:
    """Record one movement of an owner's balance (Stripe's balance_transaction object)."""
    txn: JSONObject = {
        "amount": amount,
        "available_on": call.now,
        "balance_type": "payments",
        "created": call.now,
        "currency": currency,
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": 0,
        "fee_details": [],
        "id": new_id("txn"),
        "net": amount,
        "object": "balance_transaction",
        "reporting_category": _CATEGORIES[kind],
        "source": source,
        "status": "available",
        "type": kind,
    }
    call.tx.put("balance_transaction", txn["id"], {**txn, "_owner": owner})
    return txn


_CATEGORIES = {
    "payment": "charge",
    "payment_refund": "refund",
    "transfer": "transfer",
    "transfer_refund": "transfer_reversal",
    "payout": "payout",
    "payout_failure": "payout_reversal",
}


def _txn_public(txn: JSONObject) -> JSONObject:
    return {k: v for k, v in txn.items() if k != "_owner"}


def list_balance_transactions(call: Call) -> JSONObject:
    """GET /v1/balance_transactions: the owner's (platform, or Stripe-Account), newest first,
    optionally by source or type."""
    params = call.params
    check_params(params, {"source", "type", "limit", "starting_after", "ending_before"})
    owner = require_connected_account(call)
    txns = [
        _txn_public(t)
        for t in call.tx.list("balance_transaction")[::-1]
        if t["_owner"] == owner
        and params.get("source", t["source"]) == t["source"]
        and params.get("type", t["type"]) == t["type"]
    ]
    return paginate(call, txns, "/v1/balance_transactions")


def retrieve_balance_transaction(call: Call, txn_id: str) -> JSONObject:
    """GET /v1/balance_transactions/{id} (the platform's, or Stripe-Account's)."""
    check_params(call.params, set())
    owner = require_connected_account(call)
    txn = call.tx.get("balance_transaction", txn_id)
    if txn is None or txn["_owner"] != owner:
        raise missing("balance transaction", txn_id)
    return _txn_public(txn)


def list_events(call: Call) -> JSONObject:
    """GET /v1/events: the platform's events, or a connected account's with Stripe-Account."""
    params = call.params
    check_params(params, {"type", "limit", "starting_after", "ending_before"})
    owner = require_connected_account(call)
    scope = None if owner == PLATFORM else owner
    events = [
        e
        for e in call.tx.list("event")[::-1]
        if e.get("account") == scope and params.get("type", e["type"]) == e["type"]
    ]
    return paginate(call, events, "/v1/events")


def retrieve_event(call: Call, event_id: str) -> JSONObject:
    """GET /v1/events/{id}."""
    check_params(call.params, set())
    owner = require_connected_account(call)
    event = call.tx.get("event", event_id)
    if event is None or event.get("account") != (None if owner == PLATFORM else owner):
        raise missing("event", event_id)
    return event
