"""The one place that builds the StripeClient the payouts feature talks to.

- STRIPE_SECRET_KEY set: stripe-python's client against api.stripe.com (test or live mode).
- No key: the project's emulated Stripe, its state in the SQLite file STRIPE_EMULATOR_PATH
  (shared by the web server and the scheduler process); the UI says "Stripe sandbox
  (emulated)" and onboarding links point at a development-only route of our own.
- Tests put a gateway on `app.extensions[EXTENSION_KEY]` (an in-memory emulator, no retries).
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from flask import Flask, current_app
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.navigation import link_base
from marketplace.payouts.models import PayoutLine
from marketplace.payouts.sandbox.emulator import EmulatedStripe, EmulatorHTTPClient

EXTENSION_KEY = "cliffhanger_stripe"
EMULATED_LABEL = "Stripe sandbox (emulated)"
DEV_ONBOARDING_PATH = "/payouts/dev/stripe-onboarding"
WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass
class StripeGateway:
    """A StripeClient plus, when emulated, the emulator behind it (for the demo's controls).

    Fields: client (stripe.StripeClient), emulator (None when talking to real Stripe),
    webhook_secret (STRIPE_WEBHOOK_SECRET), onboarding_url_base (where emulated onboarding
    links point, None for real Stripe), client_key_is_test (a test-mode key).
    """

    client: stripe.StripeClient
    webhook_secret: str
    emulator: EmulatedStripe | None = None
    onboarding_url_base: str | None = None
    client_key_is_test: bool = True

    @property
    def emulated(self) -> bool:
        """Whether this is the emulated sandbox rather than Stripe itself."""
        return self.emulator is not None

    @property
    def label(self) -> str:
        """How the UI names where payouts go."""
        if self.emulated:
            return EMULATED_LABEL
        return "Stripe (test mode)" if self.client_key_is_test else "Stripe"


def emulated_gateway(
    emulator: EmulatedStripe,
    webhook_secret: str,
    *,
    max_network_retries: int = 2,
    onboarding_url_base: str | None = None,
) -> StripeGateway:
    """A gateway whose StripeClient talks to `emulator` through stripe-python's HTTP layer."""
    client = stripe.StripeClient(
        "sk_test_emulated",
        http_client=EmulatorHTTPClient(emulator),
        max_network_retries=max_network_retries,
    )
    return StripeGateway(
        client=client,
        webhook_secret=webhook_secret,
        emulator=emulator,
        onboarding_url_base=onboarding_url_base,
    )


def build_gateway(app: Flask) -> StripeGateway:
    """The gateway the configuration asks for (real Stripe with a key, else the emulator)."""
    config = app.config
    secret = config.get("STRIPE_WEBHOOK_SECRET", "")
    key = config.get("STRIPE_SECRET_KEY", "")
    if key:
        return StripeGateway(
            client=stripe.StripeClient(key, max_network_retries=2),
            webhook_secret=secret,
            client_key_is_test=key.startswith(("sk_test_", "rk_test_")),
        )
    with app.app_context():
        onboarding = link_base() + DEV_ONBOARDING_PATH
    emulator = EmulatedStripe.file_backed(
        config["STRIPE_EMULATOR_PATH"],
        onboarding_url_base=onboarding,
        platform_country=config.get("STRIPE_PLATFORM_COUNTRY", "US"),
    )
    return emulated_gateway(emulator, secret, onboarding_url_base=onboarding)


def get_gateway(app: Flask | None = None) -> StripeGateway:
    """The app's gateway, built on first use and kept on app.extensions."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy typed as Flask
    gateway = app.extensions.get(EXTENSION_KEY)
    if gateway is None:
        gateway = app.extensions[EXTENSION_KEY] = build_gateway(app)
    return gateway


def install_gateway(app: Flask, gateway: StripeGateway | None) -> None:
    """Put a gateway on the app (tests: an in-memory emulator), or remove it with None."""
    if gateway is None:
        app.extensions.pop(EXTENSION_KEY, None)
    else:
        app.extensions[EXTENSION_KEY] = gateway


def relay_emulated_stripe(app: Flask) -> int:
    """Emulated sandbox only: the bank pays pending payouts, and pending events are POSTed,
    signed, to our webhook. Returns how many events were acknowledged."""
    gateway = get_gateway(app)
    emulator = gateway.emulator
    if emulator is None:
        return 0
    with app.app_context():
        pending = db.session.scalars(
            select(PayoutLine.bank_payout_id).where(
                PayoutLine.status == "sent", PayoutLine.bank_payout_id.is_not(None)
            )
        ).all()
        db.session.rollback()
    for payout_id in pending:
        assert payout_id is not None  # the query keeps lines with a bank payout only
        try:
            emulator.settle_payout(payout_id, paid=True)
        except (KeyError, ValueError):  # settled already, or not the emulator's
            continue
    delivered = 0
    client = app.test_client()
    for event in emulator.pending_events():
        body, header = emulator.signed_payload(event, gateway.webhook_secret)
        response = client.post(
            "/stripe/webhook",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        if response.status_code == 200:
            emulator.mark_delivered(event["id"])
            delivered += 1
    return delivered
