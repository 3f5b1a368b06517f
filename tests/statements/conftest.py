"""Statement fixtures: two creators' series on two partner apps, participants with accepted
memberships, an invitation still pending (escrow), an admin; and a way to post money."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from ledger.posting import Leg, post_entry
from marketplace.accounts.models import User
from marketplace.chart import ledger_account
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.partners.models import PartnerApp
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Episode, Listing, Series
from tests.helpers import ref_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_keys = itertools.count(1)


@dataclass
class World:
    """Who is who, and helpers that post money through the real ledger paths."""

    db: object
    creator: User
    other_creator: User
    participant: User
    other_participant: User
    admin: User
    partners: list[PartnerApp]
    series: Series
    other_series: Series
    member: TeamMember  # participant on `series`
    other_member: TeamMember  # other_participant on `series`
    escrow: TeamMember  # invited, not accepted, on `series`
    shared: TeamMember  # other_participant on `other_series`
    episode: Episode
    listing: Listing
    posted: list = field(default_factory=list)

    def unlock(self, at, gross=199, partner=0, episode=7, country="US", series=None):
        """One paid unlock; returns its ledger source key."""
        series = series or self.series
        key = f"unlock:test:{next(_keys)}"
        facts = RevenueFacts(ref_of(key), series.id, gross, at, episode=episode, country=country)
        post_revenue(self.db.session, self.partners[partner], [facts], now=at)
        return key

    def refund(self, at, gross=199, partner=0, episode=7, series=None):
        """A refund (negative gross) in the series' bucket."""
        series = series or self.series
        key = f"refund:test:{next(_keys)}"
        facts = RevenueFacts(ref_of(key), series.id, -gross, at, episode=episode, kind="refund")
        post_revenue(self.db.session, self.partners[partner], [facts], now=at)
        return key

    def pool(self, at, amount=5000, partner=0, series=None):
        """A revenue pool share for the series."""
        series = series or self.series
        key = f"pool:test:{next(_keys)}"
        facts = RevenueFacts(ref_of(key), series.id, amount, at, kind="pool")
        post_revenue(self.db.session, self.partners[partner], [facts], now=at)
        return key

    def account(self, member: TeamMember, currency="USD") -> int:
        """The member's earnings account id."""
        return ledger_account(self.db.session, "member_earnings", currency, member.id).id

    def payout(self, member: TeamMember, amount: int, at) -> None:
        """A payout-like entry taking money out of a member's earnings account."""
        transit = ledger_account(self.db.session, "payouts_in_transit", "USD").id
        post_entry(
            self.db.session,
            idempotency_key=f"payout:test:{next(_keys)}",
            effective_at=at,
            description="test payout",
            legs=[Leg(self.account(member), amount), Leg(transit, -amount)],
            metadata={"kind": "payout", "batch_id": 1},
        )


@pytest.fixture
def world(db, make_creator, make_participant, make_admin) -> World:
    """The shared cast (see World)."""
    creator, other_creator = make_creator(), make_creator()
    participant, other_participant = make_participant(), make_participant()
    admin = make_admin()
    tag = uuid.uuid4().hex[:6]
    partners = [
        PartnerApp(name=f"Short {tag}", currency="USD", share_bps=3000, hold_days=7),
        PartnerApp(name=f"Box {tag}", currency="USD", share_bps=2500, hold_days=14),
    ]
    series = Series(owner_id=creator.id, title="Night Shift", status="published", currency="USD")
    other = Series(owner_id=other_creator.id, title="Day Job", status="published", currency="USD")
    db.session.add_all([*partners, series, other])
    db.session.flush()
    episode = Episode(series_id=series.id, number=1, title="Pilot")
    db.session.add(episode)

    def member(s, user, email, accepted=True):
        row = TeamMember(
            series_id=s.id,
            email=email,
            user_id=user.id if user and accepted else None,
            credit_name=email.split("@")[0],
            role="actor",
            accepted_at=T0 - timedelta(days=30) if accepted else None,
        )
        db.session.add(row)
        db.session.flush()
        return row

    m = member(series, participant, participant.email)
    om = member(series, other_participant, other_participant.email)
    escrow = member(series, None, "invited@example.test", accepted=False)
    shared = member(other, other_participant, other_participant.email)
    for s, shares in (
        (series, [(m, 5000), (om, 3000), (escrow, 2000)]),
        (other, [(shared, 10000)]),
    ):
        version = SplitVersion(
            series_id=s.id, number=1, platform_fee_bps=1000, effective_from=T0 - timedelta(days=30)
        )
        version.shares = [SplitShare(member_id=x.id, bps=bps) for x, bps in shares]
        db.session.add(version)
    listing = Listing(series_id=series.id, partner_id=partners[0].id, live_at=T0 - timedelta(30))
    db.session.add(listing)
    db.session.add(Listing(series_id=series.id, partner_id=partners[1].id, live_at=T0))
    db.session.flush()
    return World(db, creator, other_creator, participant, other_participant, admin, partners,
                 series, other, m, om, escrow, shared, episode, listing)  # fmt: skip
