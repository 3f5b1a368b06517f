"""The `collected` payout policy: participants' earnings of a period become available only as
the partner app pays the period's statement, in proportion, and never more than was paid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from marketplace.errors import ServiceError
from marketplace.partners import contracts
from marketplace.partners.contracts import add_contract_version
from marketplace.settlements.payments import record_remittance
from marketplace.settlements.statements import close_period
from tests.settlements.conftest import T0

OCT, NOV = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
LATER = datetime(2027, 6, 1, tzinfo=UTC)  # after every hold


def members(db, world, now=LATER):
    accounts = [ledger_account(db.session, "member_earnings", "USD", m.id) for m in world.members]
    return [get_balance(db.session, a.id, now) for a in accounts]


def collected_world(make_world, db):
    world = make_world()
    add_contract_version(
        db.session, world.partner, effective_from=OCT, payout_policy="collected",
        now=T0 - timedelta(days=1),
    )  # fmt: skip
    return world


def test_collected_money_follows_payments_and_ends_equal_to_advance(db, make_world):
    collected, advance = collected_world(make_world, db), make_world()
    for world in (collected, advance):
        for day in range(1, 21):
            world.unlock(OCT + timedelta(days=day, hours=day), amount=37 + day)
    # Under advance, everything is available after the hold; under collected nothing yet.
    assert all(b.available == b.posted > 0 for b in members(db, advance))
    assert all(b.available == 0 < b.posted for b in members(db, collected))
    statement, _ = close_period(db.session, collected.partner, OCT, now=NOV + timedelta(days=4))
    owed = statement.amount_owed
    paid = owed * 60 // 100
    record_remittance(db.session, collected.partner, amount=paid, currency="USD", reference="R1")
    balances = members(db, collected)
    for balance in balances:
        assert balance.available == balance.posted * paid // owed
    assert sum(b.available for b in balances) <= paid
    record_remittance(
        db.session, collected.partner, amount=owed - paid, currency="USD", reference="R2"
    )
    after = members(db, collected)
    assert [b.available for b in after] == [b.posted for b in after]
    # Per party exactly what advance made available for the same unlocks.
    assert [b.available for b in after] == [b.available for b in members(db, advance)]
    assert check_ledger(db.session) == []


def test_a_contract_version_changes_the_share_only_from_its_start(db, make_world):
    world = make_world()
    add_contract_version(
        db.session, world.partner, effective_from=OCT, share_bps=2000, now=T0 - timedelta(days=1)
    )
    world.unlock(T0 + timedelta(days=3), amount=1000)
    world.unlock(OCT + timedelta(days=3), amount=1000)
    sep, _ = close_period(db.session, world.partner, T0, now=OCT + timedelta(days=4))
    oct_, _ = close_period(db.session, world.partner, OCT, now=NOV + timedelta(days=4))
    assert (sep.partner_share, oct_.partner_share) == (300, 200)


def test_contract_versions_take_effect_only_in_the_future(db, make_world, runner):
    world = make_world()
    db.session.commit()
    past = runner.invoke(
        args=["partners", "contract", world.partner.name, "--effective-from", "2020-01-01",
              "--share-bps", "100"]
    )  # fmt: skip
    assert past.exit_code != 0 and "in the future, never in the past" in past.output
    ok = runner.invoke(
        args=["partners", "contract", world.partner.name, "--effective-from", "2099-01-01",
              "--payout-policy", "collected", "--net-days", "45"]
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert '"number": 2' in ok.output and '"payout_policy": "collected"' in ok.output
    assert '"share_bps": 3000' in ok.output  # unchanged terms carry over


def test_collected_policy_is_refused_where_its_moments_would_not_fit(db, make_world, monkeypatch):
    """Collected money waits at one far-future hour per app and period, before year 9999: an
    app past the last id that fits gets a clear refusal, not an overflow at its first unlock."""
    assert contracts.COLLECTED_MAX_PARTNER_ID == 6_573
    contracts.collected_sentinel(6_573, "monthly", datetime(2400, 12, 1, tzinfo=UTC))  # fits
    world = make_world()
    monkeypatch.setattr(contracts, "COLLECTED_MAX_PARTNER_ID", world.partner.id - 1)
    with pytest.raises(ServiceError, match="collected payout policy is not available"):
        add_contract_version(
            db.session, world.partner, effective_from=OCT, payout_policy="collected",
            now=T0 - timedelta(days=1),
        )  # fmt: skip
