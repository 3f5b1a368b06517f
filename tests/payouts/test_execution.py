"""Acceptance 2: execution stopped at every point and run again pays each line exactly once;
Stripe's refusals and lost answers; webhooks that fail or reverse a payout."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from ledger.schema import Entry
from marketplace.chart import ledger_account
from marketplace.mail import OutboxMessage
from marketplace.payouts.batches import build_batch
from marketplace.payouts.execution import FAULT_POINTS, execute_batch
from marketplace.payouts.models import PayoutLine
from marketplace.payouts.services import approve_batch
from tests.payouts.support import AFTER_HOLD, deliver_events


class Crash(Exception):
    """The executor's process dies here."""


@pytest.fixture
def approved_batch(db, earn, connect, fund, make_participant, make_admin):
    """Two payees with enabled accounts in an approved batch; the platform funded."""

    def make(count=2, gross=5_000):
        payees = []
        for _ in range(count):
            user = make_participant()
            member = earn(user, gross=gross)
            payees.append((user, member, connect(user)))
        fund()
        batch = build_batch(db.session, as_of=AFTER_HOLD).batch
        approve_batch(db.session, batch.id, admin_id=make_admin().id)
        lines = db.session.scalars(
            select(PayoutLine).where(PayoutLine.batch_id == batch.id).order_by(PayoutLine.id)
        ).all()
        return batch, payees, lines

    return make


def transfers_to(gateway, destination):
    return gateway.client.v1.transfers.list({"destination": destination}).data


def assert_each_line_sent_once(db, gateway, lines):
    for line in lines:
        db.session.refresh(line)
        assert line.status == "sent", (line.id, line.status, line.reason)
        transfers = transfers_to(gateway, line.destination)
        assert [(t.id, t.amount) for t in transfers] == [(line.transfer_id, line.amount)]
        keys = [f"payout:line:{line.id}:transfer"]
        assert (
            db.session.scalar(
                select(func.count()).select_from(Entry).where(Entry.idempotency_key.in_(keys))
            )
            == 1
        )
        assert line.bank_payout_id
    assert check_ledger(db.session) == []


@pytest.mark.parametrize("point", FAULT_POINTS)
@pytest.mark.parametrize("victim", [0, 1])
def test_a_crash_at_any_point_then_a_rerun_pays_each_line_once(
    db, client, gateway, emulator, approved_batch, point, victim
):
    batch, _, lines = approved_batch()
    target = lines[victim].id

    def checkpoint(name, line_id):
        if name == point and line_id == target:
            raise Crash(f"{name} at line {line_id}")

    with pytest.raises(Crash):
        execute_batch(db.session, gateway.client, batch.id, checkpoint=checkpoint)
    db.session.rollback()  # whatever the dead process had not committed is gone

    execute_batch(db.session, gateway.client, batch.id)
    execute_batch(db.session, gateway.client, batch.id)  # a third run changes nothing
    assert_each_line_sent_once(db, gateway, lines)

    for line in lines:
        emulator.settle_payout(line.bank_payout_id, paid=True)
    deliver_events(client, emulator)
    db.session.expire_all()
    assert {line.status for line in lines} == {"paid"}


def test_a_lost_answer_after_stripe_made_the_transfer_is_recovered_with_the_same_key(
    db, gateway, emulator, approved_batch
):
    batch, _, lines = approved_batch(count=1)
    emulator.inject("network_error_after", path="/v1/transfers")
    report = execute_batch(db.session, gateway.client, batch.id)
    assert list(report.retry_later) == [lines[0].id]
    db.session.refresh(lines[0])
    assert lines[0].status == "sending"
    assert len(transfers_to(gateway, lines[0].destination)) == 1  # made, answer lost

    report = execute_batch(db.session, gateway.client, batch.id)
    assert report.sent == [lines[0].id]
    assert_each_line_sent_once(db, gateway, lines)


def test_a_destination_that_cannot_receive_fails_the_line_and_returns_the_money(
    db, gateway, emulator, approved_batch
):
    batch, payees, lines = approved_batch()
    bad = lines[0]
    emulator.fail_next_transfer_to(bad.destination)
    report = execute_batch(db.session, gateway.client, batch.id)
    assert report.failed == [bad.id] and report.sent == [lines[1].id]
    db.session.refresh(bad)
    assert bad.status == "failed" and "capabilities" in bad.reason
    member = next(m for u, m, _ in payees if u.id == bad.user_id)
    earnings = ledger_account(db.session, "member_earnings", "USD", member.id)
    assert get_balance(db.session, earnings.id, now=AFTER_HOLD).available == bad.amount
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payout.failed"))
    assert [m.to_address for m in mail] == [bad.payee]
    assert check_ledger(db.session) == []


def test_insufficient_platform_balance_fails_with_stripes_reason(
    db, gateway, emulator, approved_batch
):
    batch, _, lines = approved_batch(count=1)
    emulator.inject("error", path="/v1/transfers", code="balance_insufficient")
    report = execute_batch(db.session, gateway.client, batch.id)
    assert report.failed == [lines[0].id]
    db.session.refresh(lines[0])
    assert "insufficient available funds" in lines[0].reason
    assert check_ledger(db.session) == []


def test_transfer_reversed_webhook_fails_a_sent_line_and_returns_the_money(
    db, client, gateway, emulator, approved_batch
):
    batch, payees, lines = approved_batch(count=1)

    def stop_before_bank_payout(name, line_id):
        if name == "before_bank_payout":
            raise Crash(name)

    with pytest.raises(Crash):
        execute_batch(db.session, gateway.client, batch.id, checkpoint=stop_before_bank_payout)
    line = lines[0]
    db.session.refresh(line)
    gateway.client.v1.transfers.reversals.create(line.transfer_id)  # e.g. from the dashboard
    responses = deliver_events(client, emulator)
    assert ("transfer.reversed", 200, {"received": True, "outcome": "handled"}) in responses
    db.session.refresh(line)
    assert line.status == "failed" and "reversed" in line.reason
    earnings = ledger_account(db.session, "member_earnings", "USD", payees[0][1].id)
    assert get_balance(db.session, earnings.id, now=AFTER_HOLD).available == line.amount
    assert execute_batch(db.session, gateway.client, batch.id).bank_payouts == []
    assert check_ledger(db.session) == []


def test_a_failed_bank_payout_reverses_the_transfer_and_fails_the_line(
    db, client, gateway, emulator, approved_batch
):
    batch, payees, lines = approved_batch(count=1)
    execute_batch(db.session, gateway.client, batch.id)
    line = lines[0]
    db.session.refresh(line)
    emulator.settle_payout(line.bank_payout_id, paid=False, failure_code="account_closed")
    deliver_events(client, emulator)
    deliver_events(client, emulator)  # the transfer.reversed our reversal caused: no-op
    db.session.refresh(line)
    assert line.status == "failed" and "closed" in line.reason
    transfer = gateway.client.v1.transfers.retrieve(line.transfer_id)
    assert transfer.reversed
    earnings = ledger_account(db.session, "member_earnings", "USD", payees[0][1].id)
    assert get_balance(db.session, earnings.id, now=AFTER_HOLD).available == line.amount
    assert check_ledger(db.session) == []


def test_a_bank_payout_not_made_yet_shows_why_until_it_is_made(
    db, gateway, emulator, approved_batch
):
    batch, _, lines = approved_batch(count=1)
    emulator.inject("network_error_before", path="/v1/payouts")
    report = execute_batch(db.session, gateway.client, batch.id)
    assert report.sent == [lines[0].id] and list(report.retry_later) == [lines[0].id]
    db.session.refresh(lines[0])
    assert lines[0].status == "sent" and lines[0].bank_payout_id is None
    assert lines[0].reason.startswith("bank payout not made yet:")

    execute_batch(db.session, gateway.client, batch.id)
    db.session.refresh(lines[0])
    assert lines[0].bank_payout_id is not None and lines[0].reason == ""
