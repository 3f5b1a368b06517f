"""Statement CSVs never hand a spreadsheet a formula: a series title or partner name that starts
with =, +, -, @, a tab or a carriage return is written as text (OWASP's rule: a leading ')."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from marketplace.formatting import SafeCSVWriter, safe_cell
from tests.statements.conftest import T0

MONTH = {"currency": "USD", "month": "2026-01"}
HOSTILE = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1,2)", "\t=1+1", "\r=1+1"]  # fmt: skip


@pytest.mark.parametrize("title", HOSTILE)
def test_a_hostile_series_or_partner_name_reaches_the_csv_as_text(
    client, login_as, world, db, title
):
    world.series.title = title
    world.partners[0].name = title[:80]
    db.session.flush()
    world.unlock(T0 + timedelta(hours=1), gross=1000)
    login_as(world.participant)
    response = client.get("/earnings/statement.csv", query_string=MONTH)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    [earning] = [r for r in rows if r["section"] == "earnings"]
    assert earning["series"] == "'" + title
    assert earning["partner_app"] == "'" + title[:80]
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]
    assert int(earning["amount_minor"]) > 0  # numbers stay numbers


def test_the_helper_escapes_text_and_leaves_numbers():
    assert [safe_cell(v) for v in ("=1", "plain", "", -5, 0, "a=b")] == [
        "'=1", "plain", "", -5, 0, "a=b",
    ]  # fmt: skip
    out = io.StringIO()
    SafeCSVWriter(out).writerows([["-1", -1], ["@x", "ok"]])
    assert out.getvalue().splitlines() == ["'-1,-1", "'@x,ok"]
