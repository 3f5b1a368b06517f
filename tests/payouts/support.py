"""Constants and helpers shared by the payout tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.payouts.gateway import DEV_ONBOARDING_PATH

WEBHOOK_SECRET = "whsec_test_payouts"
ONBOARDING_BASE = "http://localhost" + DEV_ONBOARDING_PATH
T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)
AFTER_HOLD = T0 + timedelta(days=10)


def deliver_events(client, emulator, secret=WEBHOOK_SECRET) -> list:
    """POST every pending emulator event, signed, to /stripe/webhook; return the responses."""
    responses = []
    for event in emulator.pending_events():
        body, header = emulator.signed_payload(event, secret)
        response = client.post(
            "/stripe/webhook",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        responses.append((event["type"], response.status_code, response.get_json()))
        if response.status_code == 200:
            emulator.mark_delivered(event["id"])
    return responses
