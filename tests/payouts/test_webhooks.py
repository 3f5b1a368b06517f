"""POST /stripe/webhook: signatures, deduplication, unknown types, account.updated."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from sqlalchemy import func, select

from marketplace.payouts.models import StripeWebhookEvent
from tests.payouts.support import WEBHOOK_SECRET, deliver_events


def post(client, body, header):
    return client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def test_account_updated_enables_the_account_once_per_event(
    db, client, gateway, emulator, connect, make_participant
):
    user = make_participant()
    account = connect(user, enabled=False)
    emulator.complete_onboarding(account.stripe_account_id)
    [event] = emulator.pending_events()
    body, header = emulator.signed_payload(event, WEBHOOK_SECRET)
    assert post(client, body, header).get_json() == {"received": True, "outcome": "handled"}
    db.session.refresh(account)
    assert account.payouts_enabled and account.details_submitted
    again = post(client, body, header)
    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    count = db.session.scalar(select(func.count()).select_from(StripeWebhookEvent))
    assert count == 1


def test_bad_signatures_get_400_and_unknown_types_are_acknowledged(db, client, gateway, emulator):
    event = {
        "id": "evt_unknown",
        "object": "event",
        "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_1"}},
    }
    body, header = emulator.signed_payload(event, WEBHOOK_SECRET)
    assert post(client, body, header).get_json()["outcome"] == "ignored"
    forged, forged_header = emulator.signed_payload(event, "whsec_someone_else")
    assert post(client, forged, forged_header).status_code == 400
    tampered = json.dumps({**event, "id": "evt_other"}).encode()
    response = post(client, tampered, header)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_signature"
    old_body, old_header = emulator.signed_payload(
        {**event, "id": "evt_old"}, WEBHOOK_SECRET, timestamp=1_000_000
    )
    assert post(client, old_body, old_header).status_code == 400
    assert deliver_events(client, emulator) == []


def test_the_dev_onboarding_route_is_not_mounted_with_a_real_key(tmp_path):
    from marketplace import create_app

    real = create_app(
        {
            "TESTING": True,
            "STRIPE_SECRET_KEY": "sk_test_not_used",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3",
        }
    )
    assert "payouts.dev_onboarding" not in real.view_functions
    from marketplace.payouts.gateway import get_gateway

    assert not get_gateway(real).emulated and get_gateway(real).label == "Stripe (test mode)"


def test_a_webhook_signed_in_the_future_is_refused(db, client, gateway, emulator):
    event = {"id": "evt_future", "object": "event", "type": "charge.dispute.created",
             "data": {"object": {"id": "dp_1"}}}  # fmt: skip
    ahead, ahead_header = emulator.signed_payload(
        event, WEBHOOK_SECRET, timestamp=int(time.time()) + 3600
    )
    response = post(client, ahead, ahead_header)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_signature"
    nearly, nearly_header = emulator.signed_payload(
        event, WEBHOOK_SECRET, timestamp=int(time.time()) + 60
    )
    assert post(client, nearly, nearly_header).get_json()["outcome"] == "ignored"


def test_signed_payloads_that_are_not_events_are_400(db, client, gateway, emulator):
    good = {"id": "evt_shape", "object": "event", "type": "payout.paid",
            "data": {"object": {"id": "po_1"}}}  # fmt: skip
    shapes = [
        {k: v for k, v in good.items() if k != "id"},
        {**good, "id": ""},
        {**good, "id": 42},
        {**good, "id": "evt_\x00"},
        {**good, "id": "evt_" + "x" * 300},
        {**good, "type": None},
        {**good, "type": "t" * 101},
        {**good, "data": None},
        {**good, "data": {"object": ["po_1"]}},
        {**good, "data": {"object": {}}},
        {**good, "data": {"object": {"id": 7}}},
        {**good, "account": {"id": "acct_1"}},
        {**good, "account": "acct_" + "x" * 64},
    ]
    for shape in shapes:
        body, header = emulator.signed_payload(shape, WEBHOOK_SECRET)
        response = post(client, body, header)
        assert response.status_code == 400, shape
        assert response.get_json()["error"]["code"] == "malformed_event", shape
    for raw in (b"[]", b'"evt"', b"null"):
        body, header = emulator.signed_payload({}, WEBHOOK_SECRET)
        stamp = header.split(",")[0].removeprefix("t=")
        mac = hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        assert post(client, raw, f"t={stamp},v1={mac.hexdigest()}").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StripeWebhookEvent)) == 0
    body, header = emulator.signed_payload(good, WEBHOOK_SECRET)
    assert post(client, body, header).get_json()["outcome"] == "ignored"
