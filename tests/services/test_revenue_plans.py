"""Revenue plans: budget lines, tiers, advances; bad terms refused with nothing saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ledger.balances import get_balance
from marketplace.accounts.models import User
from marketplace.chart import ledger_account
from marketplace.errors import ServiceError
from marketplace.splits.consent import answer_plan
from marketplace.splits.models import BudgetLine, PlanAdvance, RevenuePlan, TeamMember
from marketplace.splits.plans import (
    AdvanceTerms,
    TierTerms,
    create_revenue_plan,
    plan_in_force,
    record_budget_line,
)
from marketplace.studio.models import Series
from tests.services.test_revenue import T0, make_world

LATER = T0 + timedelta(days=2)


def accept_all(db, plan, now=T0):
    """Every member the plan affects accepts it (given a user account first if invited)."""
    for consent in plan.consents:
        member = consent.member
        if member.user_id is None:
            user = User(email=f"consent-{member.id}@example.test", role="participant",
                        display_name=member.credit_name, password_hash="x")  # fmt: skip
            db.session.add(user)
            db.session.flush()
            member.user_id, member.accepted_at = user.id, now
        answer_plan(db.session, plan.id, db.session.get(User, member.user_id), accept=True,
                    now=now)  # fmt: skip
    return plan


@pytest.fixture
def world(db, make_creator):
    owner = make_creator()
    _, series, members, _ = make_world(db, owner, shares=(6000, 4000))
    return owner, series, members


def counts(db):
    return (
        db.session.scalar(select(func.count()).select_from(RevenuePlan)),
        db.session.scalar(select(func.count()).select_from(BudgetLine)),
        db.session.scalar(select(func.count()).select_from(PlanAdvance)),
    )


def test_a_plan_copies_budget_lines_into_tiers_and_posts_its_advances(db, world):
    owner, series, (maya, actor) = world
    record_budget_line(db.session, series, owner, holder_id=maya.id, description="Shoot",
                       amount=150_000)  # fmt: skip
    record_budget_line(db.session, series, owner, holder_id=maya.id, description="Edit",
                       amount=50_000)  # fmt: skip
    record_budget_line(db.session, series, owner, holder_id=actor.id, description="Costumes",
                       amount=10_000, tier=2)  # fmt: skip
    plan = create_revenue_plan(
        db.session,
        series,
        owner,
        tiers=[TierTerms(1, 11_000), TierTerms(2)],
        advances=[AdvanceTerms(actor.id, maya.id, 2_000)],
        effective_from=LATER,
        now=T0,
    )
    assert plan.status == "pending"  # the actor's share has a tier and an advance ahead
    accept_all(db, plan)
    assert plan.status == "active"
    assert plan.number == 1 and plan.currency == "USD"
    assert [(t.position, t.premium_bps) for t in plan.tiers] == [(1, 11_000), (2, 10_000)]
    assert [(h.member_id, h.amount) for h in plan.tiers[0].holders] == [(maya.id, 200_000)]
    assert [(s.member_id, s.bps) for s in plan.shares] == [(maya.id, 6000), (actor.id, 4000)]
    # The advance is paid from Maya's earnings to the actor's when the plan is made.
    accounts = [ledger_account(db.session, "member_earnings", "USD", m.id) for m in (maya, actor)]
    assert [get_balance(db.session, a.id, now=T0).posted for a in accounts] == [-2_000, 2_000]
    assert plan_in_force(db.session, series.id, T0) is None
    assert plan_in_force(db.session, series.id, LATER) == plan


@pytest.mark.parametrize(
    "tiers, advances, field",
    [
        ([TierTerms(2), TierTerms(1)], [], "tiers[0].position"),  # out of order
        ([TierTerms(1, 9_999)], [], "tiers[0].premium_bps"),  # premium below 100 %
        ([TierTerms(1, 100_001)], [], "tiers[0].premium_bps"),  # above 1,000 %
        ([], [], "tiers"),  # budget lines in a tier the plan lacks
        ([TierTerms(1)], [("actor", "actor", 5)], "advances[0].payer_id"),
        ([TierTerms(1)], [("actor", "maya", -5)], "advances[0].amount"),
    ],
)
def test_bad_terms_are_refused_with_nothing_saved(db, world, tiers, advances, field):
    owner, series, (maya, actor) = world
    record_budget_line(db.session, series, owner, holder_id=maya.id, description="Shoot",
                       amount=1_000)  # fmt: skip
    before = counts(db)
    by_name = {"maya": maya.id, "actor": actor.id}
    with pytest.raises(ServiceError) as caught:
        create_revenue_plan(
            db.session,
            series,
            owner,
            tiers=tiers,
            advances=[AdvanceTerms(by_name[r], by_name[p], a) for r, p, a in advances],
            effective_from=LATER,
            now=T0,
        )
    assert field in (caught.value.field or caught.value.message)
    db.session.rollback()
    assert counts(db) == before


@pytest.mark.parametrize(
    "amount, tier, field",
    [(-100, 1, "amount"), (0, 1, "amount"), (100, 0, "tier"), (100, 5, "tier")],
)
def test_negative_costs_and_unknown_tiers_are_refused(db, world, amount, tier, field):
    owner, series, (maya, _) = world
    with pytest.raises(ServiceError) as caught:
        record_budget_line(db.session, series, owner, holder_id=maya.id, description="x",
                           amount=amount, tier=tier)  # fmt: skip
    assert caught.value.field == field
    assert counts(db) == (0, 0, 0)


def test_a_plan_never_takes_effect_in_the_past(db, world):
    owner, series, (maya, _) = world
    record_budget_line(db.session, series, owner, holder_id=maya.id, description="Shoot",
                       amount=1_000)  # fmt: skip
    with pytest.raises(ServiceError) as caught:
        create_revenue_plan(db.session, series, owner, tiers=[TierTerms(1)],
                            effective_from=T0 - timedelta(seconds=1), now=T0)  # fmt: skip
    assert caught.value.field == "effective_from"


def test_a_holder_from_another_series_is_refused(db, world):
    owner, series, _ = world
    other = Series(owner_id=owner.id, title="Other", currency="USD")
    db.session.add(other)
    db.session.flush()
    stranger = TeamMember(series_id=other.id, email="s@example.com", credit_name="S",
                          role="other")  # fmt: skip
    db.session.add(stranger)
    db.session.flush()
    with pytest.raises(ServiceError) as caught:
        record_budget_line(db.session, series, owner, holder_id=stranger.id, description="x",
                           amount=5)  # fmt: skip
    assert caught.value.field == "holder_id"
