"""The web editor of a series' revenue plan: the budget, tiers' premiums, an advance; the
plan in plain words on the series page and in `flask series show --format json`."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from marketplace.clock import utcnow
from marketplace.splits.models import BudgetLine, RevenuePlan
from tests.services.test_revenue import make_world
from tests.services.test_revenue_plans import accept_all


def test_a_creator_enters_a_budget_and_an_advance_and_publishes(db, client, login_as,
                                                                 make_creator, runner):  # fmt: skip
    owner = login_as(make_creator())
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    page = f"/studio/series/{series.id}/plan"
    assert "No plan yet" in client.get(page).get_data(as_text=True)
    added = client.post(page, data={
        "holder_id": maya.id, "tier": 1, "description": "Shoot",
        "amount": "2,000.00", "add_line": "Add the cost",
    })  # fmt: skip
    assert added.status_code == 302
    published = client.post(page, data={
        "premium_1": 110, "advance_recipient": actor.id,
        "advance_payer": maya.id, "advance_amount": "50.00",
        "publish": "Publish the plan",
    })  # fmt: skip
    assert published.status_code == 302
    pending = client.get(page).get_data(as_text=True)
    assert "No plan yet" in pending and "M1: pending" in pending  # the actor is asked
    accept_all(db, db.session.scalars(select(RevenuePlan)).one(), now=utcnow())
    shown = client.get(page).get_data(as_text=True)
    assert "The first $2,200.00 of the participants&#39; pool goes to M0 (110% of" in shown
    assert "$2,200.00 more reaches break-even" in shown
    series_page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert "Then the rest is shared: M0 60% and M1 40%." in series_page
    result = runner.invoke(args=["series", "show", str(series.id), "--format", "json"])
    plan = json.loads(result.output)["revenue_plan"]
    assert plan["tiers"] == [{"position": 1, "premium_bps": 11_000, "holders": [
        {"member_id": maya.id, "credit_name": "M0", "amount": 200_000}]}]  # fmt: skip
    assert plan["advances"] == [
        {"recipient_member_id": actor.id, "payer_member_id": maya.id, "amount": 5_000}
    ]
    assert plan["to_break_even"] == 220_000
    actor_position = next(p for p in plan["positions"] if p["member_id"] == actor.id)
    assert actor_position["advance_outstanding"] == 5_000


def test_bad_input_is_refused_beside_its_field_with_nothing_saved(db, client, login_as,
                                                                  make_creator):  # fmt: skip
    owner = login_as(make_creator())
    _, series, (maya, _), _ = make_world(db, owner, shares=(6000, 4000))
    page = f"/studio/series/{series.id}/plan"
    negative = client.post(page, data={
        "holder_id": maya.id, "tier": 1, "description": "Shoot",
        "amount": "-5", "add_line": "Add the cost",
    })  # fmt: skip
    assert negative.status_code == 422
    client.post(page, data={"holder_id": maya.id, "tier": 1,
                            "description": "Shoot", "amount": "10",
                            "add_line": "Add the cost"})  # fmt: skip
    too_much = client.post(page, data={"premium_1": 1001, "advance_recipient": 0,
                                       "advance_payer": 0,
                                       "publish": "Publish"})  # fmt: skip
    assert too_much.status_code == 422
    assert "between 100 % and 1,000 %" in too_much.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(BudgetLine)) == 1
    assert db.session.scalar(select(func.count()).select_from(RevenuePlan)) == 0


def test_another_creator_cannot_see_or_change_the_plan(db, client, login_as, make_creator):
    _, series, _, _ = make_world(db, make_creator())
    login_as(make_creator())
    assert client.get(f"/studio/series/{series.id}/plan").status_code == 404
    assert client.post(f"/studio/series/{series.id}/plan", data={}).status_code == 404


def test_a_creator_publishes_a_monthly_minimum_guarantee_owed_by_herself(
    db, client, login_as, make_creator
):
    owner = login_as(make_creator())
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    maya.user_id = owner.id  # the creator's own membership: the guarantor
    db.session.flush()
    page = f"/studio/series/{series.id}/plan"
    form = {"premium_1": 100, "advance_recipient": 0, "advance_payer": 0,
            "guarantee_beneficiary": actor.id, "guarantee_kind": "minimum",
            "guarantee_period": "month", "publish": "Publish the plan"}  # fmt: skip
    refused = client.post(page, data={**form, "guarantee_amount": "-3"})
    assert refused.status_code == 422
    assert "A guarantee is a positive amount." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RevenuePlan)) == 0
    published = client.post(page, data={**form, "guarantee_amount": "500.00"})
    assert published.status_code == 302, published.get_data(as_text=True)
    plan = db.session.scalars(select(RevenuePlan)).one()
    assert [(g.beneficiary_id, g.guarantor_id, g.kind, g.period, g.amount, g.currency)
            for g in plan.guarantees] == [
        (actor.id, maya.id, "minimum", "month", 50_000, "USD")]  # fmt: skip
    accept_all(db, plan, now=utcnow())
    shown = client.get(page).get_data(as_text=True)
    assert "M1 is guaranteed at least $500.00 a month in all: M0 pays any shortfall" in shown
    series_page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert "M1 is guaranteed at least $500.00 a month in all" in series_page


def test_a_creator_makes_a_remake_with_a_royalty_to_the_original_writer(db, client, login_as,
                                                                         make_creator):  # fmt: skip
    from marketplace.splits.models import RemakeRoyalty
    from marketplace.studio.models import Series

    owner = login_as(make_creator())
    _, original, (writer, _), _ = make_world(db, owner, shares=(6000, 4000))
    page = f"/studio/series/{original.id}/remake"
    assert "Royalties to this series" in client.get(page).get_data(as_text=True)
    form = {"language": "es", "title": "Novia por contrato",
            "royalties-0-member_id": writer.id, "create": "Create the remake"}  # fmt: skip
    too_much = client.post(page, data={**form, "royalties-0-percent": "100"})
    assert too_much.status_code == 422
    assert "A royalty is more than 0 % and under 100 %." in too_much.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RemakeRoyalty)) == 0
    assert db.session.scalar(
        select(func.count(Series.id)).where(Series.original_series_id.is_not(None))
    ) == 0
    made = client.post(page, data={**form, "royalties-0-percent": "5"})
    assert made.status_code == 302
    royalty = db.session.scalars(select(RemakeRoyalty)).one()
    assert (royalty.member_id, royalty.bps) == (writer.id, 500)
    remake = db.session.scalars(select(Series).where(Series.original_series_id.is_not(None))).one()
    page = client.get(f"/studio/series/{remake.id}").get_data(as_text=True)
    assert "it pays royalties to the original's team" in page and "M0 5%" in page
