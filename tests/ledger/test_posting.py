"""Posting entries: balance, idempotency, reversal, funds, point-in-time and pending balances."""

from datetime import timedelta

import pytest

from ledger.balances import balance_as_of, get_balance
from ledger.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    UnbalancedEntry,
    UnknownAccount,
)
from ledger.money import Money
from ledger.posting import Leg, post_entry, reverse_entry
from tests.ledger.factories import T0, account


def pay(session, key, debit, credit, amount, at=T0, available_at=None, **metadata):
    """Post debit/credit of amount and return the entry."""
    return post_entry(
        session,
        idempotency_key=key,
        effective_at=at,
        description=f"test {key}",
        legs=[Leg(debit, amount), Leg(credit, -amount, available_at)],
        metadata=metadata,
        now=T0,
    )


@pytest.fixture
def books(session):
    return {
        "cash": account(session, "cash", "asset"),
        "payable": account(session, "payable", "liability"),
        "wallet": account(session, "wallet", "liability", must_not_go_negative=True),
        "yen": account(session, "yen", "asset", currency="JPY"),
    }


def test_an_entry_moves_both_balances(session, books):
    pay(session, "e1", books["cash"], books["payable"], 1000)
    assert get_balance(session, books["cash"], T0).posted == 1000
    assert get_balance(session, books["payable"], T0).posted == 1000  # credit-normal


def test_an_unbalanced_entry_is_refused(session, books):
    with pytest.raises(UnbalancedEntry):
        post_entry(
            session,
            idempotency_key="bad",
            effective_at=T0,
            description="bad",
            legs=[Leg(books["cash"], 100), Leg(books["payable"], -99)],
        )


def test_legs_must_balance_per_currency(session, books):
    with pytest.raises(UnbalancedEntry):
        post_entry(
            session,
            idempotency_key="fx",
            effective_at=T0,
            description="two currencies",
            legs=[Leg(books["cash"], 100), Leg(books["yen"], -100)],
        )
    with pytest.raises(CurrencyMismatch):
        post_entry(
            session,
            idempotency_key="fx2",
            effective_at=T0,
            description="money says EUR",
            legs=[Leg(books["cash"], Money(100, "EUR")), Leg(books["payable"], -100)],
        )


def test_unknown_accounts_and_floats_are_refused(session, books):
    with pytest.raises(UnknownAccount):
        pay(session, "ghost", books["cash"], 999_999, 5)
    with pytest.raises(TypeError):
        pay(session, "float", books["cash"], books["payable"], 5.0)


def test_a_repeated_key_returns_the_original_entry(session, books):
    first = pay(session, "same", books["cash"], books["payable"], 700)
    again = pay(session, "same", books["cash"], books["payable"], 700)
    assert again.id == first.id
    assert get_balance(session, books["cash"], T0).posted == 700


def test_a_repeated_key_with_other_content_conflicts(session, books):
    pay(session, "same", books["cash"], books["payable"], 700)
    with pytest.raises(IdempotencyConflict):
        pay(session, "same", books["cash"], books["payable"], 701)


def test_a_reversal_undoes_an_entry_once(session, books):
    entry = pay(session, "e", books["cash"], books["payable"], 500)
    reversal = reverse_entry(
        session, entry.id, idempotency_key="undo", effective_at=T0, description="undo"
    )
    assert reversal.reverses_entry_id == entry.id
    assert get_balance(session, books["cash"], T0).posted == 0
    again = reverse_entry(
        session, entry.id, idempotency_key="undo", effective_at=T0, description="undo"
    )
    assert again.id == reversal.id
    with pytest.raises(AlreadyReversed):
        reverse_entry(
            session, entry.id, idempotency_key="undo-2", effective_at=T0, description="again"
        )


def test_a_must_not_go_negative_account_refuses_overdraft(session, books):
    pay(session, "fund", books["cash"], books["wallet"], 300)
    with pytest.raises(InsufficientFunds):
        pay(session, "overdraw", books["wallet"], books["cash"], 301)
    pay(session, "drain", books["wallet"], books["cash"], 300)
    assert get_balance(session, books["wallet"], T0).posted == 0


def test_pending_money_cannot_be_spent_from_a_guarded_account(session, books):
    pay(session, "held", books["cash"], books["wallet"], 300, available_at=T0 + timedelta(days=7))
    with pytest.raises(InsufficientFunds):
        pay(session, "spend", books["wallet"], books["cash"], 1)


def test_participant_payables_may_go_negative(session, books):
    pay(session, "clawback", books["payable"], books["cash"], 250)
    assert get_balance(session, books["payable"], T0).posted == -250


def test_pending_becomes_available_by_the_clock(session, books):
    week = T0 + timedelta(days=7)
    pay(session, "hold", books["cash"], books["payable"], 900, available_at=week)
    before = get_balance(session, books["payable"], now=week - timedelta(seconds=1))
    after = get_balance(session, books["payable"], now=week)
    assert (before.posted, before.pending, before.available) == (900, 900, 0)
    assert (after.posted, after.pending, after.available) == (900, 0, 900)


def test_balance_as_of_any_effective_time(session, books):
    for day in range(5):
        pay(session, f"d{day}", books["cash"], books["payable"], 10, at=T0 + timedelta(days=day))
    assert balance_as_of(session, books["cash"], T0 - timedelta(seconds=1)) == 0
    assert balance_as_of(session, books["cash"], T0) == 10
    assert balance_as_of(session, books["cash"], T0 + timedelta(days=2, hours=1)) == 30
    assert balance_as_of(session, books["payable"], T0 + timedelta(days=9)) == 50


def test_naive_times_are_refused(session, books):
    with pytest.raises(ValueError, match="aware"):
        pay(session, "naive", books["cash"], books["payable"], 1, at=T0.replace(tzinfo=None))
