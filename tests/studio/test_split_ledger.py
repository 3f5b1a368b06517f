"""Acceptance 4: a split change after some unlocks leaves money already posted unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from ledger.balances import balance_as_of, get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.publishing import services as publishing
from marketplace.splits import services as splits
from marketplace.studio import series as series_service
from tests.helpers import ref_of

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def unlocks(partner, series, start, count, tag):
    return [
        RevenueFacts(
            ref_of(f"unlock:{partner.id}:{tag}{i}"),
            series.id,
            49,
            start + timedelta(minutes=i),
            episode=3,
        )
        for i in range(count)
    ]


def test_split_change_after_unlocks_keeps_posted_money(
    db, make_creator, make_participant, make_partner
):
    owner, writer, actor = make_creator(), make_participant(), make_participant()
    partner = make_partner(share_bps=3000)
    series = series_service.create_series(db.session, owner, title="Ledger drama")
    series_service.add_episode(db.session, series, media_url="https://cdn.example.com/1.mp4")
    series_service.set_pricing(db.session, series, free_episodes=2, episode_price=49)
    v1 = splits.save_split(
        db.session,
        series,
        owner,
        [
            {"user": writer, "role": "writer", "credit_name": "W", "bps": 5000},
            {"user": actor, "role": "actor", "credit_name": "A", "bps": 3000},
            {"email": "pending@example.com", "role": "editor", "credit_name": "P", "bps": 2000},
        ],
        platform_fee_bps=1000,
        now=T0,
    )
    publishing.publish_series(db.session, series, owner, [partner], now=T0)
    members = {s.member.credit_name: s.member for s in v1.shares}
    accounts = {
        name: ledger_account(db.session, "member_earnings", "USD", m.id).id
        for name, m in members.items()
    }
    far = T0 + timedelta(days=90)

    post_revenue(db.session, partner, unlocks(partner, series, T0 + timedelta(hours=1), 50, "a"))
    db.session.commit()
    before = {n: get_balance(db.session, a, now=far).posted for n, a in accounts.items()}
    assert before["W"] > before["A"] > before["P"] > 0  # P's share waits in escrow

    # The creator changes the split: the editor is dropped, the actor gets more.
    change_at = T0 + timedelta(days=1)
    v2 = splits.save_split(
        db.session,
        series,
        owner,
        [
            {"user": writer, "role": "writer", "credit_name": "W", "bps": 5000},
            {"user": actor, "role": "actor", "credit_name": "A", "bps": 5000},
        ],
        platform_fee_bps=1000,
        now=change_at,
    )
    assert (v2.number, v2.effective_from) == (2, change_at)
    # Posting old unlocks again is refused (the poster posts each once): history is intact.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        post_revenue(
            db.session, partner, unlocks(partner, series, T0 + timedelta(hours=1), 50, "a")
        )
    for name, account in accounts.items():
        assert get_balance(db.session, account, now=far).posted == before[name]

    post_revenue(
        db.session, partner, unlocks(partner, series, change_at + timedelta(hours=1), 50, "b")
    )
    db.session.commit()
    after = {n: get_balance(db.session, a, now=far).posted for n, a in accounts.items()}
    # Money earned before the change is exactly what it was.
    for name, account in accounts.items():
        assert balance_as_of(db.session, account, change_at) == before[name]
    assert after["P"] == before["P"]  # escrow kept, never moved to someone else
    assert after["A"] - before["A"] == after["W"] - before["W"]  # 50/50 under version 2
    assert check_ledger(db.session) == []
