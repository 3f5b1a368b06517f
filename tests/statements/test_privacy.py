"""A participant never sees another participant's money: not by URL, download or drill-down.

The world: `participant` and `other_participant` share "Night Shift" (50% / 30%, and 20% for a
pending invitation: escrow); `other_participant` alone is on "Day Job" (100%)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import func, select

from ledger.schema import Posting
from tests.statements.conftest import T0

MONTH = {"currency": "USD", "month": "2026-01"}


def money_history(world):
    for n in range(5):
        world.unlock(T0 + timedelta(hours=n), gross=10_000, episode=1, country="US")
    # Only the other participant earns on Day Job: 100% of a big, recognisable amount.
    world.unlock(T0 + timedelta(hours=2), gross=777_700, episode=3, country="FR",
                 series=world.other_series)  # fmt: skip
    world.payout(world.other_member, 4_321, T0 + timedelta(days=2))


def credited(db, account_id) -> int:
    return -int(db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(Posting.account_id == account_id)
    ))  # fmt: skip


def test_statement_and_downloads_hold_only_the_users_own_money(client, login_as, world, db):
    money_history(world)
    mine = credited(db, world.account(world.member))
    login_as(world.participant)
    page = client.get("/earnings/statement", query_string=MONTH).get_data(as_text=True)
    closing = re.search(r"data-closing>([^<]+)<", page)[1]
    assert closing == f"${mine // 100:,}.{mine % 100:02d}"
    assert "Day Job" not in page and "43.21" not in page
    rows = list(csv.DictReader(io.StringIO(
        client.get("/earnings/statement.csv", query_string=MONTH).get_data(as_text=True)
    )))  # fmt: skip
    assert int(rows[-1]["amount_minor"]) == mine
    assert all("Day Job" not in r["series"] for r in rows)
    assert all(r["section"] != "payouts" for r in rows)  # the other's payout is not here


def test_drill_down_into_someone_elses_series_shows_nothing(client, login_as, world, db):
    money_history(world)
    login_as(world.participant)
    theirs = {
        **MONTH, "line": "earning", "series_id": world.other_series.id, "episode": 3,
        "partner_id": world.partners[0].id, "country": "FR", "kind": "unlock",
    }  # fmt: skip
    page = client.get("/earnings/statement/lines", query_string=theirs).get_data(as_text=True)
    assert "0 event(s)" in page and not re.search(r"#1\d{7}", page)
    # The same line exists for its owner, with the money.
    login_as(world.other_participant)
    page = client.get("/earnings/statement/lines", query_string=theirs).get_data(as_text=True)
    assert "1 event(s)" in page


def test_escrow_is_never_shown_to_participants(client, login_as, world, db):
    money_history(world)
    escrow = credited(db, world.account(world.escrow))
    text = f"${escrow // 100:,}.{escrow % 100:02d}"
    for user in (world.participant, world.other_participant):
        login_as(user)
        for path in ("/earnings/", "/earnings/statement?month=2026-01"):
            assert text not in client.get(path).get_data(as_text=True)
    login_as(world.creator)
    assert text in client.get(f"/studio/series/{world.series.id}/dashboard").get_data(as_text=True)


def test_a_currency_the_user_does_not_have_is_a_404(client, login_as, world):
    money_history(world)
    login_as(world.participant)
    for path in ("/earnings/statement", "/earnings/statement.csv", "/earnings/statement.pdf"):
        assert (
            client.get(path, query_string={"currency": "EUR", "month": "2026-01"}).status_code
            == 404
        )


def test_user_ids_in_the_query_string_are_ignored(client, login_as, world, db):
    money_history(world)
    login_as(world.participant)
    plain = client.get("/earnings/statement.csv", query_string=MONTH).get_data(as_text=True)
    forged = client.get(
        "/earnings/statement.csv",
        query_string={**MONTH, "user_id": world.other_participant.id,
                      "account_id": world.account(world.shared)},
    ).get_data(as_text=True)  # fmt: skip
    assert plain == forged
