"""Disputes: accept their figure through the normal ingest path, or keep ours with a note;
both audited; and the same from `flask settlements`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEvent
from marketplace.errors import Conflict, ServiceError
from marketplace.ingest.models import PartnerEvent
from marketplace.reconciliation.disputes import open_dispute, resolve_dispute
from marketplace.reconciliation.models import ReconciliationLine
from marketplace.reconciliation.reports import reconcile_report
from tests.reconciliation.conftest import PERIOD, at, report


@pytest.fixture
def world(db, make_world):
    w = make_world()
    for n in range(1, 4):
        w.unlock(db, f"u{n}", at(n + 1))
    return w


@pytest.fixture
def lines(db, world):
    rep = reconcile_report(db.session(), world.partner, PERIOD, report(
        world.line("u1", amount=59, when=at(2)),  # amount differs
        world.line("late-1", episode=6, when=at(8)),  # only theirs
        world.line("u3", when=at(4)),
    ), limit=1 << 20, source="cli")  # fmt: skip
    found = db.session.scalars(
        select(ReconciliationLine).where(ReconciliationLine.report_id == rep.id)
    )
    return {line.event_id: line for line in found}


def event(db, world, external_id):
    return db.session.scalars(
        select(PartnerEvent).where(
            PartnerEvent.partner_id == world.partner.id, PartnerEvent.external_id == external_id
        )
    ).one_or_none()


def audits(db, dispute_id):
    return db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == "reconciliation_dispute",
               AuditEvent.subject_id == str(dispute_id))
        .order_by(AuditEvent.id)
    ).all()  # fmt: skip


def test_accepting_an_only_theirs_line_ingests_a_late_unlock(db, world, lines, make_admin):
    admin = make_admin()
    dispute = open_dispute(db.session(), lines["late-1"].id, actor_id=admin.id, note="missing")
    resolve_dispute(db.session(), dispute.id, accept=True, actor_id=admin.id)
    late = event(db, world, "late-1")
    assert (late.kind, late.amount, late.episode, late.occurred_at) == ("unlock", 49, 6, at(8))
    assert dispute.status == "accepted" and dispute.ingested_event_ids == "late-1"
    assert audits(db, dispute.id) == ["reconciliation.dispute_open", "reconciliation.accept_theirs"]


def test_a_line_of_a_closed_period_is_booked_now_in_the_open_one(db, world, lines):
    world.partner.settled_through = at(1, month=7)  # June is closed
    db.session.commit()
    dispute = open_dispute(db.session(), lines["late-1"].id, actor_id=None)
    now = at(3, month=7)
    resolve_dispute(db.session(), dispute.id, accept=True, actor_id=None, now=now)
    late = event(db, world, "late-1")
    assert (late.kind, late.amount, late.occurred_at) == ("unlock", 49, now)


def test_accepting_an_amount_books_theirs_and_reverses_ours(db, world, lines, make_admin):
    admin = make_admin()
    dispute = open_dispute(db.session(), lines["u1"].id, actor_id=admin.id)
    resolve_dispute(db.session(), dispute.id, accept=True, actor_id=admin.id)
    theirs = event(db, world, f"dispute-{dispute.id}")
    reversal = event(db, world, f"dispute-{dispute.id}-reversal")
    assert (theirs.kind, theirs.amount) == ("unlock", 59)
    assert (reversal.kind, reversal.amount) == ("refund", 49)
    assert event(db, world, "u1").status == "refunded"


def test_accepting_only_ours_refunds_ours(db, world, lines, make_admin):
    only_ours = next(line for line in lines.values() if line.kind == "only_ours")
    dispute = open_dispute(db.session(), only_ours.id, actor_id=None)
    resolve_dispute(db.session(), dispute.id, accept=True, actor_id=None)
    assert event(db, world, only_ours.event_id).status == "refunded"
    assert dispute.ingested_event_ids == f"dispute-{dispute.id}"


def test_keeping_ours_needs_a_note_and_changes_no_event(db, world, lines):
    before = db.session.scalars(select(PartnerEvent.id)).all()
    dispute = open_dispute(db.session(), lines["u1"].id, actor_id=None)
    with pytest.raises(ServiceError, match="note is required"):
        resolve_dispute(db.session(), dispute.id, accept=False, actor_id=None)
    resolve_dispute(db.session(), dispute.id, accept=False, actor_id=None, note="their bug")
    assert dispute.status == "kept" and dispute.resolution_note == "their bug"
    assert db.session.scalars(select(PartnerEvent.id)).all() == before
    assert audits(db, dispute.id)[-1] == "reconciliation.keep_ours"
    with pytest.raises(Conflict, match="resolved already"):
        resolve_dispute(db.session(), dispute.id, accept=True, actor_id=None)
    with pytest.raises(Conflict, match="dispute already"):
        open_dispute(db.session(), lines["u1"].id, actor_id=None)


def test_a_figure_the_event_log_refuses_is_not_half_applied(db, world, lines):
    line = lines["u1"]
    line.their_episode = 1  # a free episode: the unlock service refuses it
    db.session.commit()
    dispute = open_dispute(db.session(), line.id, actor_id=None)
    with pytest.raises(ServiceError, match="free"):
        resolve_dispute(db.session(), dispute.id, accept=True, actor_id=None)
    assert event(db, world, "u1").status == "accepted"
    assert dispute.status == "open"


def test_the_cli_reconciles_disputes_and_resolves(db, world, runner, tmp_path):
    file = tmp_path / "june.csv"
    file.write_bytes(report(world.line("u1", amount=59, when=at(2)),
                            world.line("u2", when=at(3))).getvalue())  # fmt: skip
    args = ["settlements", "reconcile", "--partner", world.partner.name, "--period", PERIOD]
    result = runner.invoke(args=[*args, str(file), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["counts"]["amount_differs"] == 1 and out["counts"]["only_ours"] == 1
    assert out["counts"]["matched"] == 1
    differing = {line["event_id"]: line for line in out["differing"]}
    assert set(differing) == {"u1", "u3"}
    assert differing["u1"]["their_amount"] == 59 and differing["u1"]["our_amount"] == 49

    result = runner.invoke(args=["settlements", "dispute", str(differing["u1"]["id"])])
    dispute_id = json.loads(result.output)["id"]
    result = runner.invoke(args=["settlements", "resolve", str(dispute_id), "--keep-ours"])
    assert result.exit_code == 1 and "note is required" in result.output
    result = runner.invoke(
        args=["settlements", "resolve", str(dispute_id), "--keep-ours", "--note", "checked"]
    )
    assert json.loads(result.output)["status"] == "kept"

    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,amount\n")
    result = runner.invoke(args=[*args, str(bad)])
    assert result.exit_code == 1 and "missing series_id" in result.output


def test_the_cli_prints_text_and_refuses_an_unknown_partner(db, world, runner, tmp_path):
    file = tmp_path / "june.csv"
    file.write_bytes(report(world.line("u1", amount=59, when=at(2))).getvalue())
    args = ["settlements", "reconcile", "--period", PERIOD, str(file)]
    result = runner.invoke(args=[*args, "--partner", world.partner.name])
    assert result.exit_code == 0, result.output
    assert "amount_differs            1" in result.output
    assert "\tamount_differs\tu1\ttheirs: 59 USD" in result.output
    result = runner.invoke(args=[*args, "--partner", "Nobody"])
    assert result.exit_code == 1 and "No partner app named 'Nobody'" in result.output


def test_an_acceptance_is_one_transaction(db, world):
    """Their unlock is booked, then reversing ours is refused (a refund before its unlock):
    nothing of the acceptance stays, the dispute is still open."""
    rep = reconcile_report(db.session(), world.partner, PERIOD, report(
        world.line("u1", amount=59, when=at(1)),  # amount differs (and the date)
        world.line("u2", when=at(3)), world.line("u3", when=at(4)),
    ), limit=1 << 20, source="cli")  # fmt: skip
    line = db.session.scalars(
        select(ReconciliationLine).where(ReconciliationLine.report_id == rep.id)
    ).one()
    dispute = open_dispute(db.session(), line.id, actor_id=None)
    with pytest.raises(ServiceError, match="refused by the event log"):
        resolve_dispute(db.session(), dispute.id, accept=True, actor_id=None, now=at(1, hour=23))
    assert event(db, world, f"dispute-{dispute.id}") is None
    assert event(db, world, "u1").status == "accepted"
    assert db.session.get(type(dispute), dispute.id).status == "open"


def test_a_refund_they_do_not_have_is_accepted_by_selling_the_unlock_again(db, world):
    world.refund(db, "r2", "u2", at(9))
    rep = reconcile_report(db.session(), world.partner, PERIOD, report(
        world.line("u1", when=at(2)), world.line("u2", when=at(3)), world.line("u3", when=at(4)),
    ), limit=1 << 20, source="cli")  # fmt: skip
    line = db.session.scalars(
        select(ReconciliationLine).where(ReconciliationLine.report_id == rep.id)
    ).one()
    assert (line.kind, line.event_id, line.our_amount) == ("only_ours", "r2", -49)
    dispute = open_dispute(db.session(), line.id, actor_id=None)
    resolve_dispute(db.session(), dispute.id, accept=True, actor_id=None, now=at(20))
    again = event(db, world, f"dispute-{dispute.id}-reinstated")
    assert (again.kind, again.amount, again.episode, again.occurred_at) == ("unlock", 49, 5, at(9))
    assert dispute.status == "accepted" and dispute.ingested_event_ids == again.external_id


def test_their_refund_at_another_moment_moves_ours_and_other_refunds_are_refused(db, world):
    world.refund(db, "r2", "u2", at(9))
    world.refund(db, "r3", "u3", at(9))
    rep = reconcile_report(db.session(), world.partner, PERIOD, report(
        world.line("u1", when=at(2)), world.line("u2", when=at(3)), world.line("u3", when=at(4)),
        world.line("r2", amount=-49, when=at(12)), world.line("r3", amount=-20, when=at(9)),
    ), limit=1 << 20, source="cli")  # fmt: skip
    lines = {
        line.event_id: line
        for line in db.session.scalars(
            select(ReconciliationLine).where(ReconciliationLine.report_id == rep.id)
        )
    }
    assert (lines["r2"].kind, lines["r3"].kind) == ("date_differs", "amount_differs")
    moved = open_dispute(db.session(), lines["r2"].id, actor_id=None)
    resolve_dispute(db.session(), moved.id, accept=True, actor_id=None, now=at(20))
    n = moved.id
    assert moved.ingested_event_ids.split() == [f"dispute-{n}-reinstated", f"dispute-{n}-refund"]
    refund = event(db, world, f"dispute-{n}-refund")
    assert (refund.kind, refund.amount, refund.occurred_at) == ("refund", 49, at(12))
    partial = open_dispute(db.session(), lines["r3"].id, actor_id=None)
    with pytest.raises(ServiceError, match="gives back a whole unlock"):
        resolve_dispute(db.session(), partial.id, accept=True, actor_id=None, now=at(20))
