"""The drift-free split's arithmetic, against exact fractions."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.allocation.engine import (
    DENOMINATOR,
    Party,
    canonical_parties,
    largest_remainder,
    party_amounts,
    split_parties,
)


def test_largest_remainder_hands_leftovers_to_the_largest_remainders():
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert largest_remainder(10, [5, 3, 2]) == [5, 3, 2]
    assert largest_remainder(1, [1, 2]) == [0, 1]
    assert largest_remainder(0, [1, 2]) == [0, 0]


def test_ties_go_to_the_lower_account_id_whatever_the_list_order():
    parties = [Party(9, DENOMINATOR // 2), Party(4, DENOMINATOR // 2)]
    assert party_amounts(parties, 0, 1) == {4: 1, 9: 0}
    assert party_amounts(list(reversed(parties)), 0, 1) == {4: 1, 9: 0}


@given(
    total=st.integers(-(10**9), 10**9),
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=8).filter(lambda w: sum(w)),
)
def test_largest_remainder_sums_exactly_and_stays_within_one_unit(total, weights):
    shares = largest_remainder(total, weights)
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - Fraction(total * weight, sum(weights))) < 1


def test_split_parties_weights_sum_to_the_denominator():
    parties = split_parties(
        partner_account_id=1,
        partner_bps=3000,
        platform_account_id=2,
        platform_fee_bps=2000,
        participants=[(3, 5000), (4, 2500), (3, 2500)],
    )
    assert [p.account_id for p in parties] == [1, 2, 3, 4]
    assert sum(p.weight for p in parties) == DENOMINATOR
    assert [p.held for p in parties] == [False, False, True, True]
    # Partner 30%; platform 20% of the other 70% = 14%; participants share the remaining 56%.
    assert [Fraction(p.weight, DENOMINATOR) for p in parties] == [
        Fraction(30, 100),
        Fraction(14, 100),
        Fraction(42, 100),
        Fraction(14, 100),
    ]


def test_bad_splits_are_refused():
    with pytest.raises(ValueError, match="10000"):
        split_parties(
            partner_account_id=1,
            partner_bps=0,
            platform_account_id=2,
            platform_fee_bps=0,
            participants=[(3, 9999)],
        )
    with pytest.raises(ValueError, match="twice"):
        canonical_parties([Party(1, DENOMINATOR // 2), Party(1, DENOMINATOR // 2)])
    with pytest.raises(ValueError, match="sum"):
        canonical_parties([Party(1, 1)])


@given(
    grosses=st.lists(st.integers(1, 5000), min_size=1, max_size=60),
    bps=st.lists(st.integers(1, 100), min_size=1, max_size=6),
)
def test_cumulative_amounts_never_drift(grosses, bps):
    scale = [b * 10_000 // sum(bps) for b in bps]
    scale[0] += 10_000 - sum(scale)
    parties = split_parties(
        partner_account_id=100,
        partner_bps=2500,
        platform_account_id=200,
        platform_fee_bps=1500,
        participants=list(enumerate(scale, start=1)),
    )
    paid = dict.fromkeys((p.account_id for p in parties), 0)
    cumulative = 0
    for gross in grosses:
        for account_id, amount in party_amounts(parties, cumulative, gross).items():
            paid[account_id] += amount
        cumulative += gross
        assert sum(paid.values()) == cumulative
        for party in parties:
            exact = Fraction(cumulative * party.weight, DENOMINATOR)
            assert abs(paid[party.account_id] - exact) < 1
