"""The bridge from series revenue to the ledger: accounts, split versions, exact shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy.exc import IntegrityError

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.partners.models import PartnerApp
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Series
from tests.helpers import ref_of

T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)


def make_world(db, owner, shares=(5000, 3000, 2000), fee=1000):
    partner = PartnerApp(name="ReelBox", currency="USD", share_bps=3000, hold_days=7)
    series = Series(owner_id=owner.id, title="Vows", episode_price=49, currency="USD")
    db.session.add_all([partner, series])
    db.session.flush()
    members = [
        TeamMember(
            series_id=series.id, email=f"m{i}@example.com", credit_name=f"M{i}", role="actor"
        )
        for i in range(len(shares))
    ]
    db.session.add_all(members)
    db.session.flush()
    version = SplitVersion(series_id=series.id, number=1, platform_fee_bps=fee, effective_from=T0)
    version.shares = [
        SplitShare(member_id=m.id, bps=b) for m, b in zip(members, shares, strict=True)
    ]
    db.session.add(version)
    db.session.flush()
    return partner, series, members, version


def test_unlocks_split_exactly_and_a_new_split_version_leaves_posted_money_alone(db, make_creator):
    partner, series, members, _ = make_world(db, make_creator())
    facts = [
        RevenueFacts(
            ref_of(f"unlock:{partner.id}:u{i}"),
            series.id,
            49,
            T0 + timedelta(minutes=i),
            episode=7,
        )
        for i in range(1, 101)
    ]
    results = post_revenue(db.session, partner, facts, now=T0 + timedelta(days=1))
    assert [r.ref for r in results] == [f.ref for f in facts]
    earnings = [ledger_account(db.session, "member_earnings", "USD", m.id) for m in members]
    gross = 49 * 100
    before = [get_balance(db.session, a.id, now=T0 + timedelta(days=30)).posted for a in earnings]
    for bps, amount in zip((5000, 3000, 2000), before, strict=True):
        exact = (
            Fraction(gross) * Fraction(7000, 10000) * Fraction(9000, 10000) * Fraction(bps, 10000)
        )
        assert abs(amount - exact) < 1
    # Pending during the hold, available after it.
    assert get_balance(db.session, earnings[0].id, now=T0 + timedelta(days=2)).available == 0
    assert (
        get_balance(db.session, earnings[0].id, now=T0 + timedelta(days=9)).available == before[0]
    )

    # A new version (everything to member 0) from now on: money already posted is unchanged.
    v2 = SplitVersion(
        series_id=series.id, number=2, platform_fee_bps=1000, effective_from=T0 + timedelta(days=1)
    )
    v2.shares = [SplitShare(member_id=members[0].id, bps=10000)]
    db.session.add(v2)
    db.session.flush()
    later = [
        RevenueFacts(
            ref_of(f"unlock:{partner.id}:late"), series.id, 49, T0 + timedelta(days=2), episode=8
        )
    ]
    post_revenue(db.session, partner, later, now=T0 + timedelta(days=2))
    after = [get_balance(db.session, a.id, now=T0 + timedelta(days=30)).posted for a in earnings]
    assert after[1:] == before[1:]
    assert after[0] > before[0]
    # Posting the same events again is refused and changes nothing (the poster posts once).
    with pytest.raises(IntegrityError), db.session.begin_nested():
        post_revenue(db.session, partner, facts[:3], now=T0 + timedelta(days=3))
    assert [get_balance(db.session, a.id, now=T0 + timedelta(days=30)).posted
            for a in earnings] == after  # fmt: skip
    assert check_ledger(db.session) == []


def test_missing_accounts_are_created_in_one_global_order(db, make_creator, monkeypatch):
    """Two requests creating overlapping new accounts each in its own order deadlocked on
    PostgreSQL (seen in a 1M-event ingest run); every request now creates them sorted by the
    accounts' unique key, before posting."""
    import marketplace.chart as revenue

    partner, series, members, _ = make_world(db, make_creator(), shares=(1000, 2000, 3000, 4000))
    created = []
    real = revenue.get_or_create_account

    def recording(session, **key):
        created.append((key["owner_type"], key["owner_id"], key["purpose"]))
        return real(session, **key)

    monkeypatch.setattr(revenue, "get_or_create_account", recording)
    facts = [RevenueFacts(ref_of(f"unlock:{partner.id}:u1"), series.id, 99, T0, episode=6)]
    post_revenue(db.session, partner, facts, now=T0)
    assert len(created) == len(members) + 3  # members, receivable, commission, platform fees
    assert created == sorted(created)
