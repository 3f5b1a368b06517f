"""Admin pages: close a period (the cut-off said when too early), record remittances,
statements as CSV and PDF, contract versions, overdue apps on the overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.settlements.models import SettlementStatement
from marketplace.settlements.statements import close_period
from tests.settlements.conftest import T0

OCT = datetime(2026, 10, 1, tzinfo=UTC)


def test_admin_closes_remits_and_downloads(db, client, login_as, make_admin, make_world):
    world = make_world()
    world.unlock(T0 + timedelta(days=2), amount=1000)
    db.session.commit()
    login_as(make_admin())
    page = client.get("/admin/settlements")
    assert page.status_code == 200 and "Receivables aging" in page.get_data(as_text=True)
    early = client.post(
        "/admin/settlements/close",
        data={"partner_id": world.partner.id, "period": "2099-01"},
    )
    assert early.status_code == 400 and "next period to close is 2026-09" in early.get_data(
        as_text=True
    )
    closed = client.post(
        "/admin/settlements/close",
        data={"partner_id": world.partner.id, "period": "2026-09"},
    )
    assert closed.status_code == 302, closed.get_data(as_text=True)[:2000]
    statement = db.session.query(SettlementStatement).filter_by(partner_id=world.partner.id).one()
    paid = client.post(
        "/admin/settlements/remit",
        data={
            "payer_id": world.partner.id,
            "amount": "3.00",
            "currency": "USD",
            "reference": "WIRE-1",
        },
    )
    assert paid.status_code == 302
    db.session.refresh(statement)
    assert (statement.amount_owed, statement.paid) == (700, 300)
    wrong = client.post(
        "/admin/settlements/remit",
        data={
            "payer_id": world.partner.id,
            "amount": "0",
            "currency": "USD",
            "reference": "WIRE-2",
        },
    )
    assert wrong.status_code == 400 and "more than zero" in wrong.get_data(as_text=True)
    detail = client.get(f"/admin/settlements/{statement.id}")
    assert detail.status_code == 200 and "2026-09" in detail.get_data(as_text=True)
    csv = client.get(f"/admin/settlements/{statement.id}/csv")
    assert csv.mimetype == "text/csv" and "series_id" in csv.get_data(as_text=True)
    pdf = client.get(f"/admin/settlements/{statement.id}/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    overview = client.get("/admin/").get_data(as_text=True)
    assert world.partner.name in overview and "past due" in overview


def test_admin_adds_a_contract_version_in_the_future_only(db, client, login_as, make_admin,
                                                          make_world):  # fmt: skip
    world = make_world()
    login_as(make_admin())
    url = f"/admin/partners/{world.partner.id}/contract"
    form = {"share_bps": 2500, "hold_days": 7, "period": "monthly", "net_days": 45,
            "payout_policy": "collected"}  # fmt: skip
    past = client.post(url, data=form | {"effective_from": "2020-01-01T00:00"})
    assert past.status_code == 200 and "never in the past" in past.get_data(as_text=True)
    ok = client.post(url, data=form | {"effective_from": "2099-01-01T00:00"})
    assert ok.status_code == 302
    assert "collected" in client.get(url).get_data(as_text=True)


def test_close_period_is_final_even_through_the_page(db, make_world):
    world = make_world()
    statement, _ = close_period(db.session, world.partner, T0, now=OCT + timedelta(days=4))
    assert statement.gross == 0 and world.partner.settled_through == OCT
