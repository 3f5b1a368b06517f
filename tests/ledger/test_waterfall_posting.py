"""A waterfall's bucket posted through allocate_batch: random pool streams of unlocks and
refunds keep every account within one minor unit of the exact waterfall, refunds walk it
back, and check_ledger and bean-check stay clean."""

import io
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.allocation.engine import AllocationEvent, allocate_batch
from ledger.allocation.waterfall import (
    Advance,
    Holder,
    Tier,
    Waterfall,
    waterfall_target,
)
from ledger.balances import get_balances
from ledger.errors import BucketMismatch
from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from tests.ledger.conftest import rolled_back
from tests.ledger.factories import T0, account
from tests.ledger.test_waterfall_math import ACCOUNTS, ROYALTY_ACCOUNTS, oracle, plans


def remap(plan: Waterfall, ids: dict[int, int]) -> Waterfall:
    """The same plan over real account ids."""
    return Waterfall(
        tuple(
            Tier(tuple(Holder(ids[h.account_id], h.amount) for h in t.holders), t.premium_bps)
            for t in plan.tiers
        ),
        tuple((ids[a], bps) for a, bps in plan.profit),
        tuple(Advance(ids[a.recipient], ids[a.payer], a.amount) for a in plan.advances),
        tuple((ids[a], bps) for a, bps in plan.royalties),
    )


class Pool:
    """A series' pool account and its waterfall bucket's events."""

    def __init__(self, session, plan, key="series:1|USD|plan:1"):
        self.debit = account(session, "series-pool", "liability")
        ids = {
            n: account(session, f"party-{n}", owner_type="participant")
            for n in sorted({*ACCOUNTS, *ROYALTY_ACCOUNTS})
        }
        self.plan = remap(plan, ids)
        self.parties = self.plan.parties()
        self.key = key
        self.ref = 0

    def event(self, gross, at, reverses=None):
        self.ref += 1
        return AllocationEvent(
            self.ref,
            self.key,
            "USD",
            self.debit,
            self.parties,
            gross,
            at,
            at + timedelta(days=7),
            {"kind": "refund" if reverses else "unlock", "series_id": 1},
            reverses,
            self.plan,
        )


steps = st.lists(
    st.one_of(
        st.tuples(st.just("unlock"), st.integers(1, 4_000), st.integers(0, 3)),
        st.tuples(st.just("refund"), st.integers(0, 10**6)),
        st.tuples(st.just("commit")),
    ),
    max_size=30,
)


@given(plans(), steps)
def test_pool_streams_stay_within_one_unit_of_the_exact_waterfall(engine, plan, stream):
    with rolled_back(engine) as session:
        pool = Pool(session, plan)
        pending, unlocks, cumulative = [], [], 0
        for step in stream:
            if step[0] == "unlock":
                event = pool.event(step[1], T0 + timedelta(hours=step[2]))
                pending.append(event)
                unlocks.append(event)
            elif step[0] == "refund" and unlocks:
                original = unlocks.pop(step[1] % len(unlocks))
                pending.append(pool.event(-original.gross, original.effective_at, original.ref))
            elif pending:
                allocate_batch(session, pending, now=T0)
                cumulative += sum(e.gross for e in pending)
                pending = []
                assert_on_the_waterfall(session, pool, cumulative)
        if pending:
            allocate_batch(session, pending, now=T0)
            cumulative += sum(e.gross for e in pending)
            assert_on_the_waterfall(session, pool, cumulative)
        assert check_ledger(session) == []


def assert_on_the_waterfall(session, pool, cumulative):
    ids = pool.plan.accounts()
    balances = get_balances(session, ids, T0)
    held = [balances[a].posted for a in ids]
    assert held == waterfall_target(pool.plan, cumulative)
    exact = oracle(pool.plan, cumulative)
    assert all(abs(h - exact[a]) < 1 for h, a in zip(held, ids, strict=True))


def test_a_refund_below_break_even_takes_back_from_the_tier_and_exports_cleanly(
    session, tmp_path
):
    plan = Waterfall(
        (Tier((Holder(11, 600), Holder(12, 400)), 11_000),),
        ((13, 5_000), (14, 5_000)),
        (Advance(14, 11, 50),),
    )
    pool = Pool(session, plan)
    a, b, c, d = (pool.plan.accounts()[i] for i in range(4))
    first = pool.event(1_000, T0)
    second = pool.event(300, T0 + timedelta(hours=1))
    allocate_batch(session, [first, second], now=T0)
    # 1,100 repays the tier (660 + 440), 200 is profit: 100 each, party 4's 100 repays 50 of
    # the advance to party 1.
    assert [get_balances(session, [x], T0)[x].posted for x in (a, b, c, d)] == [710, 440, 100, 50]
    allocate_batch(session, [pool.event(-1_000, T0, reverses=first.ref)], now=T0)
    # Back to 300 in the pool: the profit and the advance's recovery are given back first,
    # then the tier, whose holders keep 300 pari passu.
    assert [get_balances(session, [x], T0)[x].posted for x in (a, b, c, d)] == [180, 120, 0, 0]
    assert check_ledger(session) == []
    out = io.StringIO()
    export_beancount(session, out)
    path = tmp_path / "ledger.beancount"
    path.write_text(out.getvalue())
    bean_check = Path(sys.executable).with_name("bean-check")
    assert subprocess.run([bean_check, path], capture_output=True).returncode == 0


def test_a_waterfall_bucket_cannot_change_its_plan(session):
    plan = Waterfall((Tier((Holder(11, 100),)),), ((11, 10_000),))
    pool = Pool(session, plan)
    allocate_batch(session, [pool.event(10, T0)], now=T0)
    other = Pool(session, Waterfall((Tier((Holder(11, 200),)),), ((11, 10_000),)))
    other.ref = 5
    with pytest.raises(BucketMismatch):
        allocate_batch(session, [other.event(10, T0)], now=T0)
