"""Random streams, on the database: unlocks, refunds, revenue pools, late events, contract
changes (share, policy), period closes, and partial, late, named and over-payments. After each
stream, per partner app: receivable = statements owed - remittances, exactly; each statement
agrees with the event log; under `collected` participants never got more than the app paid,
and once everything is paid each participant has exactly what `advance` makes available; the
ledger checks clean. SETTLEMENT_STREAM_EXAMPLES sets the number of streams (each one posts, closes
three months and checks the whole ledger: about a second on SQLite and on PostgreSQL)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import traceback
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beancount import loader
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger.balances import get_balance
from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from ledger.schema import PendingRow
from marketplace.chart import ledger_account
from marketplace.partners.contracts import add_contract_version, collected_sentinel
from marketplace.settlements.models import CollectedRelease, Remittance, SettlementStatement
from marketplace.settlements.payments import record_remittance
from marketplace.settlements.statements import close_period
from tests.settlements.conftest import T0
from tests.settlements.test_statements import partner_share_from_event_log, totals_from_event_log

MONTHS = [T0, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)]
END = datetime(2026, 12, 1, tzinfo=UTC)
LATER = datetime(2028, 1, 1, tzinfo=UTC)  # after every hold
EXAMPLES = int(
    os.environ.get(
        "SETTLEMENT_STREAM_EXAMPLES",
        "1000" if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "25",
    )
)
"""Streams per run: 1,000 under the ci profile, 25 otherwise."""

month_events = st.lists(
    st.tuples(
        st.sampled_from(["unlock", "unlock", "unlock", "refund", "pool", "late"]),
        st.integers(min_value=0, max_value=27 * 24),  # hour of the month
        st.integers(min_value=1, max_value=2_000),  # amount
    ),
    max_size=6,
)
payment = st.tuples(
    st.sampled_from(["part", "full", "over", "named", "late"]),
    st.integers(min_value=1, max_value=100),  # percent of what is outstanding
)
streams = st.fixed_dictionaries(
    {
        "months": st.lists(month_events, min_size=1, max_size=3),
        "payments": st.lists(st.lists(payment, max_size=2), min_size=3, max_size=3),
        "change": st.one_of(
            st.none(),
            st.tuples(
                st.sampled_from([MONTHS[1], MONTHS[1] + timedelta(days=15), MONTHS[2]]),
                st.integers(min_value=0, max_value=5_000),
                st.sampled_from(["advance", "collected"]),
            ),
        ),
        "first_policy": st.sampled_from(["advance", "collected"]),
    }
)


def run_stream(db, world, stream) -> None:
    """Play a stream: contract versions, then per month its unlocks (one batch), refunds (one
    batch), pools, the close, an event arriving too late, and the month's payments; then pay
    whatever is still open."""
    partner = world.partner
    before = T0 - timedelta(days=2)
    if stream["first_policy"] == "collected":
        add_contract_version(
            db.session, partner, effective_from=T0 - timedelta(days=1),
            payout_policy="collected", now=before,
        )  # fmt: skip
    if stream["change"] is not None:
        start, share, policy = stream["change"]
        add_contract_version(
            db.session, partner, effective_from=start, share_bps=share, payout_policy=policy,
            now=before,
        )  # fmt: skip
    unlocks: list[tuple[str, datetime]] = []
    refs = 0
    for index, (start, events) in enumerate(zip(MONTHS, stream["months"], strict=False)):
        moment = {kind: [] for kind in ("unlock", "refund", "pool", "late")}
        for kind, hour, amount in events:
            moment[kind].append((start + timedelta(hours=hour), amount))
        if moment["unlock"]:
            results = world.unlocks(moment["unlock"])
            for result, (at, _) in zip(results, moment["unlock"], strict=True):
                assert result["status"] == "accepted", result
                unlocks.append((result["event_id"], at))
        refunds = []
        for at, amount in moment["refund"]:
            if unlocks:
                unlock_id, unlocked_at = unlocks.pop(amount % len(unlocks))
                refunds.append((unlock_id, max(at, unlocked_at) + timedelta(hours=1)))
        if refunds:
            for result in world.refunds(refunds):
                assert result["status"] == "accepted", result
        for at, amount in moment["pool"]:
            world.pool(start, at + timedelta(hours=1), amount, post=False)
        world.post()
        end = MONTHS[index + 1] if index + 1 < len(MONTHS) else END
        statement, created = close_period(db.session, partner, start, now=end + timedelta(days=3))
        assert created
        for at, amount in moment["late"][:1]:
            late = world.unlocks([(at, amount)])[0]
            assert late["error"]["code"] == "period_closed", late
        for field, value in totals_from_event_log(db, partner.id, start, end).items():
            assert getattr(statement, field) == value, field
        share = partner_share_from_event_log(db, partner, start, end)
        assert (statement.partner_share, statement.amount_owed) == (
            share,
            statement.gross - share,
        )
        for kind, percent in stream["payments"][index]:
            open_ = statement.amount_owed - statement.paid
            amount = {
                "part": max(open_ * percent // 100, 1),
                "full": max(open_, 1),
                "over": max(open_, 0) + percent,
                "named": max(open_ * percent // 100, 1),
                "late": max(open_ * percent // 100, 1),
            }[kind]
            refs += 1
            record_remittance(
                db.session, partner, amount=amount, currency="USD", reference=f"R{refs}",
                settlement_id=statement.id if kind == "named" else None,
                now=(statement.due_at + timedelta(days=40)) if kind == "late" else end
                + timedelta(days=4),
            )  # fmt: skip
            check_collected(db, partner.id)
    # Every statement still open is paid in full now.
    statements = db.session.scalars(
        select(SettlementStatement).where(SettlementStatement.partner_id == partner.id)
    ).all()
    rest = sum(max(s.amount_owed - s.paid, 0) for s in statements)
    if rest:
        record_remittance(
            db.session, partner, amount=rest, currency="USD", reference="final",
            now=END + timedelta(days=10),
        )  # fmt: skip


def check_collected(db, partner_id) -> None:
    """Under collected, each statement released at most what was paid of it."""
    for statement in db.session.scalars(
        select(SettlementStatement).where(SettlementStatement.partner_id == partner_id)
    ):
        released = db.session.scalar(
            select(func.coalesce(func.sum(CollectedRelease.released), 0)).where(
                CollectedRelease.statement_id == statement.id
            )
        )
        assert int(released) <= max(statement.paid, 0) or statement.amount_owed <= 0


def check_world(db, world) -> None:
    partner = world.partner
    statements = db.session.scalars(
        select(SettlementStatement).where(SettlementStatement.partner_id == partner.id)
    ).all()
    remitted = db.session.scalar(
        select(func.coalesce(func.sum(Remittance.settled), 0)).where(
            Remittance.partner_id == partner.id
        )
    )
    receivable = ledger_account(db.session, "partner_receivable", "USD", partner.id)
    owed = sum(s.amount_owed for s in statements)
    assert get_balance(db.session, receivable.id).posted == owed - int(remitted)
    check_collected(db, partner.id)
    # Everything is paid: every participant has all its money available, as under advance,
    # and nothing waits at any collected moment of this app.
    for member_id in world.member_ids:
        account = ledger_account(db.session, "member_earnings", "USD", member_id)
        balance = get_balance(db.session, account.id, LATER)
        assert balance.available == balance.posted
    for statement in statements:
        sentinel = collected_sentinel(partner.id, statement.period, statement.period_start)
        waiting = db.session.scalar(
            select(func.coalesce(func.sum(PendingRow.amount), 0)).where(
                PendingRow.available_at == sentinel
            )
        )
        assert int(waiting) == 0
    assert check_ledger(db.session) == []


@contextmanager
def rolled_back(db, world):
    """Run one example inside a SAVEPOINT of the test's transaction and roll it back after:
    every example starts from the same app, series and members, on an otherwise empty
    ledger (services' commits only release the session's own, inner savepoints)."""
    connection = db.engines[None]  # the test's connection (tests/conftest.py, db fixture)
    db.session.remove()
    savepoint = connection.begin_nested()
    world.reload()
    try:
        yield
    finally:
        db.session.remove()
        savepoint.rollback()


def bean_check(db) -> None:
    """Export the ledger to beancount text and load it with beancount's own loader, in
    process: what `bean-check` does, without a process per example."""
    out = io.StringIO()
    export_beancount(db.session, out)
    _, errors, _ = loader.load_string(out.getvalue())
    assert not errors, [str(e) for e in errors[:5]]


def test_random_streams_keep_every_settlement_invariant(db, make_world):
    world = make_world()

    @settings(
        max_examples=EXAMPLES,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a shrink takes many minutes
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(stream=streams)
    def one_stream(stream):
        with rolled_back(db, world):
            try:
                run_stream(db, world, stream)
                check_world(db, world)
                bean_check(db)
            except Exception:
                traceback.print_exc()
                print("stream:", stream, file=sys.stderr)
                raise

    one_stream()


def test_the_ledger_of_a_stream_exports_to_beancount_that_checks(db, make_world, tmp_path):
    world = make_world()
    stream = {
        "months": [
            [("unlock", 5, 700), ("unlock", 30, 300), ("refund", 40, 0), ("pool", 50, 999)],
            [("unlock", 3, 1234), ("late", 600, 10)],
            [("unlock", 7, 55)],
        ],
        "payments": [[("part", 40), ("over", 5)], [("named", 50)], [("late", 100)]],
        "change": (MONTHS[1], 2500, "collected"),
        "first_policy": "advance",
    }
    run_stream(db, world, stream)
    record_remittance(
        db.session, world.partner, amount=100, currency="EUR", reference="fx", rate="1.0841"
    )
    out = io.StringIO()
    export_beancount(db.session, out)
    path = tmp_path / "ledger.beancount"
    path.write_text(out.getvalue())
    bean_check = Path(sys.executable).with_name("bean-check")
    result = subprocess.run([bean_check, path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[:2000] + result.stderr[:2000]
    assert check_ledger(db.session) == []


def test_a_refund_under_collected_of_an_advance_unlock_waits_on_its_own_period(db, make_world):
    world = make_world()
    stream = {
        "payments": [[], [], [("part", 1), ("over", 52), ("full", 59)]],
        "first_policy": "advance",
        "months": [
            [("unlock", 328, 136), ("unlock", 459, 254), ("unlock", 411, 925), ("unlock", 0, 162),
             ("late", 496, 669)],
            [],
            [("late", 293, 938), ("pool", 281, 156), ("refund", 112, 359)],
        ],
        "change": (MONTHS[1], 1879, "collected"),
    }  # fmt: skip
    run_stream(db, world, stream)
    check_world(db, world)
