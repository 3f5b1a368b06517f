"""`flask ledger check | balances | export` on a real history."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from marketplace.ingest.revenue import RevenueFacts, post_revenue
from tests.helpers import ref_of
from tests.services.test_revenue import T0, make_world


def post_some(db, make_creator, n=20):
    partner, series, _, _ = make_world(db, make_creator())
    facts = [
        RevenueFacts(
            ref_of(f"unlock:{partner.id}:c{i}"),
            series.id,
            37,
            T0 + timedelta(hours=i),
            episode=6,
        )
        for i in range(n)
    ]
    post_revenue(db.session, partner, facts, now=T0 + timedelta(days=2))
    db.session.flush()


def test_check_balances_and_export(runner, db, make_creator, tmp_path):
    post_some(db, make_creator)
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output

    result = runner.invoke(args=["ledger", "balances", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {
        "account",
        "type",
        "owner_type",
        "owner_id",
        "currency",
        "posted",
        "pending",
        "available",
    } <= set(rows[0])
    receivable = next(
        r for r in rows if r["owner_type"] == "partner" and r["account"].endswith("receivable:USD")
    )
    assert receivable["posted"] == 20 * 37
    assert sum(r["posted"] for r in rows if r["type"] in ("asset", "expense")) == sum(
        r["posted"] for r in rows if r["type"] in ("liability", "income", "equity")
    )

    out = tmp_path / "ledger.beancount"
    result = runner.invoke(args=["ledger", "export", "--format", "beancount", "-o", str(out)])
    assert result.exit_code == 0, result.output
    from beancount import loader

    _, errors, _ = loader.load_file(str(out))
    assert errors == []


def test_check_fails_loudly_on_a_broken_invariant(runner, db, make_creator):
    post_some(db, make_creator, n=3)
    # Maintained balances are derived data (not the journal), so this UPDATE is allowed; the
    # check must notice that they no longer match the postings.
    db.session.execute(text("UPDATE ledger_balances SET posted = posted + 1"))
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert "ledger check FAILED" in result.output
