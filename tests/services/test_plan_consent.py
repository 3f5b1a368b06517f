"""Consent: a plan version that lowers someone's share takes effect only when each affected
member accepts; a decline and an expiry keep the current terms and are visible to the
creator; the history shows who answered what, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.errors import Conflict
from marketplace.ingest.revenue import post_revenue
from marketplace.mail import OutboxMessage
from marketplace.splits.consent import CONSENT_DAYS, answer_plan, expire_plans
from marketplace.splits.plans import (
    TierTerms,
    create_revenue_plan,
    plan_in_force,
    record_budget_line,
)
from tests.services.test_revenue import T0, make_world
from tests.services.test_revenue_waterfall import posted, unlock

LATER = T0 + timedelta(days=2)


@pytest.fixture
def proposal(make_proposal):
    """A creator proposes a plan repaying her 2,000 first, at T0: the actor must consent."""
    return make_proposal(T0)


@pytest.fixture
def make_proposal(db, make_creator, make_participant):
    return lambda now: propose(db, make_creator, make_participant, now)


def propose(db, make_creator, make_participant, now):
    owner = make_creator()
    partner, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    maya.user_id, maya.accepted_at = owner.id, T0  # the creator's own membership
    alex = make_participant()
    actor.user_id, actor.accepted_at = alex.id, T0
    db.session.flush()
    record_budget_line(db.session, series, owner, holder_id=maya.id, description="Shoot",
                       amount=2_000)  # fmt: skip
    plan = create_revenue_plan(db.session, series, owner, tiers=[TierTerms(1)],
                               effective_from=now, now=now)  # fmt: skip
    return owner, alex, partner, series, maya, actor, plan


def mails(db, to):
    return [m.subject for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == to))]  # fmt: skip


def test_a_pending_change_moves_no_money_until_accepted(db, proposal):
    owner, alex, partner, series, maya, actor, plan = proposal
    assert plan.status == "pending" and [c.member_id for c in plan.consents] == [actor.id]
    assert "is repaid to others before the profit split" in plan.consents[0].reason
    assert any("Your consent" in s for s in mails(db, actor.email))
    # While pending, unlocks are split as today: 60/40 of 630.
    post_revenue(db.session, partner, [unlock(partner, series, "u0", at=T0 + timedelta(hours=1))])
    assert (posted(db, maya), posted(db, actor)) == (378, 252)
    assert plan_in_force(db.session, series.id, T0 + timedelta(hours=1)) is None
    answer_plan(db.session, plan.id, alex, accept=True, now=T0 + timedelta(hours=2))
    assert plan.status == "active" and plan.effective_from == T0 + timedelta(hours=2)
    assert plan.consents[0].status == "accepted"
    assert plan.consents[0].decided_at == T0 + timedelta(hours=2)
    assert any("active" in s for s in mails(db, owner.email))
    # From the acceptance on, the pool repays Maya's 2,000 first.
    post_revenue(db.session, partner, [unlock(partner, series, "u1", at=T0 + timedelta(hours=3))])
    assert (posted(db, maya), posted(db, actor)) == (378 + 630, 252)


def test_a_decline_keeps_the_current_terms_and_the_creator_sees_it(db, proposal):
    owner, alex, partner, series, maya, actor, plan = proposal
    answer_plan(db.session, plan.id, alex, accept=False, now=T0 + timedelta(hours=1))
    assert plan.status == "declined" and plan.consents[0].status == "declined"
    assert any("declined" in s for s in mails(db, owner.email))
    post_revenue(db.session, partner, [unlock(partner, series, "u0", at=T0 + timedelta(hours=2))])
    assert (posted(db, maya), posted(db, actor)) == (378, 252)
    with pytest.raises(Conflict):
        answer_plan(db.session, plan.id, alex, accept=True, now=T0 + timedelta(hours=3))
    assert plan.status == "declined"


def test_an_expired_request_keeps_the_current_terms_and_the_creator_sees_it(db, proposal):
    owner, alex, partner, series, maya, actor, plan = proposal
    assert (
        expire_plans(db.session, now=T0 + timedelta(days=CONSENT_DAYS) - timedelta(seconds=1)) == 0
    )
    assert expire_plans(db.session, now=T0 + timedelta(days=CONSENT_DAYS)) == 1
    assert plan.status == "expired"
    assert any("expired" in s for s in mails(db, owner.email))
    with pytest.raises(Conflict):
        answer_plan(db.session, plan.id, alex, accept=True, now=T0 + timedelta(days=15))
    post_revenue(db.session, partner, [unlock(partner, series, "u0", at=T0 + timedelta(days=16))])
    assert (posted(db, maya), posted(db, actor)) == (378, 252)


def test_a_late_answer_expires_the_plan_instead(db, proposal):
    _, alex, _, _, _, _, plan = proposal
    with pytest.raises(Conflict, match="deadline"):
        answer_plan(db.session, plan.id, alex, accept=True, now=T0 + timedelta(days=CONSENT_DAYS))
    assert plan.status == "expired"


def test_a_change_that_lowers_nobody_takes_effect_at_once(db, make_creator):
    owner = make_creator()
    _, series, _, _ = make_world(db, owner, shares=(6000, 4000))
    # A premium-free plan with no budget ahead of anyone: an empty waterfall, same split.
    plan = create_revenue_plan(db.session, series, owner, tiers=[], effective_from=LATER, now=T0)
    assert plan.status == "active" and plan.consents == []


def test_the_plan_page_shows_who_answered_what(db, client, login_as, proposal):
    owner, alex, _, series, _, _, plan = proposal
    answer_plan(db.session, plan.id, alex, accept=False, now=T0 + timedelta(hours=1))
    login_as(owner)
    page = client.get(f"/studio/series/{series.id}/plan").get_data(as_text=True)
    assert "declined" in page and "M1: declined" in page


def test_the_member_answers_on_the_consent_page(db, client, login_as, make_proposal):
    _, alex, _, _, _, _, plan = make_proposal(datetime.now(UTC))
    login_as(alex)
    page = client.get(f"/studio/plans/{plan.id}/consent").get_data(as_text=True)
    assert "is repaid to others before the profit split" in page
    assert client.post(f"/studio/plans/{plan.id}/consent",
                       data={"answer": "accept"}).status_code == 302  # fmt: skip
    db.session.refresh(plan)
    assert plan.status == "active"


def test_nobody_else_can_answer(db, client, login_as, make_participant, proposal):
    _, _, _, _, _, _, plan = proposal
    login_as(make_participant())
    assert client.get(f"/studio/plans/{plan.id}/consent").status_code == 404
    assert client.post(f"/studio/plans/{plan.id}/consent",
                       data={"answer": "accept"}).status_code == 404  # fmt: skip
