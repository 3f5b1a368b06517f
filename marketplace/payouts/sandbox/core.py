"""Shared pieces of the emulated Stripe's endpoints: ids, parameter checks, balances, events.

Parameter checks are strict on purpose: an unknown parameter, a non-integer or non-positive
amount, or an unknown currency is refused the way Stripe refuses it, so code that works against
the emulator does not silently send something Stripe would reject.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from stripe._api_version import _ApiVersion

from marketplace.payouts.sandbox.http import EmulatorRequest, invalid
from marketplace.payouts.sandbox.store import JSONObject, Transaction

API_VERSION = _ApiVersion.CURRENT
PLATFORM = "platform"

CURRENCIES = frozenset({
    "usd", "eur", "gbp", "cad", "aud", "nzd", "jpy", "chf", "sek", "nok", "dkk",
    "pln", "czk", "huf", "ron", "bgn", "isk", "sgd", "hkd", "mxn", "brl", "inr",
})  # fmt: skip
_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTHS = {"acct": 16, "req": 14}


def new_id(prefix: str) -> str:
    """A Stripe-looking id: `acct_1` plus 16 characters, `tr_1` plus 23, and so on."""
    length = _ID_LENGTHS.get(prefix, 23)
    tail = "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
    return f"{prefix}_1{tail}" if prefix != "req" else f"req_{tail}"


@dataclass
class Call:
    """What an endpoint works with: the open transaction, the time, and the request if any."""

    tx: Transaction
    now: int
    request: EmulatorRequest | None = None
    onboarding_url_base: str = "https://connect.stripe.com/setup/e"
    platform_currency: str = "usd"
    platform_country: str = "US"

    @property
    def params(self) -> JSONObject:
        """The request's decoded parameters (empty for helper-driven changes)."""
        return self.request.params if self.request else {}

    @property
    def stripe_account(self) -> str | None:
        """The connected account named by the Stripe-Account header, if any."""
        return self.request.stripe_account if self.request else None


def check_params(params: JSONObject, allowed: set[str], required: tuple[str, ...] = ()) -> None:
    """Refuse unknown parameters and report the first missing one, as Stripe does."""
    for name in params:
        if name not in allowed:
            raise invalid(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
    for name in required:
        if name not in params or params[name] == "":
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")


def positive_int(params: JSONObject, name: str) -> int:
    """An amount in the currency's minor unit: digits only, at least 1."""
    raw = params[name]
    if not isinstance(raw, str) or not raw.lstrip("-").isdigit():
        raise invalid(f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer")
    value = int(raw)
    if value < 1:
        raise invalid(
            "This value must be greater than or equal to 1.",
            param=name,
            code="parameter_invalid_integer",
        )
    return value


def currency(params: JSONObject, name: str = "currency") -> str:
    """A lower-case ISO 4217 code the emulator knows."""
    raw = params[name]
    value = raw.lower() if isinstance(raw, str) else raw
    if value not in CURRENCIES:
        raise invalid(
            f"Invalid currency: {raw}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
            param=name,
        )
    return value


def text(params: JSONObject, name: str, default: str | None = None) -> str | None:
    """An optional string parameter."""
    value = params.get(name, default)
    if value is not None and not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", param=name, code="parameter_invalid_string")
    return value


def boolean(value: Any, param: str) -> bool:
    """stripe-python sends booleans as "true" / "false"."""
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid boolean: {value}", param=param)


def merged_metadata(current: JSONObject, params: JSONObject) -> JSONObject:
    """Stripe's metadata update rules: keys merge, "" unsets a key, metadata="" clears all."""
    if "metadata" not in params:
        return dict(current)
    given = params["metadata"]
    if given == "":
        return {}
    if not isinstance(given, dict):
        raise invalid("Invalid metadata: must be a hash of strings.", param="metadata")
    merged = dict(current)
    for key, value in given.items():
        if not isinstance(value, str) or len(key) > 40 or len(value) > 500:
            raise invalid(f"Invalid metadata value for key {key!r}.", param=f"metadata[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise invalid("Metadata can have at most 50 keys.", param="metadata")
    return merged


def paginate(call: Call, objects: list[JSONObject], url: str) -> JSONObject:
    """A Stripe list page from objects given newest first (limit, starting_after, ending_before)."""
    params = call.params
    limit = 10
    if "limit" in params:
        limit = positive_int(params, "limit")
        if limit > 100:
            raise invalid("This value must be less than or equal to 100.", param="limit")
    ids = [o["id"] for o in objects]
    start, end = 0, len(objects)
    for name in ("starting_after", "ending_before"):
        cursor = params.get(name)
        if cursor is not None and cursor not in ids:
            raise missing_cursor(name, cursor)
    if params.get("starting_after"):
        start = ids.index(params["starting_after"]) + 1
    if params.get("ending_before"):
        end = ids.index(params["ending_before"])
        start = max(start, end - limit)
    window = objects[start:end]
    return {"object": "list", "data": window[:limit], "has_more": len(window) > limit, "url": url}


def missing_cursor(param: str, object_id: str) -> Exception:
    """The error for a pagination cursor that names no object in the list."""
    return invalid(f"No such object: '{object_id}'", param=param, code="resource_missing")


def balance_of(tx: Transaction, owner: str) -> JSONObject:
    """Available and pending amounts of the platform or a connected account, per currency."""
    return tx.get("balance", owner) or {"available": {}, "pending": {}}


def adjust_available(tx: Transaction, owner: str, currency_code: str, delta: int) -> None:
    """Move money in or out of an owner's available balance."""
    balance = balance_of(tx, owner)
    available = balance["available"]
    available[currency_code] = available.get(currency_code, 0) + delta
    tx.put("balance", owner, balance)


def record_event(
    call: Call,
    event_type: str,
    obj: JSONObject,
    *,
    account: str | None = None,
    previous: JSONObject | None = None,
) -> JSONObject:
    """Store the Event Stripe would send to webhooks for a state change."""
    data: JSONObject = {"object": obj}
    if previous:
        data["previous_attributes"] = previous
    event: JSONObject = {"id": new_id("evt"), "object": "event"}
    if account is not None:
        event["account"] = account
    event.update(
        {
            "api_version": API_VERSION,
            "created": call.now,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {
                "id": call.request.request_id if call.request else None,
                "idempotency_key": call.request.idempotency_key if call.request else None,
            },
            "type": event_type,
        }
    )
    call.tx.put("event", event["id"], event)
    return event
