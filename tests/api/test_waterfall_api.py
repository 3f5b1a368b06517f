"""Through the partner API and the poster: a refund follows its unlock into or out of the
series' revenue plan (the plan in force when the unlock happened)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from ledger.schema import AllocationBucket
from marketplace.chart import ledger_account
from marketplace.splits.models import TeamMember
from marketplace.splits.plans import TierTerms, create_revenue_plan, record_budget_line
from tests.api.conftest import unlock as unlock_body
from tests.api.test_refunds_pools import refund as refund_body
from tests.services.test_revenue_plans import accept_all


def test_through_the_api_a_refund_follows_its_unlock_into_or_out_of_the_plan(
    db, make_partner, make_live_series
):
    partner = make_partner()
    series = make_live_series(partner.app, price=1_000)
    members = sorted(series_members(db, series), key=lambda m: m.id)
    now = datetime.now(UTC)
    record_budget_line(db.session, series, None, holder_id=members[0].id, description="Shoot",
                       amount=1_000)  # fmt: skip
    started = now - timedelta(hours=2)
    plan = create_revenue_plan(db.session, series, None, tiers=[TierTerms(1)],
                               effective_from=started, now=started)  # fmt: skip
    accept_all(db, plan, now=started)
    before = (now - timedelta(hours=3)).isoformat()
    partner.post("/api/v1/unlocks", {"events": [
        unlock_body("old", series, amount=1_000, occurred_at=before),
        *(unlock_body(f"u{i}", series, amount=1_000) for i in range(3)),
    ]})  # fmt: skip
    partner.post("/api/v1/refunds", {"events": [refund_body("r-old", "old"),
                                                refund_body("r0", "u0")]})  # fmt: skip
    buckets = {
        b.key: b.cumulative_gross
        for b in db.session.scalars(select(AllocationBucket))
        if f"series:{series.id}|" in b.key
    }
    flat = [c for key, c in buckets.items() if key.startswith("series:") and "plan" not in key]
    assert flat == [0]  # the early unlock and its refund: the flat split
    assert sorted(c for key, c in buckets.items() if key.startswith("waterfall:")) == [1_260]
    # 1,260 in the pool: 1,000 repay the budget to member 0, 260 split 50/30/20.
    assert [posted(db, m, now + timedelta(days=30)) for m in members] == [1_130, 78, 52]
    pool = ledger_account(db.session, "series_pool", "USD", series.id)
    assert get_balance(db.session, pool.id).posted == 0
    assert check_ledger(db.session) == []


def series_members(db, series):
    return list(db.session.scalars(select(TeamMember).where(TeamMember.series_id == series.id)))


def posted(db, member, now):
    account = ledger_account(db.session, "member_earnings", "USD", member.id)
    return get_balance(db.session, account.id, now=now).posted
