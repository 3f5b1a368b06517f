"""Statements, the balances report, check_ledger and the beancount export over one history."""

import io
import re
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from beancount import loader

from ledger.allocation.engine import allocate_batch
from ledger.errors import BucketMismatch
from ledger.posting import Leg, post_entry
from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from ledger.reports.rows import balance_rows
from ledger.reports.statements import statement
from tests.ledger.factories import T0, World

FEB = T0.replace(month=2)


@pytest.fixture
def history(session):
    """Two months of unlocks over two series, a refund and a payout."""
    world = World(session)
    split = world.parties([5000, 3000, 2000])
    events = [
        world.unlock(
            f"u{n}",
            199,
            split,
            bucket=f"series:{n % 2}",
            at=T0 + timedelta(days=n * 3),
            series_id=n % 2,
            episode=n % 4,
            partner_id=7,
            country="FR" if n % 3 else "JP",
        )
        for n in range(20)
    ]
    refund = world.unlock(
        "refund-u3",
        -199,
        split,
        bucket="series:1",
        at=FEB,
        series_id=1,
        episode=3,
        partner_id=7,
        country="FR",
    )
    refund = replace(refund, available_at=events[3].available_at)
    allocate_batch(session, events[:10], now=T0)
    allocate_batch(session, [*events[10:], refund], now=T0)
    post_entry(
        session,
        idempotency_key="payout-1",
        effective_at=FEB + timedelta(days=3),
        description="Payout to participant 0",
        metadata={"kind": "payout", "payout_id": 1},
        legs=[Leg(world.participants[0], 1000), Leg(world.in_transit, -1000)],
    )
    return world


def test_the_history_checks_clean(session, history):
    assert check_ledger(session) == []


def test_a_statement_adds_up(session, history):
    payee = history.participants[0]
    feb = statement(session, payee, FEB, FEB.replace(month=3), now=FEB)
    assert feb.opening + feb.movements == feb.closing
    assert feb.total("payout") == -1000
    assert feb.total("refund") < 0
    by_series = feb.totals_by("series_id")
    assert set(by_series) == {0, 1}
    assert sum(by_series.values()) == feb.total("earning")
    jan = statement(session, payee, T0, FEB, now=FEB)
    assert jan.opening == 0 and jan.closing == feb.opening
    assert feb.pending + feb.available == feb.closing


def test_the_balances_report_has_one_row_per_account(session, history):
    rows = balance_rows(session, now=T0)
    assert {tuple(sorted(r)) for r in rows} == {
        ("account", "available", "currency", "owner_id", "owner_type", "pending", "posted", "type")
    }
    receivable = next(r for r in rows if r["owner_id"] == "partner-recv")
    assert receivable["posted"] == 19 * 199


def test_a_bucket_key_cannot_change_its_split(session, history):
    other = history.parties([1000, 1000, 8000])
    with pytest.raises(BucketMismatch):
        allocate_batch(session, [history.unlock("x", 5, other, bucket="series:0")])


def test_the_beancount_export_checks_and_catches_a_one_unit_change(session, history, tmp_path):
    out = io.StringIO()
    export_beancount(session, out)
    text = out.getvalue()
    assert "balance" in text and "payout" in text
    _, errors, _ = loader.load_string(text)
    assert errors == []
    good = tmp_path / "ledger.beancount"
    good.write_text(text)
    bean_check = Path(sys.executable).with_name("bean-check")
    assert subprocess.run([bean_check, good], capture_output=True).returncode == 0

    # Change the first posting of the first transaction by one minor unit.
    match = re.search(r"^(  \S+  )(-?\d+)( USD_MINOR)$", text, flags=re.MULTILINE)
    tampered = text[: match.start(2)] + str(int(match.group(2)) + 1) + text[match.end(2) :]
    bad = tmp_path / "tampered.beancount"
    bad.write_text(tampered)
    assert subprocess.run([bean_check, bad], capture_output=True).returncode != 0


def test_an_hour_group_never_straddles_utc_months(session):
    """Times with a +05:30 offset: one local hour spans two UTC hours (and here two months)."""
    from datetime import timezone

    from ledger.schema import Entry

    world = World(session)
    split = world.parties([5000, 3000, 2000])
    india = timezone(timedelta(hours=5, minutes=30))
    january = world.unlock("jan", 199, split, at=FEB.replace(hour=5, minute=15, tzinfo=india))
    february = world.unlock("feb", 199, split, at=FEB.replace(hour=5, minute=45, tzinfo=india))
    first, second = allocate_batch(session, [january, february], now=T0)
    assert first.entry_id != second.entry_id
    months = {session.get(Entry, r.entry_id).effective_at.month for r in (first, second)}
    assert months == {1, 2}
    assert check_ledger(session) == []
