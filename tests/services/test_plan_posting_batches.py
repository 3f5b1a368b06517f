"""How the poster posts a batch through revenue plans: each hour's pool money reaches the
plan's waterfall summed (one event per plan, hour and kind), refunds after unlocks, and a
poster's plan cache follows new plan versions. Members' money is the waterfall's target of
the cumulative pool whatever the batching."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ledger.reports.checks import check_ledger
from ledger.schema import AllocationBucket, AllocationRun
from marketplace.ingest.revenue import post_revenue
from marketplace.ingest.waterfalls import PlanCache
from marketplace.splits.plans import TierTerms, create_revenue_plan
from tests.services.test_revenue_plans import LATER, accept_all
from tests.services.test_revenue_waterfall import planned_world, posted, refund_of, unlock


def waterfall_runs(db, series):
    """(bucket key, refs) of each run of the series' waterfall buckets, in id order."""
    return [
        (key, list(refs))
        for key, refs in db.session.execute(
            select(AllocationBucket.key, AllocationRun.refs)
            .join(AllocationBucket, AllocationBucket.id == AllocationRun.bucket_id)
            .where(AllocationBucket.key.startswith(f"waterfall:series:{series.id}|"))
            .order_by(AllocationRun.id)
        )
    ]


def test_a_batch_reaches_the_waterfall_as_one_event_per_hour(db, make_creator):
    partner, series, maya, actor = planned_world(db, make_creator())
    facts = [unlock(partner, series, f"a{i}") for i in range(10)]
    facts += [unlock(partner, series, f"b{i}", at=LATER + timedelta(hours=1)) for i in range(2)]
    post_revenue(db.session, partner, facts)
    runs = waterfall_runs(db, series)
    assert [refs for _, refs in runs] == [[facts[0].ref], [facts[10].ref]]
    # 12 x 630 in the pool: the first 2,000 repay Maya's budget, the rest splits 60/40.
    assert (posted(db, maya), posted(db, actor)) == (2_000 + 3_336, 2_224)
    assert check_ledger(db.session) == []


def test_refunds_in_a_batch_walk_the_waterfall_back_after_its_unlocks(db, make_creator):
    partner, series, maya, actor = planned_world(db, make_creator(), budget=1_000)
    first = [unlock(partner, series, f"u{i}") for i in range(2)]
    post_revenue(db.session, partner, first)
    # A refund of an earlier batch's unlock comes first; a refund of this batch's own unlock
    # follows it: the unlocks' sum goes first, so the pool never runs below zero.
    later = [unlock(partner, series, "u2"), unlock(partner, series, "u3")]
    post_revenue(db.session, partner, [refund_of(first[0], "r0"), *later,
                                       refund_of(later[0], "r2")])  # fmt: skip
    # Left: two unlocks, 1,260 in the pool: 1,000 to the budget, 260 split 60/40.
    assert (posted(db, maya), posted(db, actor)) == (1_000 + 156, 104)
    kinds = [len(refs) for _, refs in waterfall_runs(db, series)]
    assert kinds == [1, 2]  # one run per batch: the unlocks' sum, then the refunds'
    assert check_ledger(db.session) == []


def test_a_posters_plan_cache_follows_a_new_plan_version(db, make_creator):
    owner = make_creator()
    partner, series, maya, actor = planned_world(db, owner, budget=630)
    cache = PlanCache()
    post_revenue(db.session, partner, [unlock(partner, series, "u0")], plans=cache)
    assert (posted(db, maya), posted(db, actor)) == (630, 0)
    # A second version (the budget repaid at 200 %) from a day later, accepted by everyone.
    plan = create_revenue_plan(db.session, series, owner, tiers=[TierTerms(1, 20_000)],
                               effective_from=LATER + timedelta(days=1), now=LATER)  # fmt: skip
    accept_all(db, plan, now=LATER)
    post_revenue(db.session, partner, [unlock(partner, series, "u1", at=LATER + timedelta(days=2))],
                 plans=cache)  # fmt: skip
    assert (posted(db, maya), posted(db, actor)) == (630 + 630, 0)  # the new plan's tier
    keys = {key for key, _ in waterfall_runs(db, series)}
    assert keys == {f"waterfall:series:{series.id}|USD|plan:{p}" for p in (plan.id - 1, plan.id)}
    assert check_ledger(db.session) == []
