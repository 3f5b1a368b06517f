"""Statements add up to the ledger: random histories of unlocks, refunds, pools and payouts;
every line's drill-down sums to the line (the full statement's and the page's by series and
episode); CSV rows sum to the statement; the PDF shows it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select

from ledger.allocation.splits import parties_from_json, party_amounts
from ledger.reports.statements import statement_events
from marketplace.earnings.exports import statement_csv, statement_pdf
from marketplace.earnings.statements import PAGE_FIELDS, participant_statement, user_accounts
from tests.helpers import ledger_movement
from tests.statements.conftest import T0

operations = st.lists(
    st.tuples(
        st.sampled_from(["unlock", "unlock", "unlock", "refund", "pool", "payout"]),
        st.integers(0, 89 * 24),  # hours after T0
        st.integers(1, 999),  # gross
        st.integers(0, 1),  # partner
        st.integers(1, 4),  # episode
        st.sampled_from(["US", "GB", None]),
    ),
    min_size=1,
    max_size=25,
)
# (start day, length in days) after T0 (Jan 1st): month-aligned ones read the monthly rollup.
periods = st.one_of(
    st.tuples(st.integers(0, 89), st.integers(1, 75)),
    st.sampled_from([(0, 31), (0, 59), (31, 28), (0, 90), (10, 60), (59, 31)]),
)


def apply(world, ops) -> None:
    for kind, hours, gross, partner, episode, country in ops:
        at = T0 + timedelta(hours=hours, minutes=gross % 60)
        if kind == "unlock":
            world.unlock(at, gross, partner, episode, country)
        elif kind == "refund":
            world.refund(at, gross, partner, episode)
        elif kind == "pool":
            world.pool(at, gross * 10, partner)
        else:
            world.payout(world.member, gross, at)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, period=periods)
def test_statement_totals_equal_ledger_movements(db, world, ops, period):
    savepoint = db.session.begin_nested()
    try:
        apply(world, ops)
        start = T0 + timedelta(days=period[0])
        end = start + timedelta(days=period[1])
        user = world.participant
        accounts = user_accounts(db.session, user.id)["USD"]
        view = participant_statement(db.session, user.id, "USD", start, end)
        st_ = view.statement
        moved = ledger_movement(db, accounts, start, end)
        assert st_.movements == moved
        assert st_.opening + moved == st_.closing
        assert st_.opening == ledger_movement(db, accounts, T0 - timedelta(days=3650), start)
        sections = ("earnings", "refunds", "pools", "payouts", "other")
        assert sum(view.section_total(name) for name in sections) == moved
        page = participant_statement(db.session, user.id, "USD", start, end, fields=PAGE_FIELDS)
        assert (page.statement.opening, page.statement.closing) == (st_.opening, st_.closing)
        for name in sections:
            assert page.section_total(name) == view.section_total(name)
        for line in st_.lines + page.statement.lines:
            if line.kind not in ("earning", "refund"):
                continue
            events = statement_events(
                db.session, accounts, start, end, kind=line.kind, group=dict(line.group)
            )
            assert len(events) == line.count
            assert sum(e.amount for e in events) == line.amount
        rows = list(csv.DictReader(io.StringIO(statement_csv(db.session, view, "en_US"))))
        body = [r for r in rows if r["section"] not in ("opening", "closing")]
        assert sum(int(r["amount_minor"]) for r in body) == moved
        assert int(rows[-1]["amount_minor"]) == st_.closing
    finally:
        savepoint.rollback()


def test_the_rollups_sum_the_events(db, world):
    """Each monthly and daily rollup row is the sum of its events (count, gross, money)."""
    from collections import defaultdict

    from ledger.allocation.store import unpack_run
    from ledger.json_text import compact_list
    from ledger.rollups import day_of, month_of
    from ledger.schema import AllocationRun, StatementDay, StatementRollup

    for n in range(30):
        world.unlock(T0 + timedelta(days=n * 2, minutes=n), gross=100 + n, partner=n % 2,
                     episode=n % 3, country=["US", None][n % 2])  # fmt: skip
    world.refund(T0 + timedelta(days=33), gross=101)
    world.pool(T0 + timedelta(days=40), amount=999)
    expected: dict[tuple, list] = defaultdict(lambda: [0, 0, None])
    for run in db.session.scalars(select(AllocationRun)):
        for event in unpack_run(run):
            line = compact_list(event.line)
            for span, start in (("month", month_of(event.effective_at)),
                                ("day", day_of(event.effective_at))):  # fmt: skip
                row = expected[span, run.bucket_id, start, event.gross > 0, line]
                row[0] += 1
                row[1] += event.gross
                row[2] = [a + b for a, b in zip(row[2] or [0] * len(event.amounts),
                                                event.amounts, strict=True)]  # fmt: skip
    got = {
        ("month", r.bucket_id, r.month, r.earning, r.line_key):
            [r.events, r.gross, list(r.party_amounts)]
        for r in db.session.scalars(select(StatementRollup))
    } | {
        ("day", r.bucket_id, r.day, r.earning, r.line_key):
            [r.events, r.gross, list(r.party_amounts)]
        for r in db.session.scalars(select(StatementDay))
    }  # fmt: skip
    assert got == {k: list(v) for k, v in expected.items()}


def test_stored_event_amounts_are_the_exact_split(db, world):
    """Each event's per-party money, stored when posted, is its step of the cumulative split."""
    from ledger.allocation.store import unpack_run
    from ledger.schema import AllocationBucket, AllocationRun

    for n in range(40):
        world.unlock(T0 + timedelta(minutes=7 * n), gross=97 + n, partner=n % 2)
    world.refund(T0 + timedelta(hours=2), gross=99)
    runs = db.session.execute(
        select(AllocationRun, AllocationBucket.parties).join(
            AllocationBucket, AllocationBucket.id == AllocationRun.bucket_id
        )
    ).all()
    assert runs
    for run, parties_json in runs:
        parties = parties_from_json(parties_json)
        cumulative = run.cumulative_from
        for event in unpack_run(run):
            exact = party_amounts(parties, cumulative, event.gross)
            assert event.amounts == [exact[p.account_id] for p in parties]
            cumulative += event.gross


def test_pdf_opens_and_shows_the_closing_balance(db, world):
    for n in range(12):
        world.unlock(T0 + timedelta(hours=n), gross=1234, episode=n % 3 + 1)
    world.refund(T0 + timedelta(hours=20), gross=1234)
    world.pool(T0 + timedelta(hours=30), amount=50_000)
    world.payout(world.member, 1_000, T0 + timedelta(days=3))
    view = participant_statement(
        db.session, world.participant.id, "USD", T0, T0 + timedelta(days=31)
    )
    data = statement_pdf(view, "en_US", "Test Person")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    closing = view.statement.closing
    assert closing > 0
    assert "Closing balance" in text
    assert f"${closing // 100:,}.{closing % 100:02d}" in text
    assert "Night Shift" in text and "Payouts" in text


def test_pdf_money_keeps_the_locales_symbol(db, world):
    from marketplace.earnings.exports import pdf_money

    assert pdf_money(123456, "EUR", "de") == "1.234,56 €"
    assert pdf_money(1234, "USD", "en_US") == "$12.34"
