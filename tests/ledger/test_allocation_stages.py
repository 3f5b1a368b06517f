"""allocate_batch's second stage (`then`): the first events' money moves on through other
buckets in the same pass, with the first stage's results in hand."""

import pytest

from ledger.allocation.engine import AllocationEvent, Party, allocate_batch
from ledger.allocation.splits import DENOMINATOR
from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from tests.ledger.factories import T0, World, account


def test_a_second_stage_splits_what_the_first_put_in_a_pool(session):
    world = World(session)
    a, b = (account(session, f"member-{n}", owner_type="participant") for n in "ab")
    half = DENOMINATOR // 2
    into_pool = (Party(world.commission, half, held=False), Party(world.pool, half, held=False))
    onward = (Party(a, half), Party(b, half))
    seen = []

    def then(results):
        seen.extend(results)
        pooled = [(result.ref, result.amounts[1]) for result in results]
        return [AllocationEvent(ref, "stage-2", "USD", world.pool, onward, money, T0)
                for ref, money in pooled]  # fmt: skip

    unlocks = [world.unlock(f"u{i}", 1_001, into_pool) for i in range(3)]
    results = allocate_batch(session, unlocks, then=then)
    assert results == seen
    assert [r.amounts for r in results] == [(501, 500), (500, 501), (501, 500)]
    assert get_balance(session, world.pool).posted == 0  # in and out in one pass
    assert get_balance(session, a).posted + get_balance(session, b).posted == 1_501
    assert check_ledger(session) == []


def test_a_second_stage_may_not_reuse_a_first_stage_bucket(session):
    world = World(session)
    parties = world.parties([5000, 3000, 2000])
    unlock = world.unlock("u", 1_000, parties)
    with pytest.raises(ValueError, match="buckets of their own"):
        allocate_batch(session, [unlock], then=lambda results: [world.unlock("v", 10, parties)])
