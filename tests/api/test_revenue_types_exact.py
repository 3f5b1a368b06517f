"""Acceptance 1 of issue 18: per revenue type, seeded random streams through the partner API
against a fractions.Fraction oracle: every party within one minor unit of its exact share, the
ledger checks clean and its beancount export passes bean-check.

Coins: the bucket's money is floor(exact rational gross) at every step (never rounded per
event), so each party is within one unit of its exact share of that money, and within one
unit plus its weight of the exact rational (the floor's missing fraction, shared).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.allocation.splits import DENOMINATOR
from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from ledger.schema import AllocationBucket
from marketplace.ingest.kinds.coin_values import set_coin_rate
from marketplace.ingest.models import CoinPosition, PartnerCoinRate, PartnerEvent
from marketplace.splits.models import TeamMember
from marketplace.splits.terms.commerce import create_commerce_split
from tests.api.conftest import T0

SEEDS = range(3)


def ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def buckets(db, series_id: int) -> list[AllocationBucket]:
    return list(
        db.session.scalars(
            select(AllocationBucket).where(AllocationBucket.key.like(f"series:{series_id}|%"))
        )
    )


def assert_within_one(bucket: AllocationBucket, exact_gross: Fraction, slack=Fraction(0)):
    """Every party of the bucket within one minor unit (+ its weight x slack) of its exact
    share of exact_gross."""
    for account_id, weight, _ in bucket.parties:
        exact = exact_gross * weight / DENOMINATOR
        got = int(bucket.allocated.get(str(account_id), 0))
        assert abs(got - exact) < 1 + slack * weight / DENOMINATOR, (bucket.key, account_id)


def assert_books_clean(db, tmp_path):
    assert check_ledger(db.session) == []
    out = io.StringIO()
    export_beancount(db.session, out)
    path = tmp_path / "ledger.beancount"
    path.write_text(out.getvalue())
    bean_check = Path(sys.executable).with_name("bean-check")
    result = subprocess.run([bean_check, path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def coin_rate(db, partner, paid: Fraction, bonus: Fraction) -> PartnerCoinRate:
    """A coin rate in force since before T0 (set_coin_rate refuses the past: `now` earlier)."""
    start = T0 - timedelta(days=1)
    return set_coin_rate(
        db.session, partner, paid=paid, bonus=bonus, effective_from=start, now=start
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_coin_unlocks_are_exact_over_the_cumulative_rational_gross(
    db, make_partner, make_live_series, tmp_path, seed
):
    rng = random.Random(seed)
    partner = make_partner()
    series = make_live_series(partner.app, episodes=30, free=3, shares=(4700, 3100, 2200))
    paid, bonus = Fraction(100, 120), Fraction(rng.choice([0, 100]), 240)  # 1/120 USD, 1/240
    coin_rate(db, partner.app, paid, bonus)
    coins = bonus_coins = 0
    for batch in range(4):
        events = []
        for i in range(rng.randint(5, 40)):
            spent, extra = rng.randint(60, 120), rng.choice([0, 0, rng.randint(1, 50)])
            coins, bonus_coins = coins + spent, bonus_coins + extra
            events.append(
                {
                    "id": f"c{batch}-{i}",
                    "series_id": series.id,
                    "episode": rng.randint(4, 30),
                    "coins": spent,
                    "bonus_coins": extra,
                    "occurred_at": ago(rng.randint(1, 600)),
                }
            )
        response = partner.post("/api/v1/coin-unlocks", {"events": events})
        assert {r["status"] for r in response.get_json()["results"]} == {"accepted"}
        exact = coins * paid + bonus_coins * bonus
        [bucket] = buckets(db, series.id)
        assert bucket.key.endswith(f"|coins:{db.session.scalar(select(PartnerCoinRate.id))}")
        assert bucket.cumulative_gross == exact.numerator // exact.denominator
        assert_within_one(bucket, Fraction(bucket.cumulative_gross))
        assert_within_one(bucket, exact, slack=Fraction(1))
    position = db.session.scalar(select(CoinPosition))
    assert (position.paid_coins, position.bonus_coins) == (coins, bonus_coins)
    assert_books_clean(db, tmp_path)


@pytest.mark.parametrize("seed", SEEDS)
def test_bundles_pay_the_series_bucket_and_attribute_episodes_exactly(
    db, make_partner, make_live_series, tmp_path, seed
):
    rng = random.Random(seed)
    partner = make_partner()
    series = make_live_series(partner.app, episodes=40, free=2)
    total = 0
    events = []
    for i in range(rng.randint(20, 60)):
        first = rng.randint(1, 40)
        last = rng.randint(first, 40)
        price = rng.randint(1, 5000)
        total += price
        body = {
            "id": f"b{i}",
            "series_id": series.id,
            "amount": price,
            "currency": "USD",
            "occurred_at": ago(rng.randint(1, 600)),
        }
        if rng.random() < 0.7:
            body |= {"first_episode": first, "last_episode": last}
        events.append(body)
    response = partner.post("/api/v1/bundles", {"events": events})
    assert {r["status"] for r in response.get_json()["results"]} == {"accepted"}
    [bucket] = buckets(db, series.id)
    assert bucket.cumulative_gross == total
    assert_within_one(bucket, Fraction(total))
    for event in db.session.scalars(select(PartnerEvent).where(PartnerEvent.kind == "bundle")):
        attributed = event.details["attributed"]
        covered = event.details["last"] - event.details["first"] + 1
        assert sum(attributed) == event.amount and len(attributed) == covered
        assert all(abs(a - Fraction(event.amount, covered)) < 1 for a in attributed)
    assert_books_clean(db, tmp_path)


@pytest.mark.parametrize("seed", SEEDS)
def test_pools_by_views_are_exact_across_series_and_episodes(
    db, make_partner, make_live_series, tmp_path, seed
):
    rng = random.Random(seed)
    partner = make_partner()
    series = [make_live_series(partner.app, episodes=12, title=f"S{n}") for n in range(3)]
    per_series = {s.id: Fraction(0) for s in series}
    for p in range(rng.randint(3, 8)):
        views = [
            {"series_id": s.id, "episode": rng.randint(1, 12), "count": rng.randint(0, 10_000)}
            for s in series
            for _ in range(rng.randint(1, 4))
        ]
        views[0]["count"] += 1
        amount = rng.randint(0, 500_000)
        body = {
            "id": f"p{p}",
            "kind": rng.choice(["subscription", "ads"]),
            "period_start": ago(60 * 24),
            "period_end": ago(5),
            "amount": amount,
            "currency": "USD",
            "views": views,
        }
        answer = partner.post("/api/v1/revenue-pools", body).get_json()
        assert answer["status"] == "accepted"
        total = sum(v["count"] for v in views)
        shares = {s["series_id"]: s["amount"] for s in answer["shares"]}
        for s in series:
            seen = sum(v["count"] for v in views if v["series_id"] == s.id)
            exact = Fraction(amount * seen, total)
            assert abs(shares.get(s.id, 0) - exact) < 1
            per_series[s.id] += shares.get(s.id, 0)
        event = db.session.scalar(select(PartnerEvent).where(PartnerEvent.external_id == f"p{p}"))
        for sid, episodes in event.details["episodes"].items():
            assert sum(amount for _, amount in episodes) == shares[int(sid)]
    for s in series:
        [bucket] = buckets(db, s.id) or [None]
        if bucket is not None:
            assert bucket.cumulative_gross == per_series[s.id]
            assert_within_one(bucket, per_series[s.id])
    assert_books_clean(db, tmp_path)


@pytest.mark.parametrize("seed", SEEDS)
def test_purchases_split_commissions_by_the_commerce_split(
    db, make_partner, make_live_series, tmp_path, seed
):
    rng = random.Random(seed)
    partner = make_partner()
    plain = make_live_series(partner.app, title="Plain")
    featured = make_live_series(partner.app, title="Featured")
    actor, *others = db.session.scalars(
        select(TeamMember.id).where(TeamMember.series_id == featured.id).order_by(TeamMember.id)
    ).all()
    create_commerce_split(
        db.session,
        featured.id,
        {actor: 3000, others[0]: 4000, others[1]: 3000},
        platform_fee_bps=2000,
        effective_from=T0 - timedelta(days=1),
    )
    totals = {plain.id: 0, featured.id: 0}
    events = []
    for i in range(rng.randint(20, 80)):
        target = rng.choice([plain, featured])
        price = rng.randint(100, 20_000)
        commission = rng.randint(1, price)
        totals[target.id] += commission
        events.append(
            {
                "id": f"s{i}",
                "series_id": target.id,
                "episode": rng.randint(1, 10),
                "product": "Lipstick",
                "price": price,
                "commission": commission,
                "currency": "USD",
                "occurred_at": ago(rng.randint(1, 600)),
                **({"featured": [actor]} if target is featured else {}),
            }
        )
    response = partner.post("/api/v1/purchases", {"events": events})
    assert {r["status"] for r in response.get_json()["results"]} == {"accepted"}
    for series in (plain, featured):
        [bucket] = buckets(db, series.id)
        assert ("|commerce:" in bucket.key) == (series is featured)
        assert bucket.cumulative_gross == totals[series.id]
        assert_within_one(bucket, Fraction(totals[series.id]))
        partner_weight = {a: w for a, w, _ in bucket.parties}.get(int(bucket.debit_account_id), 0)
        assert partner_weight == 0
    [bucket] = buckets(db, featured.id)
    weights = sorted(w for _, w, _ in bucket.parties if w)
    # The platform's 20 % and the members' 30/40/30 % of the rest: the partner app takes none.
    assert weights == sorted([2 * 10**11, 24 * 10**10, 32 * 10**10, 24 * 10**10])
    assert_books_clean(db, tmp_path)
