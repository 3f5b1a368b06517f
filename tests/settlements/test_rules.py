"""The pure rules, by property: how a payment is spread over statements, and the drift-free
release of collected money (fast: no database; HYPOTHESIS_PROFILE=ci runs 1,000 examples)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from marketplace.settlements.payments import split_payment
from marketplace.settlements.release import release_deltas, release_target

amounts = st.integers(min_value=0, max_value=10**12)


@given(st.lists(amounts, max_size=12), amounts)
def test_a_payment_pays_oldest_first_in_full_and_the_rest_is_credit(outstanding, amount):
    parts, credit = split_payment(outstanding, amount)
    assert sum(parts) + credit == amount
    assert all(0 <= part <= owed for part, owed in zip(parts, outstanding, strict=True))
    short = [i for i, (p, o) in enumerate(zip(parts, outstanding, strict=True)) if p < o]
    if short:  # the first statement not paid in full takes what was left; later ones nothing
        assert all(part == 0 for part in parts[short[0] + 1 :]) and credit == 0
    else:
        assert credit == amount - sum(outstanding)


@st.composite
def periods(draw):
    """A period's participants' totals (parts of what is owed) and a stream of payments,
    some late, partial or over."""
    shares = draw(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8))
    other = draw(st.integers(min_value=0, max_value=10**9))  # the platform's fee
    owed = sum(shares) + other
    payments = draw(st.lists(st.integers(min_value=1, max_value=max(owed, 1)), max_size=10))
    return dict(enumerate(shares)), owed, payments


@given(periods())
def test_releases_follow_payments_drift_free_and_never_exceed_what_was_paid(period):
    totals, owed, payments = period
    released: dict[int, int] = {}
    paid = 0
    for payment in payments:
        paid += payment
        for account, delta in release_deltas(totals, released, paid, owed).items():
            released[account] = released.get(account, 0) + delta
        for account, total in totals.items():
            assert released.get(account, 0) == release_target(total, paid, owed)
            assert 0 <= released.get(account, 0) <= total
        assert sum(released.values()) <= min(paid, owed) or owed == 0
    if paid >= owed:  # paid in full: exactly what advance makes available, per party
        assert {a: released.get(a, 0) for a in totals} == totals


@given(periods(), st.integers(min_value=0, max_value=10**9))
def test_a_refund_after_a_release_moves_only_the_difference(period, refund):
    totals, owed, payments = period
    paid = sum(payments)
    released = release_deltas(totals, {}, paid, owed)
    account = next(iter(totals))
    reduced = totals | {account: max(totals[account] - refund, 0)}
    again = release_deltas(reduced, released, paid, owed)
    for key, total in reduced.items():
        assert released.get(key, 0) + again.get(key, 0) == release_target(total, paid, owed)
