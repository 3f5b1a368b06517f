"""Fixtures for reconciliation: a partner app with a live series and events in June 2025."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from marketplace.ingest.refunds import RefundIn, ingest_refunds
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import create_partner
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Episode, Listing, Series

SINCE = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD = "2025-06"
HEADER = "event_id,series_id,episode,amount_minor,currency,occurred_at\n"


def at(day: int, month: int = 6, hour: int = 12) -> datetime:
    """A moment of 2025 (June by default), UTC."""
    return datetime(2025, month, day, hour, tzinfo=UTC)


@dataclass
class World:
    """A partner app (USD) with a key, a series of 10 episodes (49 each, 2 free) live on it."""

    partner: PartnerApp
    key_id: str
    secret: str
    series: Series

    def unlock(self, db, event_id: str, when: datetime, episode: int = 5, amount: int = 49):
        """Ingest an unlock through the normal path; the result must be accepted."""
        item = UnlockIn(event_id, self.series.id, episode, amount, "USD", when)
        [result] = ingest_unlocks(db.session(), self.partner, [item])
        assert result["status"] == "accepted", result

    def refund(self, db, event_id: str, unlock_id: str, when: datetime):
        """Ingest a refund through the normal path; the result must be accepted."""
        [result] = ingest_refunds(db.session(), self.partner, [RefundIn(event_id, unlock_id, when)])
        assert result["status"] == "accepted", result

    def line(self, event_id, amount=49, when=None, currency="USD", episode=5, series=None):
        """One CSV line of a partner report."""
        moment = (when or at(10)).isoformat()
        series_id = self.series.id if series is None else series
        return f"{event_id},{series_id},{episode},{amount},{currency},{moment}\n"


def report(*lines: str, header: str = HEADER) -> io.BytesIO:
    """A CSV report file."""
    return io.BytesIO((header + "".join(lines)).encode())


@pytest.fixture
def make_world(db, make_creator):
    """Factory: a World (a new partner app and series each call)."""
    counter = iter(range(1, 1000))

    def make(currency: str = "USD") -> World:
        n = next(counter)
        partner, key_id, secret = create_partner(
            db.session, name=f"Recon {n}", currency=currency, share_bps=3000, hold_days=0
        )
        owner = make_creator()
        series = Series(owner_id=owner.id, title=f"Ledger Lies {n}", episode_price=49,
                        currency="USD", status="published", free_episodes=2)  # fmt: skip
        db.session.add(series)
        db.session.flush()
        series.episodes = [
            Episode(number=k, title=f"Ep {k}", duration_seconds=80,
                    media_url=f"https://cdn.example.test/{series.id}/{k}.mp4")
            for k in range(1, 11)
        ]  # fmt: skip
        member = TeamMember(series_id=series.id, email=f"m-{series.id}@example.test",
                            credit_name="M", role="actor")  # fmt: skip
        db.session.add(member)
        db.session.flush()
        version = SplitVersion(series_id=series.id, number=1, platform_fee_bps=1000,
                               effective_from=SINCE)  # fmt: skip
        version.shares = [SplitShare(member_id=member.id, bps=10_000)]
        db.session.add_all(
            [version, Listing(series_id=series.id, partner_id=partner.id, live_at=SINCE)]
        )
        db.session.commit()
        return World(partner, key_id, secret, series)

    return make
