"""POST /stripe/webhook: signatures, deduplication, unknown types, account.updated."""

from __future__ import annotations

import json

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
