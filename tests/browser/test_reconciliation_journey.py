"""Journey: an admin uploads a partner app's report with discrepancies and resolves one (the
late unlock the partner never sent us is ingested through the normal path)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.partners.services import create_partner
from tests.browser.support import log_in, make_account, published_series

HEADER = "event_id,series_id,episode,amount_minor,currency,occurred_at\n"


def test_an_admin_uploads_a_report_and_accepts_a_late_unlock(page, live_session, tmp_path):
    admin = make_account(live_session, "admin", "ada")
    creator = make_account(live_session, "creator", "cy")
    name = f"ReelBox {uuid.uuid4().hex[:6]}"
    partner, _, _ = create_partner(
        live_session, name=name, currency="USD", share_bps=3000, hold_days=0
    )
    series = published_series(
        live_session, creator, partner.id,
        [{"user": creator, "role": "producer", "credit_name": "Cy", "bps": 10_000}],
        title="Tide Ledger",
    )  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    when = now - timedelta(seconds=30)
    unlocks = [UnlockIn(f"u{n}", series.id, 3, 49, "USD", when) for n in (1, 2)]
    ingest_unlocks(live_session, partner, unlocks)
    series_id, admin_email, period = series.id, admin.email, f"{when:%Y-%m}"
    live_session.rollback()
    report = tmp_path / "report.csv"
    report.write_text(
        HEADER
        + f"u1,{series_id},3,59,USD,{when.isoformat()}\n"  # amount differs
        + f"u2,{series_id},3,49,USD,{when.isoformat()}\n"  # matched
        + f"late-1,{series_id},4,49,USD,{when.isoformat()}\n"  # only in theirs
    )

    log_in(page, admin_email)
    page.goto("/admin/reconciliation/")
    page.get_by_label("Partner app").select_option(label=name)
    page.get_by_label("Period (calendar month, UTC)").fill(period)
    page.get_by_label("Report (CSV)").set_input_files(str(report))
    page.get_by_role("button", name="Reconcile").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name}, {period}")
    lines = page.get_by_role("region", name="Differing lines")
    expect(lines).to_contain_text("amount differs")
    late = lines.locator("tr", has_text="late-1")
    expect(late).to_contain_text("only theirs")

    late.get_by_label("Why").fill("they say we missed it")
    late.get_by_role("button", name="Open dispute").click()
    late = page.get_by_role("region", name="Differing lines").locator("tr", has_text="late-1")
    late.get_by_label("Accept theirs (ingest it)").check()
    late.get_by_role("button", name="Resolve").click()
    late = page.get_by_role("region", name="Differing lines").locator("tr", has_text="late-1")
    expect(late).to_contain_text("accepted theirs")

    ingested = live_session.scalars(
        select(PartnerEvent).where(
            PartnerEvent.partner_id == partner.id, PartnerEvent.external_id == "late-1"
        )
    ).one()
    assert (ingested.kind, ingested.amount, ingested.episode) == ("unlock", 49, 4)
    live_session.rollback()
