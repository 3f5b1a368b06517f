"""Unlocks and refunds of a series with a revenue plan in force go through its waterfall: one
cumulative pool across partner apps, exact to the minor unit; series without a plan as before."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from ledger.balances import get_balance
from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.partners.models import PartnerApp
from marketplace.splits.plans import (
    AdvanceTerms,
    TierTerms,
    create_revenue_plan,
    record_budget_line,
)
from tests.helpers import ref_of
from tests.services.test_revenue import T0, make_world
from tests.services.test_revenue_plans import LATER, accept_all

PRICE = 1_000  # 1,000 gross: 700 after the partner's 30 %, 630 after the platform's 10 %


def planned_world(db, owner, premium=10_000, budget=2_000, advance=0):
    partner, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    record_budget_line(db.session, series, owner, holder_id=maya.id, description="Shoot",
                       amount=budget)  # fmt: skip
    advances = [AdvanceTerms(actor.id, maya.id, advance)] if advance else []
    plan = create_revenue_plan(db.session, series, owner, tiers=[TierTerms(1, premium)],
                               advances=advances, effective_from=LATER, now=T0)  # fmt: skip
    accept_all(db, plan)
    return partner, series, maya, actor


def posted(db, member, now=LATER + timedelta(days=60)):
    account = ledger_account(db.session, "member_earnings", "USD", member.id)
    return get_balance(db.session, account.id, now=now).posted


def unlock(partner, series, key, at=LATER, gross=PRICE):
    return RevenueFacts(ref_of(f"unlock:{partner.id}:{key}"), series.id, gross, at, episode=6)


def refund_of(fact, key):
    return RevenueFacts(ref_of(f"refund:{key}"), fact.series_id, -fact.amount, fact.occurred_at,
                        fact.episode, kind="refund", reverses=fact.ref)  # fmt: skip


def test_the_budget_is_recouped_before_the_split_across_partner_apps(db, make_creator):
    partner, series, maya, actor = planned_world(db, make_creator())
    other = PartnerApp(name="Other", currency="USD", share_bps=3000, hold_days=7)
    db.session.add(other)
    db.session.flush()
    # Before the plan takes effect: today's split (60/40 of 630).
    post_revenue(db.session, partner, [unlock(partner, series, "early", at=T0)], now=T0)
    assert (posted(db, maya), posted(db, actor)) == (378, 252)
    # Three unlocks on two apps: 1,890 in the pool; the first 2,000 repay Maya's budget.
    post_revenue(db.session, partner, [unlock(partner, series, f"a{i}") for i in range(2)])
    post_revenue(db.session, other, [unlock(other, series, "b0")])
    assert (posted(db, maya), posted(db, actor)) == (378 + 1_890, 252)
    # The fourth crosses break-even: 110 to the tier, 520 split 60/40 (312 and 208).
    post_revenue(db.session, other, [unlock(other, series, "b1")])
    assert (posted(db, maya), posted(db, actor)) == (378 + 2_000 + 312, 252 + 208)
    pool = ledger_account(db.session, "series_pool", "USD", series.id)
    assert get_balance(db.session, pool.id).posted == 0
    assert check_ledger(db.session) == []


def test_a_refund_below_break_even_takes_money_back_from_the_tier(db, make_creator):
    partner, series, maya, actor = planned_world(db, make_creator())
    facts = [unlock(partner, series, f"u{i}") for i in range(4)]
    post_revenue(db.session, partner, facts)
    assert (posted(db, maya), posted(db, actor)) == (2_312, 208)
    # Refunding the first unlock takes 630 back: 520 of profit, then 110 from the tier.
    post_revenue(db.session, partner, [refund_of(facts[0], "u0")])
    assert (posted(db, maya), posted(db, actor)) == (1_890, 0)
    assert check_ledger(db.session) == []


def test_an_advance_is_outstanding_then_recovered_then_profit(db, make_creator):
    partner, series, maya, actor = planned_world(db, make_creator(), budget=630, advance=100)
    assert (posted(db, maya), posted(db, actor)) == (-100, 100)  # the advance, paid
    post_revenue(db.session, partner, [unlock(partner, series, "u0")])
    assert (posted(db, maya), posted(db, actor)) == (-100 + 630, 100)  # the budget repaid
    post_revenue(db.session, partner, [unlock(partner, series, "u1")])
    # 630 of profit: Maya 378, the actor's 252 repay the advance's 100 first.
    assert (posted(db, maya), posted(db, actor)) == (-100 + 630 + 378 + 100, 100 + 152)
    assert check_ledger(db.session) == []


def test_the_ledger_exports_to_a_beancount_file_that_checks(db, make_creator, tmp_path):
    partner, series, _, _ = planned_world(db, make_creator(), premium=12_500)
    facts = [unlock(partner, series, f"u{i}", gross=999 + i) for i in range(6)]
    post_revenue(db.session, partner, facts)
    post_revenue(db.session, partner, [refund_of(facts[2], "u2")])
    out = io.StringIO()
    export_beancount(db.session, out)
    path = tmp_path / "ledger.beancount"
    path.write_text(out.getvalue())
    bean_check = Path(sys.executable).with_name("bean-check")
    assert subprocess.run([bean_check, path], capture_output=True).returncode == 0


@pytest.mark.parametrize("seed", range(5))
def test_random_streams_keep_members_within_a_unit_of_the_exact_waterfall(db, make_creator, seed):
    """Seeded streams of unlocks and refunds (the ledger's own hypothesis tests cover random
    plans: tests/ledger/test_waterfall_*.py); the pool is what the members hold together."""
    rnd = random.Random(seed)
    premium = rnd.choice([10_000, 11_000, 15_000])
    partner, series, maya, actor = planned_world(db, make_creator(), premium=premium)
    cap = Fraction(2_000 * premium, 10_000)
    unlocks = []
    for n in range(30):
        if unlocks and rnd.random() < 0.3:
            fact = refund_of(unlocks.pop(rnd.randrange(len(unlocks))), f"{seed}:{n}")
        else:
            fact = unlock(partner, series, f"{seed}:{n}", gross=rnd.randint(1, 3_000))
            unlocks.append(fact)
        post_revenue(db.session, partner, [fact])
        pool = posted(db, maya) + posted(db, actor)
        profit = max(Fraction(pool) - cap, Fraction(0))
        assert abs(posted(db, maya) - (min(Fraction(pool), cap) + profit * 6 / 10)) < 1
        assert abs(posted(db, actor) - profit * 4 / 10) < 1
    assert check_ledger(db.session) == []
