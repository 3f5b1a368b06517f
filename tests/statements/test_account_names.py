"""The admin's ledger pages name accounts as people know them (no `member:1:earnings`), in
numeric order of their ids."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.statements.conftest import T0


def test_ledger_accounts_read_as_names_in_numeric_order(db, client, login_as, world):
    for n in range(3):
        world.unlock(T0 + timedelta(hours=n), gross=1999, partner=n % 2)
    login_as(world.admin)
    page = client.get("/admin/ledger/accounts").get_data(as_text=True)
    credit = world.member.credit_name
    assert f"{credit} on Night Shift: earnings (USD)" in page
    assert f"{world.partners[0].name}: partner&#39;s share (USD)" in page
    assert "Platform: platform fees (USD)" in page
    assert not re.search(r"member:\d+:earnings", page)
    ids = [int(x) for x in re.findall(r'<tr[^>]*><td>(\d+)</td>', page)]
    assert ids == sorted(ids) and len(ids) >= 5

    account = world.account(world.member)
    detail = client.get(f"/admin/ledger/accounts/{account}").get_data(as_text=True)
    assert f"<h1>{credit} on Night Shift: earnings (USD)</h1>" in detail
