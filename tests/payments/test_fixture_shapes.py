"""The emulated Stripe's objects carry the fields of Stripe's own published fixtures
(shared/stripe/fixtures3.json, from Stripe's OpenAPI repository), with the same JSON types:
one test per object type the payouts feature uses, each object made through stripe-python's
real client and read back as the raw JSON the emulator answered.

How shapes are compared: the same keys at every level of nesting; where both values are set,
the same JSON type (a null in the fixture says the field is nullable and fixes no type; lists
compare their first elements). Free-form maps (metadata, capabilities, source_types) compare
types only. One documented extra: a Connect event carries `account`, the connected account it
happened on (https://docs.stripe.com/connect/webhooks), which the platform fixture lacks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stripe

from marketplace.payouts.sandbox.emulator import EmulatedStripe, EmulatorHTTPClient

# Stripe's published fixtures (openapi/fixtures3.json, MIT: see the LICENSE beside it), kept in
# the repository so that the check never depends on a folder outside it; the steering repo's
# shared/stripe/ holds the same file (checked below when it is there).
FIXTURES = Path(__file__).resolve().parent / "stripe_fixtures" / "fixtures3.json"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "stripe" / "fixtures3.json"
FREE_FORM = {"metadata", "capabilities", "source_types"}
EXTRAS = {"event": {"account"}}
RECIPIENT = {"service_agreement": "recipient"}
TRANSFERS = {"transfers": {"requested": True}}


@pytest.mark.skipif(not SHARED.exists(), reason="no shared/ beside the repository")
def test_the_kept_fixtures_are_the_shared_ones():
    assert FIXTURES.read_bytes() == SHARED.read_bytes()


@pytest.fixture(scope="module")
def fixtures() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def _type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape_differences(ours, theirs, path="", extras=frozenset()) -> list[str]:
    """Where `ours` differs in keys or JSON types from Stripe's fixture `theirs`."""
    if theirs is None or ours is None:
        return []
    if _type(ours) != _type(theirs):
        if {_type(ours), _type(theirs)} == {"integer", "number"}:
            return []
        return [f"{path or '.'}: {_type(ours)} where Stripe has {_type(theirs)}"]
    if isinstance(ours, list):
        if ours and theirs:
            return shape_differences(ours[0], theirs[0], f"{path}[0]")
        return []
    if not isinstance(ours, dict):
        return []
    if path.rsplit(".", 1)[-1] in FREE_FORM:
        return []
    problems = [f"{path}.{k}: missing" for k in sorted(set(theirs) - set(ours))]
    problems += [f"{path}.{k}: not in Stripe's" for k in sorted(set(ours) - set(theirs) - extras)]
    for key in set(ours) & set(theirs):
        problems += shape_differences(ours[key], theirs[key], f"{path}.{key}")
    return problems


def raw(obj) -> dict:
    """The JSON the emulator answered for a stripe-python object."""
    return json.loads(obj.last_response.body)


@pytest.fixture
def emulator():
    return EmulatedStripe()


@pytest.fixture
def client(emulator):
    return stripe.StripeClient(
        "sk_test_emulated", http_client=EmulatorHTTPClient(emulator), max_network_retries=0
    )


@pytest.fixture
def paid_account(emulator, client):
    """A German recipient account, onboarded with EUR and USD bank accounts, paid a transfer
    in GBP (converted into EUR) whose bank payout was paid."""
    account = client.v1.accounts.create(
        {"type": "express", "country": "DE", "capabilities": TRANSFERS, "tos_acceptance": RECIPIENT}
    )
    emulator.complete_onboarding(account.id, ["usd"])
    emulator.fund_platform(100_000, "gbp")
    transfer = client.v1.transfers.create(
        {"amount": 10_000, "currency": "gbp", "destination": account.id}
    )
    txn = client.v1.balance_transactions.list(
        {"source": transfer.destination_payment}, {"stripe_account": account.id}
    ).data[0]
    payout = client.v1.payouts.create(
        {"amount": txn.amount, "currency": txn.currency}, {"stripe_account": account.id}
    )
    emulator.settle_payout(payout.id, paid=True)
    return account.id, transfer, payout


def check(fixtures, kind, ours):
    assert shape_differences(ours, fixtures[kind], kind, EXTRAS.get(kind, set())) == []


def test_account(fixtures, client, paid_account):
    account_id, _, _ = paid_account
    check(fixtures, "account", raw(client.v1.accounts.retrieve(account_id)))


def test_bank_account(fixtures, client, paid_account):
    account = raw(client.v1.accounts.retrieve(paid_account[0]))
    banks = account["external_accounts"]["data"]
    assert sorted(b["currency"] for b in banks) == ["eur", "usd"]
    for bank in banks:
        check(fixtures, "bank_account", bank)


def test_account_link(fixtures, client, paid_account):
    link = client.v1.account_links.create({
        "account": paid_account[0], "refresh_url": "http://localhost/r",
        "return_url": "http://localhost/d", "type": "account_onboarding",
    })  # fmt: skip
    check(fixtures, "account_link", raw(link))


def test_transfer(fixtures, client, paid_account):
    check(fixtures, "transfer", raw(client.v1.transfers.retrieve(paid_account[1].id)))


def test_transfer_reversal(fixtures, emulator, client):
    account = client.v1.accounts.create({"type": "express", "capabilities": TRANSFERS})
    emulator.complete_onboarding(account.id)
    emulator.fund_platform(5_000)
    transfer = client.v1.transfers.create(
        {"amount": 5_000, "currency": "usd", "destination": account.id}
    )
    check(fixtures, "transfer_reversal", raw(client.v1.transfers.reversals.create(transfer.id)))


def test_payout(fixtures, client, paid_account):
    account_id, _, payout = paid_account
    paid = client.v1.payouts.retrieve(payout.id, options={"stripe_account": account_id})
    assert paid.status == "paid"
    check(fixtures, "payout", raw(paid))


def test_balance_transaction_of_a_converted_transfer(fixtures, client, paid_account):
    account_id, transfer, _ = paid_account
    txn = client.v1.balance_transactions.list(
        {"source": transfer.destination_payment}, {"stripe_account": account_id}
    ).data[0]
    # 100.00 GBP landed as EUR (the account has no GBP bank account), at the sandbox's rate.
    assert (txn.currency, txn.amount, txn.exchange_rate) == ("eur", 11_646, 1.164557)
    check(fixtures, "balance_transaction", raw(client.v1.balance_transactions.retrieve(
        txn.id, options={"stripe_account": account_id}
    )))  # fmt: skip


def test_balance(fixtures, client, paid_account):
    check(fixtures, "balance", raw(client.v1.balance.retrieve()))


def test_event(fixtures, emulator, client, paid_account):
    events = emulator.events_since()
    assert {e["type"] for e in events} >= {"account.updated", "transfer.created", "payout.paid"}
    for event in events:
        # data holds the object (compared with its own type's fixture) and, for updates,
        # previous_attributes (https://docs.stripe.com/api/events/object).
        data = event["data"]
        assert set(data) <= {"object", "previous_attributes"}
        check(fixtures, "event", {**event, "data": {"object": fixtures["event"]["data"]["object"]}})
        check(fixtures, data["object"]["object"], data["object"])
