"""The admin's reconciliation pages: upload, list, a report's lines, CSV, disputes; admins only."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEvent
from marketplace.reconciliation.models import ReconciliationDispute, ReconciliationReport
from tests.reconciliation.conftest import HEADER, PERIOD, at


@pytest.fixture
def world(db, make_world):
    w = make_world()
    w.unlock(db, "u1", at(2))
    w.unlock(db, "u2", at(3))
    return w


def upload(client, world, text: str, period=PERIOD):
    data = {
        "partner_id": str(world.partner.id),
        "period": period,
        "file": (io.BytesIO(text.encode()), "june.csv"),
    }
    return client.post("/admin/reconciliation/", data=data, content_type="multipart/form-data")


def test_an_admin_uploads_reads_downloads_and_resolves(client, db, login_as, make_admin, world):
    login_as(make_admin())
    text = HEADER + world.line("u1", amount=60, when=at(2)) + world.line("late-1", when=at(9))
    response = upload(client, world, text)
    assert response.status_code == 302
    report = db.session.scalars(select(ReconciliationReport)).one()
    assert response.location.endswith(f"/admin/reconciliation/{report.id}")
    page = client.get(response.location).get_data(as_text=True)
    for text_seen in ("amount differs", "late-1", "only ours", "u2", "Open dispute"):
        assert text_seen in page
    listing = client.get("/admin/reconciliation/").get_data(as_text=True)
    assert f"#{report.id}" in listing

    csv_text = client.get(f"/admin/reconciliation/{report.id}/lines.csv").get_data(as_text=True)
    rows = csv_text.splitlines()
    assert rows[0].startswith("kind,event_id,line_no") and len(rows) == 4

    only = client.get(f"/admin/reconciliation/{report.id}?kind=only_theirs").get_data(as_text=True)
    assert "late-1" in only and "u2" not in only

    from marketplace.reconciliation.models import ReconciliationLine

    line = db.session.scalars(
        select(ReconciliationLine).where(ReconciliationLine.event_id == "late-1")
    ).one()
    client.post(f"/admin/reconciliation/lines/{line.id}/dispute", data={"note": "late"})
    dispute = db.session.scalars(select(ReconciliationDispute)).one()
    response = client.post(
        f"/admin/reconciliation/disputes/{dispute.id}/resolve", data={"decision": "keep"}
    )
    assert "note is required" in client.get(response.location).get_data(as_text=True)
    client.post(
        f"/admin/reconciliation/disputes/{dispute.id}/resolve", data={"decision": "accept"}
    )
    db.session.refresh(dispute)
    assert dispute.status == "accepted" and dispute.ingested_event_ids == "late-1"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "reconciliation_dispute")
    ).all()
    assert actions == ["reconciliation.dispute_open", "reconciliation.accept_theirs"]


def test_a_bad_upload_shows_its_error_and_stores_nothing(client, db, login_as, make_admin, world):
    login_as(make_admin())
    response = upload(client, world, "event_id,amount\nu1,49\n")
    assert response.status_code == 200
    assert "missing series_id" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReconciliationReport)) == 0


def test_an_upload_over_the_limit_is_refused(app, client, db, login_as, make_admin, world):
    login_as(make_admin())
    text = HEADER + "".join(world.line(f"u{n}", when=at(2)) for n in range(3, 400))
    limit = app.config["RECONCILE_MAX_BYTES"]
    app.config["RECONCILE_MAX_BYTES"] = len(text.encode()) - 1
    try:
        response = upload(client, world, text)
    finally:
        app.config["RECONCILE_MAX_BYTES"] = limit
    assert response.status_code == 200 and "larger than" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReconciliationReport)) == 0


def test_only_admins_see_reconciliation(client, db, login_as, make_creator, make_participant):
    for user in (make_creator(), make_participant()):
        login_as(user)
        assert client.get("/admin/reconciliation/").status_code == 403
