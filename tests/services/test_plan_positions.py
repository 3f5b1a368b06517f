"""Each party's position under a plan (recouped, remaining, advance outstanding, profit), on
the participant's statement page, and the plan in plain words."""

from __future__ import annotations

from datetime import timedelta

from marketplace.formatting import format_money
from marketplace.ingest.revenue import post_revenue
from marketplace.splits.plans import plan_in_force
from marketplace.splits.positions import explain_plan, member_plan_positions, plan_position
from tests.services.test_revenue_plans import LATER
from tests.services.test_revenue_waterfall import planned_world, unlock


def test_positions_move_from_advance_outstanding_to_recouped_to_profit(db, make_creator):
    partner, series, maya, actor = planned_world(db, make_creator(), budget=630, advance=100)
    plan = plan_in_force(db.session, series.id, LATER)
    first = plan_position(db.session, plan)
    assert (first.pool, first.break_even, first.to_break_even) == (0, 630, 630)
    assert first.members[maya.id].recoup_remaining == 630
    assert first.members[actor.id].advance_outstanding == 100
    post_revenue(db.session, partner, [unlock(partner, series, "u0")])  # 630 in the pool
    middle = plan_position(db.session, plan)
    assert (middle.members[maya.id].recouped, middle.members[maya.id].recoup_remaining) == (630, 0)
    assert middle.to_break_even == 0 and middle.members[actor.id].advance_outstanding == 100
    post_revenue(db.session, partner, [unlock(partner, series, "u1")])  # 630 of profit
    last = plan_position(db.session, plan).members[actor.id]
    assert (last.profit_bps, last.profit, last.advance_outstanding) == (4000, 252, 0)


def test_the_statement_page_shows_the_members_position(db, make_creator, make_participant,
                                                       login_as, client):  # fmt: skip
    partner, series, _, actor = planned_world(db, make_creator(), budget=630, advance=100)
    user = make_participant()
    actor.user_id, actor.accepted_at = user.id, LATER
    db.session.flush()
    post_revenue(db.session, partner, [unlock(partner, series, "u0")])
    assert [p.advance_outstanding for _, _, p in member_plan_positions(
        db.session, user.id, now=LATER + timedelta(hours=1))] == [100]  # fmt: skip
    login_as(user)
    page = client.get("/earnings/statement").get_data(as_text=True)
    assert "Your position under each revenue plan" in page
    assert "$1.00" in page  # the advance outstanding


def test_the_plan_in_plain_words(db, make_creator):
    _, series, _, _ = planned_world(db, make_creator(), premium=11_000, advance=500)
    plan = plan_in_force(db.session, series.id, LATER)
    words = explain_plan(plan, lambda amount: format_money(amount, "USD", "en"))
    assert words == [
        "The first $22.00 of the participants' pool goes to M0 (110% of their costs),"
        " shared in proportion to their costs.",
        "Then the rest is shared: M0 60% and M1 40%.",
        "M1 was advanced $5.00 by M0: it is repaid from their earnings before they receive more.",
    ]
