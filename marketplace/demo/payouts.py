"""The demo's payouts: two participants (in the US and in France) onboarded in the Stripe
sandbox with their tax forms, and one batch paid (USD and EUR lines, some converted)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.navigation import absolute
from marketplace.payouts.models import PayoutBatch
from marketplace.tax.services import W8BEN, W9, submit_w8ben, submit_w9

PARTNER_CURRENCIES = ("USD", "EUR")


def _demo_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    assert user is not None, f"demo user {email} is created before the payouts"
    return user


DEMO_PAYEES: list[tuple[str, str, W9 | W8BEN]] = [
    # email, country, tax form: a US writer (W-9) and a French actor (W-8BEN, treaty rate)
    (
        "writer@example.com",
        "US",
        W9(
            legal_name="Sam Okafor",
            tin_type="SSN",
            tin="123-45-6789",
            address="1 Sunset Blvd\nLos Angeles, CA 90028",
            address_country="US",
            certified=True,
            signed_name="Sam Okafor",
        ),
    ),
    (
        "actor@example.com",
        "FR",
        W8BEN(
            legal_name="Alex Moreau",
            residence_country="FR",
            foreign_tin="1 23 45 67 890 123",
            address="12 rue de Rivoli\n75001 Paris",
            address_country="FR",
            treaty_country="FR",
            treaty_article="12",
            treaty_rate="0",
            certified=True,
            signed_name="Alex Moreau",
        ),
    ),
]


def load_payouts(session: Session, now: datetime) -> None:
    """Onboard two participants (in the US and in France) in the Stripe sandbox, file their
    tax forms and pay them one batch (USD and EUR lines, some converted by Stripe)."""
    from marketplace.payouts.batches import build_batch
    from marketplace.payouts.execution import execute_batch
    from marketplace.payouts.gateway import get_gateway, relay_emulated_stripe
    from marketplace.payouts.services import (
        approve_batch,
        record_platform_funding,
        start_onboarding,
    )

    gateway = get_gateway()
    as_of = now - timedelta(days=7)
    if gateway.emulator is None or session.scalar(select(func.count()).select_from(PayoutBatch)):
        return
    for currency in PARTNER_CURRENCIES:
        gateway.emulator.fund_platform(10_000_000, currency.lower())
        record_platform_funding(
            session, amount=10_000_000, currency=currency, reference=f"demo-topup-{currency}"
        )
    session.commit()
    for email, country, form in DEMO_PAYEES:
        user = _demo_user(session, email)
        if isinstance(form, W9):
            submit_w9(session, user, form)
        else:
            submit_w8ben(session, user, form)
        started = start_onboarding(
            session,
            gateway,
            user,
            return_url=absolute("/payouts/return"),
            refresh_url=absolute("/payouts/refresh"),
            country=country,
        )
        assert started.url is not None  # US and DE: Stripe Connect reaches both
        link = gateway.emulator.lookup_account_link(started.url)
        assert link is not None  # the link start_onboarding has just made
        gateway.emulator.complete_onboarding(link["account"])
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy typed as Flask
    relay_emulated_stripe(app)  # account.updated -> enabled
    admin = _demo_user(session, "admin@example.com")
    config = current_app.config
    batch = build_batch(
        session,
        as_of=as_of,
        minimum=config["PAYOUT_MINIMUM"],
        platform_country=config["STRIPE_PLATFORM_COUNTRY"],
    ).batch
    session.commit()
    approve_batch(session, batch.id, admin_id=admin.id, reason="Demo batch")
    execute_batch(session, gateway.client, batch.id)
    relay_emulated_stripe(app)  # bank payouts paid -> lines paid
