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
)
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

PLATFORM_INSUFFICIENT = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly "
    "to your available balance by creating Charges using the 4000000000000077 test card. "
    "See: https://stripe.com/docs/testing#available-balance"
)


def _require_funds(call: Call, owner: str, code: str, amount: int, message: str) -> None:
    if balance_of(call.tx, owner)["available"].get(code, 0) < amount:
        raise refused(message, code="balance_insufficient")


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
