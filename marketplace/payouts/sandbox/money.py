"""Money movements of the emulated Stripe: balances, transfers, reversals and payouts.

Every movement checks its source balance first and then moves the whole amount between two
balances in the same transaction, so the emulator never creates or loses money (a conversion
moves the converted amount, at the sandbox's fixed rates). Each movement leaves a balance
transaction on each balance it touches, as Stripe does: a transfer in a currency the
connected account has no bank account in lands converted into its default currency, and
the destination payment's balance transaction says so (amount, currency, exchange_rate).
"""

from __future__ import annotations

from marketplace.payouts.crossborder import stripe_rules
from marketplace.payouts.sandbox import fx
from marketplace.payouts.sandbox.accounts import (
    bank_currency_set,
    get_account,
    require_connected_account,
)
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

PLATFORM_INSUFFICIENT = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly "
    "to your available balance by creating Charges using the 4000000000000077 test card. "
    "See: https://stripe.com/docs/testing#available-balance"
)
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


def create_transfer(call: Call) -> JSONObject:
    """POST /v1/transfers: platform balance to a connected account's balance."""
    params = call.params
    allowed = {"amount", "currency", "destination", "description", "metadata", "transfer_group"}
    check_params(params, allowed, ("amount", "currency", "destination"))
    if call.stripe_account is not None:
        raise invalid(
            "The emulated Stripe makes transfers from the platform only; "
            "do not send a Stripe-Account header."
        )
    amount = positive_int(params, "amount")
    code = currency(params)
    metadata = merged_metadata({}, params)
    destination = call.tx.get("account", params["destination"])
    if destination is None:
        raise invalid(
            f"No such destination: '{params['destination']}'",
            param="destination",
            code="resource_missing",
        )
    if destination["capabilities"].get("transfers") != "active":
        raise refused(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            code="insufficient_capabilities_for_transfer",
            param="destination",
        )
    _require_funds(call, PLATFORM, code, amount, PLATFORM_INSUFFICIENT)
    transfer_id = new_id("tr")
    landed_currency = stripe_rules.settlement_currency(
        code, destination["default_currency"], bank_currency_set(destination)
    )
    landed = fx.convert(amount, code, landed_currency)
    adjust_available(call.tx, PLATFORM, code, -amount)
    adjust_available(call.tx, destination["id"], landed_currency, landed)
    payment_id = new_id("py")
    payment_txn = balance_transaction(
        call,
        destination["id"],
        amount=landed,
        currency=landed_currency,
        kind="payment",
        source=payment_id,
        exchange_rate=None if landed_currency == code else fx.rate_json(code, landed_currency),
        description=text(params, "description"),
    )
    call.tx.put(
        "destination_payment",
        payment_id,
        {
            "account": destination["id"],
            "amount": landed,
            "currency": landed_currency,
            "balance_transaction": payment_txn["id"],
            "transfer": transfer_id,
        },
    )
    platform_txn = balance_transaction(
        call,
        PLATFORM,
        amount=-amount,
        currency=code,
        kind="transfer",
        source=transfer_id,
        description=text(params, "description"),
    )
    transfer: JSONObject = {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": platform_txn["id"],
        "created": call.now,
        "currency": code,
        "description": text(params, "description"),
        "destination": destination["id"],
        "destination_payment": payment_id,
        "livemode": False,
        "metadata": metadata,
        "reversals": {
            "data": [],
            "has_more": False,
            "object": "list",
            "url": f"/v1/transfers/{transfer_id}/reversals",
        },
        "reversed": False,
        "source_transaction": None,
        "source_type": "card",
        "transfer_group": text(params, "transfer_group"),
    }
    call.tx.put("transfer", transfer_id, transfer)
    record_event(call, "transfer.created", transfer)
    return transfer


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


def _get_transfer(call: Call, transfer_id: str) -> JSONObject:
    transfer = call.tx.get("transfer", transfer_id)
    if transfer is None:
        raise missing("transfer", transfer_id)
    return transfer


def retrieve_transfer(call: Call, transfer_id: str) -> JSONObject:
    """GET /v1/transfers/{id}."""
    check_params(call.params, set())
    return _get_transfer(call, transfer_id)


def list_transfers(call: Call) -> JSONObject:
    """GET /v1/transfers, newest first, optionally by destination or transfer_group."""
    params = call.params
    check_params(
        params, {"destination", "transfer_group", "limit", "starting_after", "ending_before"}
    )
    transfers = [
        t
        for t in call.tx.list("transfer")[::-1]
        if params.get("destination", t["destination"]) == t["destination"]
        and params.get("transfer_group", t["transfer_group"]) == t["transfer_group"]
    ]
    return paginate(call, transfers, "/v1/transfers")


def create_reversal(call: Call, transfer_id: str) -> JSONObject:
    """POST /v1/transfers/{id}/reversals: pull money back from the connected account."""
    params = call.params
    check_params(params, {"amount", "description", "metadata"})
    transfer = _get_transfer(call, transfer_id)
    remaining = transfer["amount"] - transfer["amount_reversed"]
    amount = positive_int(params, "amount") if "amount" in params else remaining
    metadata = merged_metadata({}, params)
    if amount > remaining:
        raise refused(
            f"Amount ({amount}) is greater than the amount left to reverse on this transfer "
            f"({remaining}).",
            code="amount_too_large",
            param="amount",
        )
    code, destination = transfer["currency"], transfer["destination"]
    payment = call.tx.get("destination_payment", transfer["destination_payment"]) or {
        "currency": code,
        "amount": transfer["amount"],
    }
    # The connected account gives back its share of what landed (converted at the transfer's
    # rate), the platform gets the transfer's own currency back.
    taken = payment["amount"] * amount // transfer["amount"]
    _require_funds(
        call,
        destination,
        payment["currency"],
        taken,
        "Insufficient funds in the connected account to reverse this transfer.",
    )
    adjust_available(call.tx, destination, payment["currency"], -taken)
    adjust_available(call.tx, PLATFORM, code, amount)
    reversal_id = new_id("trr")
    refund_id = new_id("pyr")
    balance_transaction(
        call, destination, amount=-taken, currency=payment["currency"], kind="payment_refund",
        source=refund_id,
    )  # fmt: skip
    platform_txn = balance_transaction(
        call, PLATFORM, amount=amount, currency=code, kind="transfer_refund", source=reversal_id
    )
    reversal = {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": platform_txn["id"],
        "created": call.now,
        "currency": code,
        "destination_payment_refund": refund_id,
        "metadata": metadata,
        "source_refund": None,
        "transfer": transfer_id,
    }
    previous = {
        "amount_reversed": transfer["amount_reversed"],
        "reversals": dict(transfer["reversals"]),
    }
    transfer["amount_reversed"] += amount
    if transfer["amount_reversed"] == transfer["amount"]:
        previous["reversed"] = False
        transfer["reversed"] = True
    reversals = transfer["reversals"]
    count = len([r for r in call.tx.list("transfer_reversal") if r["transfer"] == transfer_id])
    reversals["data"] = [reversal, *reversals["data"]][:10]
    reversals["has_more"] = count + 1 > 10
    call.tx.put("transfer_reversal", reversal["id"], reversal)
    call.tx.put("transfer", transfer_id, transfer)
    record_event(call, "transfer.reversed", transfer, previous=previous)
    return reversal


def list_reversals(call: Call, transfer_id: str) -> JSONObject:
    """GET /v1/transfers/{id}/reversals, newest first."""
    check_params(call.params, {"limit", "starting_after", "ending_before"})
    _get_transfer(call, transfer_id)
    reversals = [r for r in call.tx.list("transfer_reversal")[::-1] if r["transfer"] == transfer_id]
    return paginate(call, reversals, f"/v1/transfers/{transfer_id}/reversals")


def retrieve_reversal(call: Call, transfer_id: str, reversal_id: str) -> JSONObject:
    """GET /v1/transfers/{id}/reversals/{reversal}."""
    check_params(call.params, set())
    reversal = call.tx.get("transfer_reversal", reversal_id)
    if reversal is None or reversal["transfer"] != transfer_id:
        raise missing("transfer reversal", reversal_id)
    return reversal


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
