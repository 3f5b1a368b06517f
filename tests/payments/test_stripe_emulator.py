"""The emulated Stripe, driven only through stripe-python's real StripeClient."""

import json
import multiprocessing

import pytest
import stripe

from marketplace.payouts.sandbox.emulator import EmulatedStripe, EmulatorHTTPClient

WEBHOOK_SECRET = "whsec_test_cliffhanger"
TRANSFERS = {"transfers": {"requested": True}}


def make_client(emulator, max_network_retries=0):
    """A real StripeClient on the emulator; no silent retries unless a test asks for them."""
    return stripe.StripeClient(
        "sk_test_emulated",
        http_client=EmulatorHTTPClient(emulator),
        max_network_retries=max_network_retries,
    )


@pytest.fixture
def emulator():
    return EmulatedStripe()


@pytest.fixture
def client(emulator):
    return make_client(emulator)


@pytest.fixture
def make_account(client):
    def make(email="actor@example.com"):
        return client.v1.accounts.create(
            {"type": "express", "country": "US", "email": email, "capabilities": TRANSFERS}
        )

    return make


@pytest.fixture
def onboarded(emulator, make_account):
    account = make_account()
    emulator.complete_onboarding(account.id)
    return account.id


def available(client, account=None):
    options = {"stripe_account": account} if account else {}
    balance = client.v1.balance.retrieve(options=options)
    return {fund.currency: fund.amount for fund in balance.available}


def transfer(client, destination, amount=2500, key=None, **extra):
    options = {"idempotency_key": key} if key else {}
    params = {"amount": amount, "currency": "usd", "destination": destination, **extra}
    return client.v1.transfers.create(params, options)


def events_of(emulator, event_type):
    return [e for e in emulator.events_since() if e["type"] == event_type]


def test_onboarding_through_a_link_emits_a_verifiable_account_updated(
    emulator, client, make_account
):
    account = make_account()
    assert account.id.startswith("acct_")
    assert not account.details_submitted and not account.payouts_enabled
    assert "external_account" in account.requirements.currently_due

    link = client.v1.account_links.create({
        "account": account.id, "refresh_url": "http://localhost/onboard/refresh",
        "return_url": "http://localhost/onboard/done", "type": "account_onboarding",
    })
    found = emulator.lookup_account_link(link.url)
    assert found["account"] == account.id and not found["expired"]
    emulator.complete_onboarding(found["account"])

    refreshed = client.v1.accounts.retrieve(account.id)
    assert refreshed.details_submitted and refreshed.payouts_enabled
    assert refreshed.capabilities.transfers == "active"
    assert refreshed.requirements.currently_due == []

    [raw] = events_of(emulator, "account.updated")
    payload, header = emulator.signed_payload(raw, WEBHOOK_SECRET)
    assert header.startswith("t=") and ",v1=" in header
    event = client.construct_event(payload, header, WEBHOOK_SECRET)
    assert event.id.startswith("evt_") and event.account == account.id
    assert event.data.object.payouts_enabled is True
    assert event.data.previous_attributes.payouts_enabled is False
    module_level = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET, tolerance=300)
    assert module_level.id == event.id


def test_account_metadata_update_emits_account_updated(emulator, client, make_account):
    account = make_account()
    client.v1.accounts.update(account.id, {"metadata": {"creator_id": "42"}})
    listed = client.v1.accounts.list()
    assert [a.metadata.to_dict() for a in listed.data] == [{"creator_id": "42"}]
    [event] = events_of(emulator, "account.updated")
    assert event["data"]["previous_attributes"] == {"metadata": {}}


def test_a_transfer_debits_the_platform_and_credits_the_connected_account(
    emulator, client, onboarded
):
    emulator.fund_platform(10_000, "usd")
    made = transfer(client, onboarded, 2500, transfer_group="payout_7",
                    metadata={"payout_id": "7"})
    assert made.id.startswith("tr_") and made.amount_reversed == 0 and not made.reversed
    assert available(client) == {"usd": 7500}
    assert available(client, onboarded) == {"usd": 2500}
    assert client.v1.transfers.retrieve(made.id).metadata["payout_id"] == "7"
    [event] = events_of(emulator, "transfer.created")
    assert event["data"]["object"]["id"] == made.id and "account" not in event


def test_a_retry_with_the_same_key_returns_the_same_transfer(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    first = transfer(client, onboarded, key="payout-7")
    again = transfer(client, onboarded, key="payout-7")
    assert again.id == first.id
    assert again.last_response.headers["idempotent-replayed"] == "true"
    assert available(client) == {"usd": 7500}
    assert len(client.v1.transfers.list().data) == 1
    assert len(events_of(emulator, "transfer.created")) == 1


def test_the_same_key_with_other_parameters_is_an_idempotency_error(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    transfer(client, onboarded, 2500, key="payout-7")
    with pytest.raises(stripe.IdempotencyError) as raised:
        transfer(client, onboarded, 2600, key="payout-7")
    assert raised.value.http_status == 400
    assert raised.value.error.type == "idempotency_error"
    assert available(client) == {"usd": 7500}


def test_a_low_platform_balance_refuses_the_transfer(emulator, client, onboarded):
    emulator.fund_platform(1000)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        transfer(client, onboarded, 2500)
    assert raised.value.code == "balance_insufficient"
    assert available(client) == {"usd": 1000}
    assert client.v1.transfers.list().data == []


def test_balance_insufficient_can_be_injected(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    emulator.fail_next_transfer_to(onboarded, code="balance_insufficient")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        transfer(client, onboarded)
    assert raised.value.code == "balance_insufficient"
    assert transfer(client, onboarded).amount == 2500


def test_a_destination_that_cannot_receive_refuses_the_transfer(emulator, client, make_account):
    emulator.fund_platform(10_000)
    not_onboarded = make_account()
    with pytest.raises(stripe.InvalidRequestError) as raised:
        transfer(client, not_onboarded.id)
    assert raised.value.code == "insufficient_capabilities_for_transfer"
    assert raised.value.param == "destination"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        transfer(client, "acct_1DoesNotExist0000")
    assert unknown.value.code == "resource_missing"
    assert available(client) == {"usd": 10_000}


def test_a_refused_transfer_is_replayed_under_its_key(emulator, client, onboarded):
    emulator.fail_next_transfer_to(onboarded)
    emulator.fund_platform(10_000)
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            transfer(client, onboarded, key="payout-8")
        assert raised.value.code == "insufficient_capabilities_for_transfer"
    assert transfer(client, onboarded, key="payout-8-attempt-2").amount == 2500


def test_a_network_error_after_the_transfer_leaves_it_made(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    emulator.inject("network_error_after", path="/v1/transfers", destination=onboarded)
    with pytest.raises(stripe.APIConnectionError):
        transfer(client, onboarded, key="payout-9")
    assert len(client.v1.transfers.list().data) == 1
    retried = transfer(client, onboarded, key="payout-9")
    assert client.v1.transfers.list().data[0].id == retried.id
    assert available(client) == {"usd": 7500}
    assert len(events_of(emulator, "transfer.created")) == 1


def test_stripe_python_own_retries_reuse_the_key_and_hide_the_error(emulator, onboarded):
    emulator.fund_platform(10_000)
    emulator.inject("network_error_after")
    retrying = make_client(emulator, max_network_retries=2)
    made = transfer(retrying, onboarded)
    assert made.last_response.headers["idempotent-replayed"] == "true"
    assert available(retrying) == {"usd": 7500}


def test_a_network_error_before_the_request_changes_nothing(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    emulator.inject("network_error_before")
    with pytest.raises(stripe.APIConnectionError):
        transfer(client, onboarded, key="payout-10")
    assert client.v1.transfers.list().data == []
    assert transfer(client, onboarded, key="payout-10").amount == 2500


def test_reversals_emit_transfer_reversed(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    made = transfer(client, onboarded, 2500)
    partial = client.v1.transfers.reversals.create(made.id, {"amount": 1000})
    assert partial.id.startswith("trr_") and partial.transfer == made.id
    rest = client.v1.transfers.reversals.create(made.id)
    assert rest.amount == 1500
    reversed_transfer = client.v1.transfers.retrieve(made.id)
    assert reversed_transfer.reversed and reversed_transfer.amount_reversed == 2500
    assert available(client) == {"usd": 10_000}
    assert available(client, onboarded) == {"usd": 0}
    events = events_of(emulator, "transfer.reversed")
    assert [e["data"]["object"]["amount_reversed"] for e in events] == [1000, 2500]
    assert events[-1]["data"]["previous_attributes"]["reversed"] is False
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(made.id, {"amount": 1})


def test_payout_events_carry_the_connected_account(emulator, client, onboarded):
    emulator.fund_platform(10_000)
    transfer(client, onboarded, 5000)
    on_account = {"stripe_account": onboarded}
    paid = client.v1.payouts.create({"amount": 2000, "currency": "usd"}, on_account)
    failed = client.v1.payouts.create({"amount": 3000, "currency": "usd"}, on_account)
    assert paid.id.startswith("po_") and paid.status == "pending"
    assert available(client, onboarded) == {"usd": 0}

    emulator.settle_payout(paid.id, paid=True)
    emulator.settle_payout(failed.id, paid=False, failure_code="account_closed")

    assert client.v1.payouts.retrieve(paid.id, options=on_account).status == "paid"
    returned = client.v1.payouts.retrieve(failed.id, options=on_account)
    assert returned.status == "failed" and returned.failure_code == "account_closed"
    assert available(client, onboarded) == {"usd": 3000}
    [paid_event] = events_of(emulator, "payout.paid")
    [failed_event] = events_of(emulator, "payout.failed")
    assert paid_event["account"] == failed_event["account"] == onboarded
    assert failed_event["data"]["object"]["failure_message"]
    payload, header = emulator.signed_payload(failed_event, WEBHOOK_SECRET)
    assert client.construct_event(payload, header, WEBHOOK_SECRET).account == onboarded


def test_payouts_need_a_finished_onboarding(emulator, client, make_account):
    account = make_account()
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payouts.create({"amount": 100, "currency": "usd"},
                                 {"stripe_account": account.id})
    assert raised.value.code == "payouts_not_allowed"


def test_two_emulators_on_one_file_share_state(tmp_path):
    path = tmp_path / "stripe-emulator.sqlite3"
    web, scheduler = EmulatedStripe.file_backed(path), EmulatedStripe.file_backed(path)
    web_client, scheduler_client = make_client(web), make_client(scheduler)
    account = web_client.v1.accounts.create({
        "type": "express", "country": "FR", "capabilities": TRANSFERS,
        "tos_acceptance": {"service_agreement": "recipient"},
    })
    web.complete_onboarding(account.id)
    scheduler.fund_platform(10_000, "eur")

    params = {"amount": 2500, "currency": "eur", "destination": account.id}
    made = scheduler_client.v1.transfers.create(params, {"idempotency_key": "payout-11"})
    again = web_client.v1.transfers.create(params, {"idempotency_key": "payout-11"})
    assert again.id == made.id
    assert available(web_client) == {"eur": 7500, "usd": 0}
    assert available(scheduler_client, account.id) == {"eur": 2500}
    assert [e["type"] for e in web.events_since()] == ["account.updated", "transfer.created"]
    first = scheduler.events_since()[0]["id"]
    assert [e["type"] for e in web.events_since(first)] == ["transfer.created"]


def _pay_everyone(path, destination, keys):
    client = make_client(EmulatedStripe.file_backed(path))
    for key in keys:
        transfer(client, destination, 100, key=key)


def test_two_processes_paying_with_the_same_keys_pay_once(tmp_path):
    path = tmp_path / "stripe-emulator.sqlite3"
    emulator = EmulatedStripe.file_backed(path)
    client = make_client(emulator)
    account = client.v1.accounts.create({"type": "express", "capabilities": TRANSFERS})
    emulator.complete_onboarding(account.id)
    emulator.fund_platform(10_000)
    keys = [f"payout-{n}" for n in range(20)]
    workers = [
        multiprocessing.Process(target=_pay_everyone, args=(path, account.id, order))
        for order in (keys, keys[::-1])
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert available(client) == {"usd": 8000}
    assert available(client, account.id) == {"usd": 2000}
    assert len(list(client.v1.transfers.list().auto_paging_iter())) == 20


def test_delivered_events_leave_the_pending_list(emulator, client, onboarded):
    [event] = emulator.pending_events()
    emulator.mark_delivered(event["id"])
    assert emulator.pending_events() == []


def test_a_tampered_or_stale_payload_fails_verification(emulator, client, onboarded):
    [event] = emulator.events_since()
    payload, header = emulator.signed_payload(event, WEBHOOK_SECRET)
    tampered = json.loads(payload)
    tampered["data"]["object"]["payouts_enabled"] = False
    with pytest.raises(stripe.SignatureVerificationError):
        client.construct_event(json.dumps(tampered, indent=2), header, WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        client.construct_event(payload, header, "whsec_someone_else")
    stale_payload, stale_header = emulator.signed_payload(event, WEBHOOK_SECRET,
                                                          timestamp=event["created"] - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(stale_payload, stale_header, WEBHOOK_SECRET, tolerance=300)


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"amount": 0}, "amount", "parameter_invalid_integer"),
        ({"amount": -5}, "amount", "parameter_invalid_integer"),
        ({"amount": "12.50"}, "amount", "parameter_invalid_integer"),
        ({"currency": "xyz"}, "currency", None),
        ({"destination": None}, "destination", "parameter_missing"),
        ({"source_transaction": "ch_1"}, "source_transaction", "parameter_unknown"),
    ],
)
def test_money_parameters_are_checked(emulator, client, onboarded, params, param, code):
    emulator.fund_platform(10_000)
    request = {"amount": 100, "currency": "usd", "destination": onboarded, **params}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.create(request)
    assert (raised.value.param, raised.value.code) == (param, code)


def test_unknown_endpoints_and_live_keys_are_refused(emulator, client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.create()
    assert raised.value.http_status == 404
    assert "Unrecognized request URL" in raised.value.user_message
    live = stripe.StripeClient("sk_live_nope", http_client=EmulatorHTTPClient(emulator),
                               max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        live.v1.balance.retrieve()
