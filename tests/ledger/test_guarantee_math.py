"""Flat fees and minimum guarantees over a waterfall, against an exact Fraction oracle."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.allocation.guarantees import Guarantee, guarantee_dues, settle
from ledger.allocation.waterfall import waterfall_target
from tests.ledger.test_waterfall_math import oracle, plans

guarantees = st.builds(
    Guarantee,
    st.sampled_from(["flat_fee", "minimum"]),
    st.integers(1, 2_000),
    st.sampled_from(["month", "episode", "once"]),
)
# A stream of (pool amount or -1 for a refund of an earlier unlock, periods that pass).
streams = st.lists(
    st.tuples(st.one_of(st.integers(1, 4_000), st.just(-1)), st.integers(0, 2)),
    min_size=1,
    max_size=30,
)


@given(plans(), guarantees, streams, st.data())
def test_dues_stay_within_one_unit_of_the_exact_ones_and_money_is_conserved(
    plan, guarantee, stream, data
):
    accounts = plan.accounts()
    beneficiary = data.draw(st.sampled_from(accounts))
    guarantor = data.draw(st.sampled_from([a for a in accounts if a != beneficiary] or [99]))
    pool, periods, paid, unlocks = 0, 0, 0, []
    for amount, passed in stream:
        if amount < 0:
            if not unlocks:
                continue
            amount = -unlocks.pop(data.draw(st.integers(0, len(unlocks) - 1)))
        else:
            unlocks.append(amount)
        pool += amount
        periods += passed
        target = dict(zip(accounts, waterfall_target(plan, pool), strict=True))
        exact_share = oracle(plan, pool)[beneficiary]
        dues = guarantee_dues(guarantee, periods, target[beneficiary])
        promised = guarantee.amount * (min(periods, 1) if guarantee.period == "once" else periods)
        if guarantee.kind == "flat_fee":
            assert dues == promised
        else:
            exact_dues = max(Fraction(0), promised - exact_share)
            assert abs(dues - exact_dues) < 1
            # The beneficiary ends with at least what was promised, paid or owed to her.
            assert target[beneficiary] + dues >= promised
        # The guarantor's earnings: his waterfall money less what he paid the beneficiary.
        balance = target.get(guarantor, 0) - paid
        done = settle(dues, paid, balance)
        assert 0 <= done.paid <= done.dues == dues
        assert done.owed == dues - done.paid
        if done.paid > paid:  # paid only from what his earnings held
            assert done.paid - paid <= max(balance, 0)
        assert done.owed == 0 or done.paid - paid == max(balance, 0)
        paid = done.paid


def test_a_minimum_guarantee_tops_up_then_comes_back_when_the_share_catches_up():
    monthly = Guarantee("minimum", 1_000, "month")
    assert guarantee_dues(monthly, 2, 500) == 1_500  # two months: 2,000 promised, 500 earned
    first = settle(1_500, 0, 600)  # the creator's earnings hold 600: the rest stays owed
    assert (first.paid, first.owed) == (600, 900)
    second = settle(1_500, 600, 5_000)  # later earnings pay the rest
    assert (second.paid, second.owed) == (1_500, 0)
    later = settle(guarantee_dues(monthly, 2, 2_300), 1_500, 0)  # her share passed 2,000
    assert (later.dues, later.paid, later.owed) == (0, 0, 0)  # the 1,500 goes back to him


def test_a_flat_fee_is_owed_on_top_of_the_share_and_once_means_once():
    fee = Guarantee("flat_fee", 200_000, "once")
    assert guarantee_dues(fee, 0, 0) == 0
    assert guarantee_dues(fee, 5, 7_000) == 200_000
    assert guarantee_dues(Guarantee("flat_fee", 50, "episode"), 70, 1) == 3_500


@pytest.mark.parametrize(
    "kind, amount, period, message",
    [
        ("bonus", 1, "once", "flat_fee or a minimum"),
        ("minimum", 0, "once", "positive integer"),
        ("minimum", -5, "month", "positive integer"),
        ("minimum", 5, "year", "month, episode or once"),
    ],
)
def test_bad_guarantees_are_refused(kind, amount, period, message):
    with pytest.raises(ValueError, match=message):
        Guarantee(kind, amount, period)
