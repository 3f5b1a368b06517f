"""Payout fixtures: an in-memory emulated Stripe behind the app's gateway, earning members."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest

from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.partners.models import PartnerApp
from marketplace.payouts.gateway import emulated_gateway, install_gateway
from marketplace.payouts.models import PayoutAccount
from marketplace.payouts.sandbox.emulator import EmulatedStripe
from marketplace.payouts.services import record_platform_funding
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Series
from marketplace.tax.models import TaxProfile
from marketplace.tax.tin_vault import seal_tin
from tests.helpers import ref_of
from tests.payouts.support import ONBOARDING_BASE, T0, WEBHOOK_SECRET

_names = itertools.count(1)


@pytest.fixture
def emulator():
    """A fresh in-memory emulated Stripe."""
    return EmulatedStripe(onboarding_url_base=ONBOARDING_BASE)


@pytest.fixture
def gateway(app, emulator):
    """The app talks to the emulator for this test (no silent retries)."""
    gw = emulated_gateway(
        emulator, WEBHOOK_SECRET, max_network_retries=0, onboarding_url_base=ONBOARDING_BASE
    )
    install_gateway(app, gw)
    yield gw
    install_gateway(app, None)


@pytest.fixture
def earn(db, make_creator):
    """Factory: `user` earns `gross` worth of unlocks on a new series (as an accepted member
    unless accepted=False); returns the TeamMember."""

    def make(user=None, *, gross=10_000, bps=10_000, accepted=True, currency="USD", email=None):
        n = next(_names)
        owner = make_creator()
        partner = PartnerApp(
            name=f"Partner {n} {uuid.uuid4().hex[:6]}", currency=currency, share_bps=0, hold_days=7
        )
        series = Series(owner_id=owner.id, title=f"Series {n}", episode_price=49, currency=currency)
        db.session.add_all([partner, series])
        db.session.flush()
        member = TeamMember(
            series_id=series.id,
            email=email or (user.email if user else f"invitee{n}@example.test"),
            credit_name=f"Member {n}",
            role="actor",
            user_id=user.id if user and accepted else None,
            accepted_at=T0 - timedelta(days=1) if user and accepted else None,
        )
        db.session.add(member)
        db.session.flush()
        version = SplitVersion(
            series_id=series.id, number=1, platform_fee_bps=0, effective_from=T0 - timedelta(1)
        )
        version.shares = [SplitShare(member_id=member.id, bps=bps)]
        db.session.add(version)
        db.session.flush()
        post_revenue(
            db.session,
            partner,
            [RevenueFacts(ref_of(f"unlock:{partner.id}:u{n}"), series.id, gross, T0)],
            now=T0,
        )
        db.session.flush()
        return member

    return make


@pytest.fixture
def tax_profile(db):
    """Factory: give `user` a tax profile (a certified W-9 unless told otherwise)."""

    def make(user, *, form="W-9", certified=True, residence="US", treaty_rate_bps=None):
        profile = TaxProfile(
            user_id=user.id,
            form=form,
            legal_name=user.display_name or user.email,
            tin_type="SSN" if form == "W-9" else "FOREIGN",
            tin_encrypted=seal_tin("123456789" if form == "W-9" else "FTIN-12345"),
            tin_last4="6789" if form == "W-9" else "2345",
            address="1 Main St\nSpringfield",
            address_country=residence,
            residence_country=residence,
            treaty_country=None if treaty_rate_bps is None else residence,
            treaty_article=None if treaty_rate_bps is None else "12",
            treaty_rate_bps=treaty_rate_bps,
            certified=certified,
            signed_name=user.display_name or user.email,
        )
        db.session.add(profile)
        db.session.flush()
        return profile

    return make


@pytest.fixture
def connect(db, gateway, emulator, tax_profile):
    """Factory: give `user` a Stripe Express account in `country` (onboarded unless
    enabled=False, with bank accounts in `banks` besides the default currency) and, unless
    tax=False, a certified W-9."""

    def make(user, enabled=True, *, country="US", banks=(), tax=True):
        params = {"type": "express", "country": country,
                  "capabilities": {"transfers": {"requested": True}}}  # fmt: skip
        if country != "US":
            params["tos_acceptance"] = {"service_agreement": "recipient"}
        account = gateway.client.v1.accounts.create(params)
        if enabled:
            emulator.complete_onboarding(account.id, list(banks))
        row = PayoutAccount(
            user_id=user.id,
            country=country,
            stripe_account_id=account.id,
            default_currency=account.default_currency,
            details_submitted=enabled,
            payouts_enabled=enabled,
        )
        db.session.add(row)
        db.session.flush()
        if tax:
            tax_profile(user)
        return row

    return make


@pytest.fixture
def fund(db, emulator):
    """Put money on the platform's Stripe balance, in the emulator and in the ledger."""

    def make(amount=1_000_000, currency="USD"):
        emulator.fund_platform(amount, currency.lower())
        record_platform_funding(
            db.session, amount=amount, currency=currency, reference=uuid.uuid4().hex
        )

    return make
