"""A manifest's revenue plan: imported with the series in one transaction, shown by
`flask series show`; every problem reported with its field and nothing created."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from marketplace.clock import utcnow
from marketplace.splits.models import BudgetLine, RevenuePlan
from marketplace.studio.models import Series
from tests.services.test_revenue_plans import accept_all

MANIFEST = {
    "title": "Contract Bride",
    "pricing": {"currency": "USD", "free_episodes": 1, "episode_price": 49},
    "split": [
        {"email": "owner@example.com", "role": "producer", "credit_name": "O", "bps": 6000},
        {"email": "actor@example.com", "role": "actor", "credit_name": "A", "bps": 4000},
    ],
    "episodes": [{"title": "Pilot", "media": "https://cdn.example.com/1.mp4"}],
    "revenue_plan": {
        "tiers": [{"premium_bps": 11000}],
        "budget": [{"holder": "owner@example.com", "tier": 1, "description": "Shoot",
                    "amount": 20_000_000}],
        "advances": [{"recipient": "actor@example.com", "payer": "owner@example.com",
                      "amount": 200_000}],
    },
}  # fmt: skip


def run_import(runner, tmp_path, manifest):
    (tmp_path / "series.json").write_text(json.dumps(manifest))
    return runner.invoke(
        args=["studio", "import", str(tmp_path / "series.json"), "--owner", "owner@example.com"]
    )


def test_a_manifest_carries_the_plan(app, runner, db, make_creator, tmp_path):
    make_creator(email="owner@example.com")
    result = run_import(runner, tmp_path, MANIFEST)
    assert result.exit_code == 0, result.output
    series_id = json.loads(result.output)["series_id"]
    plan = db.session.scalars(select(RevenuePlan)).one()
    assert plan.status == "pending"  # the actor is asked; the owner proposed it
    accept_all(db, plan, now=utcnow())
    shown = json.loads(
        runner.invoke(args=["series", "show", str(series_id), "--format", "json"]).output
    )
    plan = shown["revenue_plan"]
    assert plan["break_even"] == 22_000_000
    assert [t["premium_bps"] for t in plan["tiers"]] == [11_000]
    assert plan["explanation"][0].startswith("The first $220,000.00 of the participants' pool")
    assert [p["advance_outstanding"] for p in plan["positions"]] == [0, 200_000]


def test_bad_plans_are_reported_by_field_and_nothing_is_created(
    app, runner, db, make_creator, tmp_path
):
    make_creator(email="owner@example.com")
    bad = json.loads(json.dumps(MANIFEST))
    bad["revenue_plan"]["tiers"] = [{"premium_bps": 9_000}, {"premium_bps": 10_000}]
    bad["revenue_plan"]["budget"][0]["amount"] = -5
    bad["revenue_plan"]["advances"][0]["payer"] = "nobody@example.com"
    result = run_import(runner, tmp_path, bad)
    assert result.exit_code == 1
    for where in (
        "revenue_plan.tiers[0].premium_bps",
        "revenue_plan.tiers[1]: Tier 2 has no budget line",
        "revenue_plan.budget[0].amount",
        "revenue_plan.advances[0].payer",
    ):
        assert where in result.output, result.output
    for model in (Series, BudgetLine, RevenuePlan):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_a_manifest_carries_guarantees_and_refuses_one_in_another_currency(
    app, runner, db, make_creator, tmp_path
):
    make_creator(email="owner@example.com")
    good = json.loads(json.dumps(MANIFEST))
    good["revenue_plan"]["guarantees"] = [
        {"beneficiary": "actor@example.com", "kind": "minimum", "period": "month",
         "amount": 50_000}
    ]  # fmt: skip
    bad = json.loads(json.dumps(good))
    bad["revenue_plan"]["guarantees"][0].update(currency="EUR", kind="bonus")
    result = run_import(runner, tmp_path, bad)
    assert result.exit_code == 1
    assert "revenue_plan.guarantees[0].currency" in result.output
    assert "revenue_plan.guarantees[0].kind" in result.output
    assert db.session.scalar(select(func.count()).select_from(Series)) == 0
    result = run_import(runner, tmp_path, good)
    assert result.exit_code == 0, result.output
    series_id = json.loads(result.output)["series_id"]
    accept_all(db, db.session.scalars(select(RevenuePlan)).one(), now=utcnow())
    shown = json.loads(
        runner.invoke(args=["series", "show", str(series_id), "--format", "json"]).output
    )
    (guarantee,) = shown["revenue_plan"]["guarantees"]
    assert (guarantee["kind"], guarantee["period"]) == ("minimum", "month")
    assert guarantee["amount"] == 50_000
    words = shown["revenue_plan"]["explanation"][-1]
    assert "is guaranteed at least $500.00 a month in all" in words
