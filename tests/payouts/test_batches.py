"""Building batches (who is paid, who is listed and why, one batch per period) and the admins'
approvals and rejections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ledger.balances import get_balance
from ledger.posting import Leg, post_entry
from ledger.reports.checks import check_ledger
from marketplace.audit import AuditEvent
from marketplace.chart import ledger_account
from marketplace.errors import Conflict, Forbidden
from marketplace.payouts.batches import build_batch, exceeds_ten_times_median
from marketplace.payouts.models import PayoutLine
from marketplace.payouts.services import approve_batch, reject_line
from tests.payouts.support import AFTER_HOLD, T0


def lines_of(db, batch):
    return {
        (line.payee, line.currency): line
        for line in db.session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch.id))
    }


def test_build_pays_enabled_accounts_and_lists_everyone_else_with_the_reason(
    db, earn, connect, make_participant
):
    paid = make_participant(email="paid@example.test")
    earn(paid, gross=3_000)
    earn(paid, gross=2_000)  # two memberships: one line for the sum
    small = make_participant(email="small@example.test")
    earn(small, gross=999)
    connect(small)
    connect(paid)
    nobody = make_participant(email="noaccount@example.test")
    earn(nobody, gross=5_000)
    disabled = make_participant(email="disabled@example.test")
    earn(disabled, gross=5_000)
    connect(disabled, enabled=False)
    earn(None, gross=5_000, email="invited@example.test")  # invitation not accepted
    negative = make_participant(email="negative@example.test")
    member = earn(negative, gross=1_000)
    connect(negative)
    post_entry(  # an admin's correction leaves the member owing money
        db.session,
        idempotency_key="test-negative",
        effective_at=T0,
        description="correction",
        legs=[
            Leg(ledger_account(db.session, "member_earnings", "USD", member.id).id, 3_000),
            Leg(ledger_account(db.session, "adjustments", "USD").id, -3_000),
        ],
    )

    early = build_batch(db.session, as_of=T0 + timedelta(days=2)).batch
    # Earnings are still on hold; only the correction (available at once) shows.
    assert [(k, v.reason) for k, v in lines_of(db, early).items()] == [
        (("negative@example.test", "USD"), "negative balance")
    ]

    result = build_batch(db.session, as_of=AFTER_HOLD)
    assert result.created
    got = {
        payee: (line.amount, line.status, line.reason)
        for (payee, _), line in lines_of(db, result.batch).items()
    }
    assert got == {
        "paid@example.test": (5_000, "proposed", ""),
        "small@example.test": (999, "excluded", "below minimum"),
        "noaccount@example.test": (5_000, "excluded", "no payout account"),
        "disabled@example.test": (5_000, "excluded", "payout account not enabled"),
        "invited@example.test": (5_000, "excluded", "invitation pending"),
        "negative@example.test": (-2_000, "excluded", "negative balance"),
    }
    assert check_ledger(db.session) == []


def test_two_builds_for_one_period_make_one_batch_and_money_is_never_in_two(
    db, earn, connect, make_participant
):
    user = make_participant()
    earn(user, gross=4_000)
    connect(user)
    first = build_batch(db.session, as_of=AFTER_HOLD)
    again = build_batch(db.session, as_of=AFTER_HOLD + timedelta(hours=3))
    assert first.created and not again.created and again.batch.id == first.batch.id
    later = build_batch(db.session, as_of=AFTER_HOLD + timedelta(days=1))
    assert later.created and lines_of(db, later.batch) == {}  # reserved by the first batch


def test_flags_first_payout_and_ten_times_the_median():
    assert exceeds_ten_times_median(1001, [100])
    assert not exceeds_ten_times_median(1000, [100])
    assert exceeds_ten_times_median(1501, [100, 200])  # median 150
    assert not exceeds_ten_times_median(1500, [100, 200])
    assert not exceeds_ten_times_median(10**9, [])


def test_approval_rules_two_admins_no_self_payment_and_everything_audited(
    db, earn, connect, make_participant, make_admin
):
    user = make_participant()
    earn(user, gross=4_000)
    connect(user)
    paid_admin = make_admin()
    earn(paid_admin, gross=6_000)
    connect(paid_admin)
    batch = build_batch(db.session, as_of=AFTER_HOLD, approvals_required=2).batch
    first, second = make_admin(), make_admin()

    with pytest.raises(Forbidden):
        approve_batch(db.session, batch.id, admin_id=paid_admin.id)
    approve_batch(db.session, batch.id, admin_id=first.id, reason="looks right")
    assert batch.status == "draft"
    with pytest.raises(Conflict):
        approve_batch(db.session, batch.id, admin_id=first.id)
    approve_batch(db.session, batch.id, admin_id=second.id)
    assert batch.status == "approved"
    statuses = {line.status for line in lines_of(db, batch).values()}
    assert statuses == {"approved"}
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == str(batch.id))
    ).all()
    assert actions.count("payout.batch.approve") == 2 and "payout.batch.build" in actions


def test_a_rejected_line_returns_its_money_to_available(
    db, earn, connect, make_participant, make_admin
):
    user = make_participant()
    member = earn(user, gross=4_000)
    connect(user)
    batch = build_batch(db.session, as_of=AFTER_HOLD).batch
    [line] = lines_of(db, batch).values()
    earnings = ledger_account(db.session, "member_earnings", "USD", member.id)
    assert get_balance(db.session, earnings.id, now=AFTER_HOLD).available == 0
    admin = make_admin()
    reject_line(db.session, line.id, admin_id=admin.id, reason="Duplicate account")
    assert line.status == "rejected" and line.reason == "Duplicate account"
    assert get_balance(db.session, earnings.id, now=AFTER_HOLD).available == 4_000
    with pytest.raises(Conflict):
        reject_line(db.session, line.id, admin_id=admin.id, reason="again")
    assert check_ledger(db.session) == []
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "payout.line.reject")
    ).one()
    assert (audit.actor_id, audit.reason) == (admin.id, "Duplicate account")


def test_admin_pages_show_totals_flags_and_take_decisions(
    db, client, login_as, gateway, earn, connect, make_participant, make_admin
):
    user = make_participant(email="actor2@example.test")
    earn(user, gross=4_000)
    connect(user)
    admin = login_as(make_admin())
    built = client.post("/admin/payouts/build")
    assert built.status_code == 302
    batch_page = client.get(built.headers["Location"])
    assert b"first payout to a new account" in batch_page.data
    assert b"actor2@example.test" in batch_page.data
    batch_id = int(built.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    line = db.session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch_id)).one()
    client.post(f"/admin/payouts/lines/{line.id}/reject", data={"reason": "Looks off"})
    db.session.refresh(line)
    assert line.status == "rejected" and line.decided_by_id == admin.id
    assert client.get("/admin/payouts").status_code == 200
    line.batch.status = "approved"  # nothing left to send: no send button
    db.session.flush()
    page = client.get(f"/admin/payouts/{batch_id}").data
    assert b"Send approved payouts" not in page and b"Nothing left to send" in page
    login_as(user)
    assert client.get(f"/admin/payouts/{batch_id}").status_code == 403
