"""The partner API's reconciliation endpoints: signed uploads of the caller's own report, the
caller's own reports only, a body limit of their own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.reconciliation.models import ReconciliationReport
from tests.api.conftest import send_signed
from tests.reconciliation.conftest import HEADER, PERIOD, at

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def world(db, make_world):
    w = make_world()
    w.unlock(db, "u1", at(2))
    w.unlock(db, "u2", at(3))
    return w


def upload(client, world, body: bytes, period=PERIOD, **kw):
    path = f"/api/v1/settlements/reports?period={period}"
    return send_signed(client, world.key_id, world.secret, "POST", path, body, headers=CSV, **kw)


def reports(db):
    return db.session.scalar(select(func.count()).select_from(ReconciliationReport))


def test_a_signed_upload_is_reconciled_and_readable(client, db, world):
    body = (HEADER + world.line("u1", amount=50, when=at(2))).encode()
    response = upload(client, world, body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["counts"]["amount_differs"] == 1 and answer["counts"]["only_ours"] == 1
    assert {line["event_id"] for line in answer["differing"]} == {"u1", "u2"}
    path = response.headers["Location"]
    again = send_signed(client, world.key_id, world.secret, "GET", path)
    assert again.status_code == 200 and again.get_json()["id"] == answer["id"]
    page = send_signed(client, world.key_id, world.secret, "GET", path + "?page=0")
    assert page.status_code == 400 and page.get_json()["error"]["field"] == "page"


def test_unsigned_and_badly_signed_requests_are_refused(client, db, world):
    body = (HEADER + world.line("u1", when=at(2))).encode()
    unsigned = client.post(f"/api/v1/settlements/reports?period={PERIOD}", data=body)
    assert unsigned.status_code == 401 and unsigned.is_json
    stale = upload(client, world, body, stamp="1000000000")
    assert stale.status_code == 401
    path = f"/api/v1/settlements/reports?period={PERIOD}"
    wrong = send_signed(client, world.key_id, "not-the-secret", "POST", path, body, headers=CSV)
    assert wrong.status_code == 401
    assert client.get("/api/v1/settlements/reports/1").status_code == 401


def test_another_partner_reads_no_report_of_ours(client, db, world, make_world):
    other = make_world()
    response = upload(client, world, (HEADER + world.line("u1", when=at(2))).encode())
    path = response.headers["Location"]
    theirs = send_signed(client, other.key_id, other.secret, "GET", path)
    assert theirs.status_code == 404 and theirs.get_json()["error"]["code"] == "not_found"


def test_another_partners_events_and_bad_files_change_nothing(client, db, world, make_world):
    other = make_world()
    other.unlock(db, "o1", at(4))
    before = reports(db)
    cases = [
        ((HEADER + other.line("o1", when=at(4))).encode(), PERIOD, "another partner app"),
        (b"event_id,amount\nu1,49\n", PERIOD, "missing series_id"),
        ((HEADER + world.line("u1", amount="4.9")).encode(), PERIOD, "not an integer"),
        ((HEADER + world.line("u1") + world.line("u1")).encode(), PERIOD, "more than once"),
        ((HEADER + world.line("u1")).encode(), "2025-6", "YYYY-MM"),
    ]
    for body, period, message in cases:
        response = upload(client, world, body, period=period)
        assert response.status_code == 400, response.get_json()
        assert message in response.get_json()["error"]["message"]
    assert reports(db) == before


def test_the_upload_has_a_body_limit_of_its_own(app, client, db, world):
    # Over API_MAX_BODY_BYTES (what an event batch may be) but within RECONCILE_MAX_BYTES.
    lines = "".join(world.line(f"x{n}", when=at(5)) for n in range(1, 400))
    body = (HEADER + lines).encode()
    limits = app.config["API_MAX_BODY_BYTES"], app.config["RECONCILE_MAX_BYTES"]
    app.config["API_MAX_BODY_BYTES"] = 1000
    try:
        assert upload(client, world, body).status_code == 201
        app.config["RECONCILE_MAX_BYTES"] = len(body) - 1
        too_big = upload(client, world, body)
    finally:
        app.config["API_MAX_BODY_BYTES"], app.config["RECONCILE_MAX_BYTES"] = limits
    assert too_big.status_code == 413
    assert too_big.get_json()["error"]["code"] == "payload_too_large"


def test_an_upload_is_streamed_to_a_temporary_file_and_still_signed(
    client, db, world, monkeypatch
):
    """The report body is read in chunks into a spooled temporary file (on disk beyond
    SPOOL_IN_MEMORY bytes) while its signature is computed: never held whole in memory."""
    from marketplace.ingest.api import auth

    monkeypatch.setattr(auth, "SPOOL_IN_MEMORY", 100)
    spooled = []
    real = auth.tempfile.SpooledTemporaryFile

    def spy(**kw):
        spooled.append(real(**kw))
        return spooled[-1]

    monkeypatch.setattr(auth.tempfile, "SpooledTemporaryFile", spy)
    lines = "".join(world.line(f"x{n}", when=at(5)) for n in range(1, 50))
    body = (HEADER + world.line("u1", when=at(2)) + lines).encode()
    response = upload(client, world, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["counts"]["only_theirs"] == 49
    assert len(spooled) == 1 and spooled[0]._rolled and spooled[0].closed
    tampered = send_signed(
        client, world.key_id, "not-the-secret", "POST",
        f"/api/v1/settlements/reports?period={PERIOD}", body, headers=CSV,
    )  # fmt: skip
    assert tampered.status_code == 401
