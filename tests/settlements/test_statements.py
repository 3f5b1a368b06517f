"""Closing settlement periods: the statement, its cut-off, order and finality."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.allocation.splits import split_parties, target_of_weights
from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import PLATFORM_OWNER_ID, ledger_account
from marketplace.ingest.models import PartnerEvent
from marketplace.partners.contracts import (
    add_contract_version,
    available_at_under,
    contract_at,
    contract_terms,
)
from marketplace.settlements.statements import PeriodOpen, close_period
from marketplace.splits.models import SplitVersion
from tests.settlements.conftest import T0

SEP, OCT, NOV = T0, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def totals_from_event_log(db, partner_id, start, end):
    """The statement's gross figures recomputed from the partner's accepted events."""
    out = defaultdict(int)
    for event in db.session.scalars(
        select(PartnerEvent).where(
            PartnerEvent.partner_id == partner_id,
            PartnerEvent.occurred_at >= start,
            PartnerEvent.occurred_at < end,
        )
    ):
        if event.kind == "unlock":
            out["unlocks"] += 1
            out["unlocks_gross"] += event.amount
        elif event.kind == "refund":
            out["refunds_gross"] += event.amount
        else:
            out["pools_gross"] += event.amount
    out["gross"] = out["unlocks_gross"] - out["refunds_gross"] + out["pools_gross"]
    return dict(out)


def partner_share_from_event_log(db, partner, start, end) -> int:
    """The partner's share of the period's events, recomputed from the event log and the
    contract versions alone (not from the ledger): each event under the version in force at
    it (a refund: at its unlock), in its bucket (series, split version, contract version),
    by the drift-free rule: an event moves the partner's position to target(C + g), a refund
    gives back exactly its unlock's step. Events are taken in the order the poster splits
    them: by (UTC hour, availability hour), then as reported (one posting batch per period,
    as in these tests)."""
    session = db.session
    contracts = contract_terms(session, partner)
    accounts = {}

    def account(kind, owner=PLATFORM_OWNER_ID):
        if (kind, owner) not in accounts:
            accounts[kind, owner] = ledger_account(session, kind, partner.currency, owner).id
        return accounts[kind, owner]

    versions = {v.id: v for v in session.scalars(select(SplitVersion))}
    events = session.scalars(
        select(PartnerEvent).where(PartnerEvent.partner_id == partner.id).order_by(PartnerEvent.id)
    ).all()
    by_id = {event.id: event for event in events}
    facts = []  # (hour, availability hour, id, ref, series, version, gross, moment, reverses)
    for event in events:
        moment = event.occurred_at
        if event.kind == "refund":
            moment = by_id[event.refund_of].occurred_at
        contract = contract_at(contracts, moment)
        available = event.available_at or available_at_under(contract, event.occurred_at)
        hours = (_hour(event.occurred_at), -int(-available.timestamp() // 3600))
        if event.kind == "pool":
            for share in event.details["shares"]:
                if share["amount"] > 0:
                    version = event.details["versions"][str(share["series_id"])]
                    facts.append((*hours, event.id, share["series_id"], int(version),
                                  share["amount"], contract, None, event.occurred_at))  # fmt: skip
        elif event.amount > 0:
            gross = -event.amount if event.kind == "refund" else event.amount
            facts.append((*hours, event.id, event.series_id, event.split_version_id, gross,
                          contract, event.refund_of, event.occurred_at))  # fmt: skip
    facts.sort(key=lambda fact: fact[:3])
    buckets = {}  # (series, version, contract) -> [cumulative, allocated to the partner]
    steps = {}  # event id -> the partner's step
    share = 0
    for _, _, ref, series_id, version_id, gross, contract, reverses, occurred_at in facts:
        version = versions[version_id]
        parties = split_parties(
            partner_account_id=account("partner_commission", partner.id),
            partner_bps=contract.share_bps,
            platform_account_id=account("platform_fees"),
            platform_fee_bps=version.platform_fee_bps,
            participants=[(account("member_earnings", s.member_id), s.bps) for s in version.shares],
        )
        weights = tuple(p.weight for p in parties)
        index = [p.account_id for p in parties].index(account("partner_commission", partner.id))
        bucket = buckets.setdefault((series_id, version_id, contract.number), [0, 0])
        cumulative, allocated = bucket
        if reverses is None:
            after = target_of_weights(weights, cumulative + gross)[index]
            steps[ref] = after - target_of_weights(weights, cumulative)[index]
            moved = after - allocated
        else:
            moved = -steps[reverses]
        bucket[0], bucket[1] = cumulative + gross, allocated + moved
        if start <= occurred_at < end:
            share += moved
    return share


def _hour(moment):
    return int(moment.timestamp()) // 3600


def test_a_statement_agrees_with_the_event_log_and_the_ledger(db, make_world):
    world = make_world()
    first = world.unlock(SEP + timedelta(days=2, hours=3), amount=99, country="FR")
    for day in range(5, 25):
        world.unlock(SEP + timedelta(days=day), amount=49 + day)
    world.refund(first["event_id"], SEP + timedelta(days=26))
    world.pool(SEP + timedelta(days=1), SEP + timedelta(days=29), 10_001)
    world.unlock(OCT + timedelta(hours=1))  # next period: not in September's statement
    statement, created = close_period(
        db.session, world.partner, SEP, now=OCT + timedelta(days=3, minutes=1)
    )
    assert created
    expected = totals_from_event_log(db, world.partner.id, SEP, OCT)
    for field, value in expected.items():
        assert getattr(statement, field) == value, field
    assert sum(line.gross for line in statement.lines) == statement.gross
    assert {(line.episode, line.country) for line in statement.lines} >= {(5, "FR"), (None, None)}
    # The partner's share is what the ledger gave it (30 % of each unlock, drift-free).
    assert abs(statement.partner_share - statement.gross * 3000 // 10_000) <= 1
    assert statement.amount_owed == statement.gross - statement.partner_share
    assert statement.due_at == OCT + timedelta(days=30)
    # The receivable holds what is owed, plus October's unlock not yet settled.
    receivable = ledger_account(db.session, "partner_receivable", "USD", world.partner.id)
    assert get_balance(db.session, receivable.id).posted == statement.amount_owed + 49
    assert check_ledger(db.session) == []
    # A repeat changes nothing.
    again, created = close_period(db.session, world.partner, SEP, now=NOV)
    assert (again.id, created) == (statement.id, False)


def test_a_statements_totals_and_partner_share_are_recomputed_from_the_event_log(db, make_world):
    """Acceptance 2: every figure of a statement, the partner's share included, follows from
    the event log and the contract versions (a new share in force mid-period; a refund after
    the change of an unlock before it; a pool), exactly."""
    world = make_world()
    add_contract_version(
        db.session, world.partner, effective_from=SEP + timedelta(days=15), share_bps=1234,
        now=SEP - timedelta(days=1),
    )  # fmt: skip
    first = world.unlock(SEP + timedelta(days=1), amount=333)
    world.unlock(SEP + timedelta(days=2), amount=777, country="FR")
    world.unlock(SEP + timedelta(days=16), amount=999)
    world.refund(first["event_id"], SEP + timedelta(days=17))
    world.unlock(SEP + timedelta(days=18), amount=1001, episode=6)
    world.pool(SEP, SEP + timedelta(days=20), 5_003)
    world.unlock(OCT + timedelta(hours=5), amount=4_000)  # October: not in this statement
    statement, _ = close_period(db.session, world.partner, SEP, now=OCT + timedelta(days=4))
    expected = totals_from_event_log(db, world.partner.id, SEP, OCT)
    assert {field: getattr(statement, field) for field in expected} == expected
    assert expected["gross"] == 777 + 999 + 1001 + 5_003
    share = partner_share_from_event_log(db, world.partner, SEP, OCT)
    assert statement.partner_share == share
    assert statement.amount_owed == statement.gross - share
    # 30 % of September's first days' 777 (the refund gives back the 333's own step), then
    # 12.34 % of the rest: about 233 + 864 = 1,097, exact to the unit by the rule.
    assert abs(share - (777 * 3000 + (999 + 1001 + 5_003) * 1234) // 10_000) <= 2


def test_a_period_closes_only_after_its_late_event_window(db, make_world):
    world = make_world()
    world.unlock(SEP + timedelta(days=3))
    with pytest.raises(PeriodOpen) as refused:
        close_period(db.session, world.partner, SEP, now=OCT + timedelta(days=2, hours=23))
    message = refused.value.message
    assert "2026-10-04T00:00" in message and "SETTLEMENT_LATE_DAYS (3)" in message
    assert world.partner.settled_through is None


def test_periods_close_in_order(db, make_world):
    world = make_world()
    world.unlock(SEP + timedelta(days=3))
    with pytest.raises(PeriodOpen, match="next period to close is 2026-09"):
        close_period(db.session, world.partner, OCT, now=NOV + timedelta(days=5))


def test_a_closed_period_refuses_late_events_with_period_closed(db, make_world):
    world = make_world()
    kept = world.unlock(SEP + timedelta(days=3))
    close_period(db.session, world.partner, SEP, now=OCT + timedelta(days=4))
    late = world.unlock(SEP + timedelta(days=20))
    assert late["status"] == "rejected" and late["error"]["code"] == "period_closed"
    refund = world.refund(kept["event_id"], SEP + timedelta(days=21))
    assert refund["error"]["code"] == "period_closed"
    pool = world.pool(SEP, SEP + timedelta(days=29), 500)
    assert pool["error"]["code"] == "period_closed"
    assert world.unlock(OCT + timedelta(days=1))["status"] == "accepted"


def test_cli_close_list_show(db, make_world, runner):
    world = make_world()
    world.unlock(SEP + timedelta(days=3), country="DE")
    db.session.commit()
    result = runner.invoke(
        args=["settlements", "close", "--partner", world.partner.name, "--period", "2026-09"]
    )
    assert result.exit_code == 0, result.output
    closed = json.loads(result.output)
    assert closed["created"] and closed["gross"] == 49 and closed["period"] == "2026-09"
    shown = json.loads(runner.invoke(args=["settlements", "show", str(closed["id"])]).output)
    assert shown["lines"][0]["country"] == "DE" and shown["amount_owed"] == closed["amount_owed"]
    csv = runner.invoke(args=["settlements", "show", str(closed["id"]), "--format", "csv"]).output
    assert csv.splitlines()[0].startswith("series_id,episode,country")
    listed = runner.invoke(args=["settlements", "list", "--partner", world.partner.name]).output
    assert json.loads(listed.splitlines()[0])["id"] == closed["id"]
    early = runner.invoke(
        args=["settlements", "close", "--partner", world.partner.name, "--period", "2099-01"]
    )
    assert early.exit_code != 0 and "next period to close is 2026-09" not in early.output


def test_weekly_periods_close_by_iso_week(db, make_world, runner):
    from marketplace.partners.contracts import add_contract_version

    world = make_world()
    add_contract_version(
        db.session, world.partner, effective_from=SEP - timedelta(days=3), period="weekly",
        net_days=7, now=SEP - timedelta(days=4),
    )  # fmt: skip
    monday = datetime(2026, 9, 7, tzinfo=UTC)  # ISO week 37
    world.unlock(monday + timedelta(days=1), amount=100)
    world.unlock(monday + timedelta(days=8), amount=100)  # week 38
    first, _ = close_period(db.session, world.partner, monday, now=monday + timedelta(days=10))
    assert (first.label, first.gross, first.period_end) == (
        "2026-W37",
        100,
        monday + timedelta(days=7),
    )
    assert first.due_at == monday + timedelta(days=14)
    db.session.commit()
    result = runner.invoke(
        args=["settlements", "close", "--partner", world.partner.name, "--period", "2026-W38"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["gross"] == 100
