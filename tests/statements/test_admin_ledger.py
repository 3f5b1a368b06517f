"""Admin ledger pages: trial balance, point-in-time balances, entry detail, audit, adjustments."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from ledger.reports.checks import check_ledger
from ledger.schema import AllocationRun, Entry
from marketplace.audit import AuditEvent
from tests.helpers import ref_of
from tests.statements.conftest import T0


def test_trial_balance_shows_debits_equal_credits(client, login_as, world):
    world.unlock(T0, gross=1000)
    world.payout(world.member, 100, T0 + timedelta(days=1))
    login_as(world.admin)
    page = client.get("/admin/ledger").get_data(as_text=True)
    assert "debits equal credits" in page and "OUT OF BALANCE" not in page
    debits = re.search(r"data-debits>([^<]+)<", page)[1]
    credits = re.search(r"data-credits>([^<]+)<", page)[1]
    assert debits == credits != "$0.00"


def test_account_explorer_gives_point_in_time_balances(client, login_as, world):
    world.unlock(T0, gross=1000)
    world.unlock(T0 + timedelta(days=2), gross=1000)
    login_as(world.admin)
    account = world.account(world.member)
    assert "member" in client.get("/admin/ledger/accounts?owner_type=member").get_data(as_text=True)
    before = client.get(f"/admin/ledger/accounts/{account}?at=2026-01-01T12:00").get_data(
        as_text=True
    )
    after = client.get(f"/admin/ledger/accounts/{account}?at=2026-01-05").get_data(as_text=True)
    at_before = re.search(r"data-balance-at>([^<]+)<", before)[1]
    at_after = re.search(r"data-balance-at>([^<]+)<", after)[1]
    assert at_before == "$3.15" and at_after == "$6.30"  # 1000 x 70% x 90% x 50%
    assert client.get(f"/admin/ledger/accounts/{account}?at=nope").status_code == 400
    assert client.get("/admin/ledger/accounts/999999").status_code == 404


def test_entry_detail_links_to_source_events(client, login_as, world, db):
    ref = ref_of(world.unlock(T0, gross=1000))
    entry_id = next(
        run.entry_id for run in db.session.scalars(select(AllocationRun)) if ref in run.refs
    )
    login_as(world.admin)
    page = client.get(f"/admin/ledger/entries/{entry_id}").get_data(as_text=True)
    assert f"event {ref}" in page and "series:" in page
    assert f"/admin/ledger/accounts/{world.account(world.member)}" in page
    assert client.get("/admin/ledger/entries/999999").status_code == 404


def test_manual_adjustment_is_balanced_audited_and_posted_once(client, login_as, world, db):
    login_as(world.admin)
    account = world.account(world.member)
    form = client.get(f"/admin/ledger/adjust?account_id={account}").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', form)[1]
    data = {"account_id": account, "direction": "increase", "amount": "12.34",
            "reason": "Missed unlocks from March", "token": token}  # fmt: skip
    first = client.post("/admin/ledger/adjust", data=data)
    assert first.status_code == 302
    again = client.post("/admin/ledger/adjust", data=data)
    assert again.status_code == 302 and again.location == first.location
    entries = db.session.scalars(
        select(Entry).where(Entry.meta["kind"].as_string() == "adjustment")
    )
    (entry,) = list(entries)
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ledger.adjustment"))
    (audit,) = list(audits)
    assert audit.reason == "Missed unlocks from March" and audit.actor_id == world.admin.id
    assert check_ledger(db.session) == []
    page = client.get(f"/admin/ledger/accounts/{account}").get_data(as_text=True)
    assert "$12.34" in page
    log = client.get("/admin/audit?action=ledger.").get_data(as_text=True)
    assert "Missed unlocks from March" in log
    assert entry.id


def test_adjustment_needs_a_reason_and_a_valid_amount(client, login_as, world):
    login_as(world.admin)
    account = world.account(world.member)
    base = {"account_id": account, "direction": "decrease", "token": "x" * 20}
    no_reason = client.post("/admin/ledger/adjust", data={**base, "amount": "1", "reason": ""})
    assert no_reason.status_code == 422
    bad = client.post(
        "/admin/ledger/adjust", data={**base, "amount": "1.234", "reason": "typo fix"}
    )
    assert bad.status_code == 422 and "Too many decimals" in bad.get_data(as_text=True)


def test_partner_overview(client, login_as, world):
    world.unlock(T0, gross=1000)
    login_as(world.admin)
    page = client.get("/admin/ledger/partners").get_data(as_text=True)
    assert world.partners[0].name in page and "$10.00" in page
