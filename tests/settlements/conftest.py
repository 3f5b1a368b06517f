"""A partner app with a live series, and helpers that report events through the ingest
services (as the API does) and post them with the ledger poster."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.chart import ledger_account
from marketplace.ingest.pools import PoolIn, ingest_pool
from marketplace.ingest.poster import post_pending
from marketplace.ingest.refunds import RefundIn, ingest_refunds
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import create_partner
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Episode, Listing, Series

T0 = datetime(2026, 9, 1, tzinfo=UTC)
"""When the series went live and its split took effect."""
NOW = datetime(2026, 12, 6, tzinfo=UTC)
"""The moment events are reported at (after all of them)."""

_names = itertools.count(1)


@dataclass
class World:
    """A partner app, one live series and its three members."""

    db: object
    partner: PartnerApp
    series: Series
    members: list[TeamMember]
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    partner_id: int = 0
    series_id: int = 0
    member_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.partner_id, self.series_id = self.partner.id, self.series.id
        self.member_ids = tuple(m.id for m in self.members)

    def reload(self) -> None:
        """Read the app, series and members again (after the session was replaced)."""
        session = self.db.session
        self.partner = session.get(PartnerApp, self.partner_id)
        self.series = session.get(Series, self.series_id)

    def unlocks(self, items: list[tuple[datetime, int]]) -> list[dict]:
        """Report a batch of unlocks (moment, amount) of episode 5 in the US, as one request."""
        batch = [
            UnlockIn(f"u{next(self.ids)}", self.series_id, 5, amount, "USD", at, "US")
            for at, amount in items
        ]
        results = ingest_unlocks(self.db.session, self.partner, batch, now=NOW)
        return [r | {"event_id": item.id} for r, item in zip(results, batch, strict=True)]

    def refunds(self, items: list[tuple[str, datetime]]) -> list[dict]:
        """Report a batch of refunds (unlock id, moment), as one request."""
        batch = [RefundIn(f"r{next(self.ids)}", unlock_id, at) for unlock_id, at in items]
        return ingest_refunds(self.db.session, self.partner, batch, now=NOW)

    def unlock(self, at, amount=49, episode=5, country="US", post=True) -> dict:
        """Report one unlock; returns its result."""
        item = UnlockIn(f"u{next(self.ids)}", self.series.id, episode, amount, "USD", at, country)
        result = ingest_unlocks(self.db.session, self.partner, [item], now=NOW)[0]
        if post:
            self.post()
        return result | {"event_id": item.id}

    def refund(self, unlock_id, at, post=True) -> dict:
        """Report a refund of an unlock."""
        item = RefundIn(f"r{next(self.ids)}", unlock_id, at)
        result = ingest_refunds(self.db.session, self.partner, [item], now=NOW)[0]
        if post:
            self.post()
        return result

    def pool(self, start, end, amount, post=True) -> dict:
        """Report a revenue pool over the series' episodes 5 and 6."""
        item = PoolIn(
            f"p{next(self.ids)}", "ads", start, end, amount, "USD",
            [(self.series.id, 5, 3), (self.series.id, 6, 1)],
        )  # fmt: skip
        result = ingest_pool(self.db.session, self.partner, item, now=NOW)
        if post:
            self.post()
        return result

    def post(self) -> None:
        """Run the ledger poster."""
        post_pending(self.db.session(), now=NOW)


@pytest.fixture
def make_world(db, make_creator):
    """Factory: a partner app (USD, 30 %, 7 days hold, monthly, net 30) with a live series."""

    def make(share_bps=3000, shares=(5000, 3000, 2000)) -> World:
        n = next(_names)
        partner, _, _ = create_partner(
            db.session, name=f"Settle {n}", currency="USD", share_bps=share_bps, hold_days=7
        )
        owner = make_creator()
        series = Series(
            owner_id=owner.id, title=f"Vows {n}", episode_price=49, currency="USD",
            status="published", free_episodes=2,
        )  # fmt: skip
        db.session.add(series)
        db.session.flush()
        series.episodes = [
            Episode(number=k, title=f"Ep {k}", duration_seconds=80,
                    media_url=f"https://cdn.example.test/{series.id}/{k}.mp4")
            for k in range(1, 11)
        ]  # fmt: skip
        members = [
            TeamMember(series_id=series.id, email=f"m{i}-{series.id}@example.test",
                       credit_name=f"M{i}", role="actor")
            for i in range(len(shares))
        ]  # fmt: skip
        db.session.add_all(members)
        db.session.flush()
        version = SplitVersion(
            series_id=series.id, number=1, platform_fee_bps=1000,
            effective_from=T0 - timedelta(days=1),
        )  # fmt: skip
        version.shares = [
            SplitShare(member_id=m.id, bps=b) for m, b in zip(members, shares, strict=True)
        ]
        listing = Listing(series_id=series.id, partner_id=partner.id, live_at=T0)
        db.session.add_all([version, listing])
        # The app's ledger accounts exist from the start (as after its first unlock), so
        # that examples rolled back to this point find them.
        for kind in ("partner_receivable", "partner_commission"):
            ledger_account(db.session, kind, "USD", partner.id)
        for kind in ("platform_fees", "stripe_balance", "fx_gain_loss"):
            ledger_account(db.session, kind, "USD")
        for member in members:
            ledger_account(db.session, "member_earnings", "USD", member.id)
        db.session.commit()
        return World(db, partner, series, members)

    return make
