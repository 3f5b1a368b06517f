"""The waterfall's arithmetic against an exact oracle in fractions.Fraction (no database)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.allocation.waterfall import (
    Advance,
    Holder,
    Tier,
    Waterfall,
    break_even,
    positions,
    recovered_advances,
    step,
    tier_positions,
    waterfall_from_json,
    waterfall_target,
)

ACCOUNTS = [11, 12, 13, 14, 15, 16]
ROYALTY_ACCOUNTS = [9, 12, 21]  # an original's writers: some on the remake's team too


def oracle(plan: Waterfall, pool: int) -> dict[int, Fraction]:
    """The exact waterfall, written independently of the implementation: Fractions only."""
    exact = {account: Fraction(0) for account in plan.accounts()}
    left = Fraction(pool)
    for account, bps in plan.royalties:  # a remake's royalty: off the top of the pool
        exact[account] += Fraction(pool * bps, 10_000)
        left -= Fraction(pool * bps, 10_000)
    for tier in plan.tiers:
        cost = sum(h.amount for h in tier.holders)
        cap = Fraction(cost * tier.premium_bps, 10_000)
        take = max(Fraction(0), min(left, cap))
        for holder in tier.holders:
            exact[holder.account_id] += take * holder.amount / cost
        left -= take
    for account, bps in plan.profit:
        exact[account] += max(left, Fraction(0)) * bps / 10_000
    for advance in plan.advances:
        recovered = min(Fraction(advance.amount), exact[advance.recipient])
        exact[advance.recipient] -= recovered
        exact[advance.payer] += recovered
    return exact


@st.composite
def plans(draw):
    tiers = []
    for _ in range(draw(st.integers(1, 4))):
        holders = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=3, unique=True))
        tiers.append(
            Tier(
                tuple(Holder(a, draw(st.integers(1, 5_000))) for a in holders),
                draw(st.sampled_from([10_000, 10_000, 11_000, 12_345, 25_000, 100_000])),
            )
        )
    members = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=4, unique=True))
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=len(members) - 1,
                                max_size=len(members) - 1)))  # fmt: skip
    bps = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
    advances = []
    for _ in range(draw(st.integers(0, 2))):
        recipient, payer = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2,
                                         unique=True))  # fmt: skip
        advances.append(Advance(recipient, payer, draw(st.integers(1, 3_000))))
    royalties = []
    for account in draw(st.lists(st.sampled_from(ROYALTY_ACCOUNTS), max_size=2, unique=True)):
        room = 9_999 - sum(b for _, b in royalties)
        royalties.append((account, draw(st.integers(1, min(room, 3_000)))))
    return Waterfall(
        tuple(tiers), tuple(zip(members, bps, strict=True)), tuple(advances), tuple(royalties)
    )


# A stream of pool amounts: positive unlocks, or -1 to refund a random earlier event.
streams = st.lists(st.one_of(st.integers(1, 4_000), st.just(-1)), min_size=1, max_size=40)


@given(plans(), streams, st.randoms(use_true_random=False))
def test_every_account_stays_within_one_unit_of_the_exact_waterfall(plan, stream, rnd):
    pool, held, events = 0, dict.fromkeys(plan.accounts(), 0), []
    assert waterfall_from_json(plan.to_json()) == plan
    for amount in stream:
        if amount < 0:
            if not events:
                continue
            amount = -events.pop(rnd.randrange(len(events)))  # a refund of an earlier unlock
        else:
            events.append(amount)
        for account, money in step(plan, pool, amount).items():
            held[account] += money
        pool += amount
        exact = oracle(plan, pool)
        assert sum(held.values()) == pool
        for account in plan.accounts():
            assert abs(held[account] - exact[account]) < 1, (account, pool)
        assert list(held.values()) == waterfall_target(plan, pool)


def test_an_unlock_crossing_break_even_is_divided_at_the_exact_unit():
    maya, northwind, actor = 1, 2, 3
    plan = Waterfall(
        (Tier((Holder(maya, 150_000), Holder(northwind, 50_000)), 11_000),),
        ((maya, 6_000), (actor, 4_000)),
    )
    assert break_even(plan) == 220_000
    # 219,990 in the pool: the tier is 10 short; the next 100 pay 10 to it, 90 to the split.
    money = step(plan, 219_990, 100)
    # Exact before: Maya 164,992.5, Northwind 54,997.5 (the half unit goes to the lower id);
    # after: 165,000 + 54 and 55,000; the actor 40 % of the 90 past break-even.
    assert money == {maya: 61, northwind: 3, actor: 36}
    assert tier_positions(plan, 219_990) == [(219_990, 220_000)]
    assert tier_positions(plan, 220_090) == [(220_000, 220_000)]


def test_a_refund_below_break_even_takes_back_from_the_tier_not_the_profit():
    creator, actor = 1, 2
    plan = Waterfall((Tier((Holder(creator, 1_000),)),), ((creator, 5_000), (actor, 5_000)))
    assert waterfall_target(plan, 1_200) == [1_100, 100]
    # A 300 refund walks back: 200 from the profit split (100 each), 100 from the tier.
    assert step(plan, 1_200, -300) == {creator: -200, actor: -100}
    assert waterfall_target(plan, 900) == [900, 0]


def test_an_advance_is_recovered_before_the_recipient_earns():
    creator, actor = 1, 2
    plan = Waterfall((), ((creator, 8_000), (actor, 2_000)), (Advance(actor, creator, 500),))
    assert waterfall_target(plan, 2_000) == [2_000, 0]  # the actor's 400 all go to the creator
    assert recovered_advances(plan, 2_000) == [400]
    assert waterfall_target(plan, 3_000) == [2_900, 100]
    assert recovered_advances(plan, 3_000) == [500]


@pytest.mark.parametrize(
    "tiers, profit, advances, message",
    [
        ((Tier((Holder(1, 10),), 9_999),), ((1, 10_000),), (), "between 100 % and 1,000 %"),
        ((Tier((Holder(1, 10),), 100_001),), ((1, 10_000),), (), "between 100 % and 1,000 %"),
        ((Tier((Holder(1, -5),)),), ((1, 10_000),), (), "positive integers"),
        ((), ((1, 9_000),), (), "sum to 10000"),
        ((), ((1, 10_000),), (Advance(1, 1, 5),), "cannot be its recipient"),
        ((Tier(()),), ((1, 10_000),), (), "no cost holder"),
    ],
)
def test_bad_terms_are_refused(tiers, profit, advances, message):
    with pytest.raises(ValueError, match=message):
        Waterfall(tiers, profit, advances)


@given(plans(), st.integers(0, 40_000))
def test_positions_add_up_to_the_exact_waterfall(plan, pool):
    where = positions(plan, pool)
    exact = oracle(plan, pool)
    earned = dict.fromkeys(plan.accounts(), Fraction(0))
    for tier in where.holders:
        for account, (repaid, owed) in tier.items():
            assert 0 <= repaid <= owed
            earned[account] += repaid
    for account, amount in where.profit.items():
        earned[account] += amount
    for account, amount in where.royalties.items():
        earned[account] += amount
    assert sum(earned.values()) == pool
    for advance, recovered in zip(plan.advances, where.advances, strict=True):
        assert 0 <= recovered <= advance.amount
        earned[advance.recipient] -= recovered
        earned[advance.payer] += recovered
    assert earned == exact


def test_a_remake_royalty_comes_off_the_top_before_the_tiers():
    writer, creator, actor = 1, 2, 3
    plan = Waterfall(
        (Tier((Holder(creator, 950),)),),
        ((creator, 5_000), (actor, 5_000)),
        royalties=((writer, 500),),  # the original's writer: 5 % of the remake's pool
    )
    assert break_even(plan) == 1_000  # 950 / 95 %
    assert waterfall_target(plan, 1_000) == [50, 950, 0]
    assert waterfall_target(plan, 1_200) == [60, 1_045, 95]
    assert step(plan, 1_200, -200) == {writer: -10, creator: -95, actor: -95}
    assert positions(plan, 1_200).royalties == {writer: 60}
    assert sum(p.weight for p in plan.parties()) == 10**12
    assert waterfall_from_json(plan.to_json()) == plan


def test_a_waterfall_without_royalties_keeps_its_json_and_digest():
    plan = Waterfall((), ((1, 10_000),))
    assert "royalties" not in plan.to_json()


@pytest.mark.parametrize(
    "royalties, message",
    [
        (((9, 10_000),), "under 10000 bps"),
        (((9, 6_000), (8, 4_500)), "under 10000 bps"),
        (((9, 0),), "positive integers"),
        (((9, 100), (9, 200)), "twice"),
    ],
)
def test_royalties_over_the_pool_are_refused(royalties, message):
    with pytest.raises(ValueError, match=message):
        Waterfall((), ((1, 10_000),), royalties=royalties)
