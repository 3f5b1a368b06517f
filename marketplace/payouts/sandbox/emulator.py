"""The project's own stateful emulated Stripe (the Connect subset the payouts feature uses).

Plug it into stripe-python's real client; nothing else in the project may fake Stripe::

    emulator = EmulatedStripe()                          # or EmulatedStripe.file_backed(path)
    client = stripe.StripeClient(
        "sk_test_emulated",
        http_client=EmulatorHTTPClient(emulator),
        max_network_retries=0,                           # see the note below
    )

Every request runs in one store transaction: the fault it may trigger, the Idempotency-Key
check, the endpoint's writes, the events it emits and the saved idempotent result commit
together. A "network error after" fault commits all of that and only then withholds the
answer, so the client sees APIConnectionError while the transfer exists, like a real timeout.

Retries: stripe-python retries connection errors, 409s and 5xx up to `max_network_retries`,
reusing the request's Idempotency-Key, so a retry is safe but hides the failure from the
caller. Tests that want to see an injected failure use `max_network_retries=0`.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stripe import WebhookSignature

from marketplace.payouts.sandbox import accounts, balances, money, payouts
from marketplace.payouts.sandbox.core import API_VERSION, Call, new_id
from marketplace.payouts.sandbox.faults import FAULT_KINDS, KNOWN_ERRORS, fault_error
from marketplace.payouts.sandbox.http import (
    EmulatorHTTPClient,
    EmulatorRequest,
    EmulatorResponse,
    StripeAPIError,
    parse_request,
)
from marketplace.payouts.sandbox.store import (
    JSONObject,
    MemoryStore,
    SqliteStore,
    StateStore,
    Transaction,
)

__all__ = [
    "FAULT_KINDS",
    "EmulatedStripe",
    "EmulatorHTTPClient",
    "MemoryStore",
    "SqliteStore",
    "StateStore",
]

_ID = r"([^/]+)"
_Handler = Callable[..., JSONObject]
_PATHS: list[tuple[str, str, _Handler]] = [
    ("post", "/v1/accounts", accounts.create_account),
    ("get", "/v1/accounts", accounts.list_accounts),
    ("get", f"/v1/accounts/{_ID}", accounts.retrieve_account),
    ("post", f"/v1/accounts/{_ID}", accounts.update_account),
    ("post", "/v1/account_links", accounts.create_account_link),
    ("get", "/v1/balance", balances.retrieve_balance),
    ("post", "/v1/transfers", money.create_transfer),
    ("get", "/v1/transfers", money.list_transfers),
    ("get", f"/v1/transfers/{_ID}", money.retrieve_transfer),
    ("post", f"/v1/transfers/{_ID}/reversals", money.create_reversal),
    ("get", f"/v1/transfers/{_ID}/reversals", money.list_reversals),
    ("get", f"/v1/transfers/{_ID}/reversals/{_ID}", money.retrieve_reversal),
    ("post", "/v1/payouts", payouts.create_payout),
    ("get", "/v1/payouts", payouts.list_payouts),
    ("get", f"/v1/payouts/{_ID}", payouts.retrieve_payout),
    ("get", "/v1/balance_transactions", balances.list_balance_transactions),
    ("get", f"/v1/balance_transactions/{_ID}", balances.retrieve_balance_transaction),
    ("get", "/v1/events", balances.list_events),
    ("get", f"/v1/events/{_ID}", balances.retrieve_event),
]
_ROUTES: list[tuple[str, re.Pattern[str], _Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler) for method, pattern, handler in _PATHS
]


class EmulatedStripe:
    """Stateful emulated Stripe: accounts, links, transfers, reversals, balance, payouts, events.

    `handle` answers HTTP requests (EmulatorHTTPClient calls it); the other public methods are
    the test and demo controls: what Stripe, the bank or the account holder would do.
    """

    def __init__(
        self,
        store: StateStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
        onboarding_url_base: str = "https://connect.stripe.com/setup/e",
        platform_currency: str = "usd",
        platform_country: str = "US",
    ) -> None:
        self._store = store if store is not None else MemoryStore()
        self._clock = clock
        self._onboarding_url_base = onboarding_url_base.rstrip("/")
        self._platform_currency = platform_currency
        self._platform_country = platform_country

    @classmethod
    def file_backed(cls, path: str | Path, **options: Any) -> EmulatedStripe:
        """An emulator whose state lives in a SQLite file that other processes can share."""
        return cls(SqliteStore(path), **options)

    def _call(self, tx: Transaction, request: EmulatorRequest | None = None) -> Call:
        return Call(
            tx=tx,
            now=int(self._clock()),
            request=request,
            onboarding_url_base=self._onboarding_url_base,
            platform_currency=self._platform_currency,
            platform_country=self._platform_country,
        )

    # --- the wire -------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: dict[str, str], body: Any) -> EmulatorResponse:
        """Answer one HTTP request the way api.stripe.com would."""
        request_id = new_id("req")
        try:
            request = parse_request(method.lower(), url, headers, body, request_id)
        except StripeAPIError as error:
            return EmulatorResponse(error.status, error.body(), {"request-id": request_id})
        with self._store.transaction() as tx:
            fault = self._take_fault(tx, request)
            if fault is not None and fault["kind"] == "network_error_before":
                return EmulatorResponse(
                    0,
                    {},
                    connection_error="ConnectionError: connection reset by peer "
                    "(the request never reached the emulated Stripe)",
                )
            response = self._respond(self._call(tx, request), fault)
        if fault is not None and fault["kind"] == "network_error_after":
            response.connection_error = (
                "ReadTimeout: the emulated Stripe processed the request "
                f"({request_id}) but the response was lost"
            )
        return response

    def _respond(self, call: Call, fault: JSONObject | None) -> EmulatorResponse:
        request = call.request
        assert request is not None
        headers = {
            "request-id": request.request_id,
            "content-type": "application/json",
            "stripe-version": API_VERSION,
        }
        scope = None
        if request.idempotency_key:
            headers["idempotency-key"] = request.idempotency_key
            scope = f"{request.stripe_account or 'platform'}:{request.idempotency_key}"
            replay = self._replay(call.tx, scope, request)
            if replay is not None:
                status, body = replay
                headers["idempotent-replayed"] = "true"
                return EmulatorResponse(status, body, headers)
        try:
            with call.tx.savepoint():
                if fault is not None and fault["kind"] == "error":
                    raise fault_error(fault)
                handler, args = _route(request)
                status, body, saved = 200, handler(call, *args), True
        except StripeAPIError as error:
            status, body, saved = error.status, error.body(), error.executed
        if scope is not None and saved:
            call.tx.put(
                "idempotency",
                scope,
                {
                    "method": request.method,
                    "path": request.path,
                    "params": request.params,
                    "status": status,
                    "body": body,
                },
            )
        return EmulatorResponse(status, body, headers)

    @staticmethod
    def _replay(
        tx: Transaction, scope: str, request: EmulatorRequest
    ) -> tuple[int, JSONObject] | None:
        record = tx.get("idempotency", scope)
        if record is None:
            return None
        key = request.idempotency_key
        if (record["method"], record["path"]) != (request.method, request.path):
            message = (
                f"Keys for idempotent requests can only be used for the same endpoint "
                f"they were first used for ({record['path']}). Try using a key other "
                f"than '{key}' if you meant to execute a different request."
            )
        elif record["params"] != request.params:
            message = (
                f"Keys for idempotent requests can only be used with the same "
                f"parameters they were first used with. Try using a key other than "
                f"'{key}' if you meant to execute a different request."
            )
        else:
            return record["status"], record["body"]
        error = StripeAPIError(400, message, error_type="idempotency_error")
        return error.status, error.body()

    # --- failure injection ----------------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        method: str = "post",
        path: str = "/v1/transfers",
        destination: str | None = None,
        code: str | None = None,
        message: str | None = None,
        status: int | None = None,
        times: int = 1,
    ) -> str:
        """Make the next `times` matching requests fail; returns the fault's id.

        kind: "network_error_before" (request lost, nothing happens), "network_error_after"
        (request fully processed and committed, answer lost: APIConnectionError), or "error"
        (Stripe answers with error `code`; 4xx other than 429 are saved under the request's
        Idempotency-Key, as Stripe saves results of requests it executed).
        path is a glob ("/v1/transfers/*/reversals"); destination narrows to transfers to it.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        fault: JSONObject = {
            "id": new_id("fault"),
            "kind": kind,
            "method": method.lower(),
            "path": path,
            "destination": destination,
            "times": times,
        }
        if kind == "error":
            if code is None:
                raise ValueError("an injected error needs a code")
            known = KNOWN_ERRORS.get(code, (400, message, None))
            if known[1] is None:
                raise ValueError(f"no stock message for code {code!r}; pass message=")
            fault.update(
                code=code, status=status or known[0], message=message or known[1], param=known[2]
            )
        with self._store.transaction() as tx:
            tx.put("fault", fault["id"], fault)
        return fault["id"]

    def fail_next_transfer_to(
        self, destination: str, code: str = "insufficient_capabilities_for_transfer"
    ) -> str:
        """Make the next transfer to `destination` fail with Stripe error `code`."""
        return self.inject("error", destination=destination, code=code)

    def clear_faults(self) -> None:
        """Forget every fault not yet triggered."""
        with self._store.transaction() as tx:
            for fault in tx.list("fault"):
                tx.delete("fault", fault["id"])

    @staticmethod
    def _take_fault(tx: Transaction, request: EmulatorRequest) -> JSONObject | None:
        for fault in tx.list("fault"):
            if (
                fault["method"] == request.method
                and fnmatch.fnmatchcase(request.path, fault["path"])
                and fault["destination"] in (None, request.params.get("destination"))
            ):
                fault["times"] -= 1
                if fault["times"] <= 0:
                    tx.delete("fault", fault["id"])
                else:
                    tx.put("fault", fault["id"], fault)
                return fault
        return None

    # --- what the outside world does ------------------------------------------------------

    def fund_platform(self, amount: int, currency: str = "usd") -> None:
        """Add settled funds to the platform's available balance."""
        with self._store.transaction() as tx:
            balances.fund_platform(self._call(tx), amount, currency)

    def complete_onboarding(
        self, account_id: str, bank_currencies: list[str] | None = None
    ) -> JSONObject:
        """The account holder finishes hosted onboarding, with a bank account in the default
        currency and in each of `bank_currencies`; emits account.updated."""
        with self._store.transaction() as tx:
            return accounts.complete_onboarding(self._call(tx), account_id, bank_currencies)

    def account(self, account_id: str) -> JSONObject | None:
        """The stored account (for the development onboarding page), or None."""
        with self._store.transaction() as tx:
            return tx.get("account", account_id)

    def lookup_account_link(self, url: str) -> JSONObject | None:
        """The onboarding link behind a URL (account, return_url, refresh_url, expired)."""
        token = url.rstrip("/").rsplit("/", 1)[-1]
        with self._store.transaction() as tx:
            link = tx.get("account_link", token)
        if link is None or link["url"] != url:
            return None
        return {**link, "expired": int(self._clock()) >= link["expires_at"]}

    def settle_payout(
        self, payout_id: str, paid: bool = True, failure_code: str | None = None
    ) -> JSONObject:
        """The bank pays or returns a pending payout; emits payout.paid or payout.failed."""
        with self._store.transaction() as tx:
            return payouts.settle_payout(
                self._call(tx),
                payout_id,
                paid=paid,
                failure_code=failure_code or "could_not_process",
            )

    # --- webhook events -------------------------------------------------------------------

    def events_since(self, cursor: str | None = None) -> list[JSONObject]:
        """Events recorded after the event `cursor` (all if None), oldest first."""
        with self._store.transaction() as tx:
            events = tx.list("event")
        if cursor is None:
            return events
        ids = [e["id"] for e in events]
        if cursor not in ids:
            raise KeyError(f"no event {cursor}")
        return events[ids.index(cursor) + 1 :]

    def pending_events(self) -> list[JSONObject]:
        """Events not yet marked delivered, oldest first."""
        with self._store.transaction() as tx:
            return [e for e in tx.list("event") if tx.get("event_delivery", e["id"]) is None]

    def mark_delivered(self, event_id: str) -> None:
        """Record that the webhook endpoint acknowledged `event_id`."""
        with self._store.transaction() as tx:
            if tx.get("event", event_id) is None:
                raise KeyError(f"no event {event_id}")
            tx.put("event_delivery", event_id, {"delivered_at": int(self._clock())})

    def signed_payload(
        self, event: JSONObject, secret: str, timestamp: int | None = None
    ) -> tuple[bytes, str]:
        """The webhook body and its Stripe-Signature header (`t=...,v1=...`)."""
        payload = json.dumps(event, indent=2)
        header = WebhookSignature.generate_signature_header(
            payload, secret, timestamp if timestamp is not None else int(self._clock())
        )
        return payload.encode("utf-8"), header


def _route(request: EmulatorRequest) -> tuple[Callable[..., JSONObject], tuple[str, ...]]:
    for method, pattern, handler in _ROUTES:
        match = pattern.match(request.path)
        if match and method == request.method:
            return handler, match.groups()
    raise StripeAPIError(
        404,
        f"Unrecognized request URL ({request.method.upper()}: {request.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )
