"""Closing settlement periods: the statement, its cut-off, order and finality."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from marketplace.ingest.models import PartnerEvent
from marketplace.settlements.statements import PeriodOpen, close_period
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
