"""Flat fees and minimum guarantees settled in the ledger; a remake's royalty to its
original's team; bad terms refused with nothing saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from marketplace.errors import ServiceError
from marketplace.ingest.revenue import post_revenue
from marketplace.splits.models import (
    GuaranteeRun,
    PlanGuarantee,
    RemakeRoyalty,
    RevenuePlan,
    SplitShare,
    SplitVersion,
    TeamMember,
)
from marketplace.splits.plans import TierTerms, create_revenue_plan, record_budget_line
from marketplace.splits.terms.deal_terms import GuaranteeTerms, RoyaltyTerms, create_remake
from marketplace.splits.terms.guarantees import check_guarantees, settle_guarantees, whole_months
from marketplace.studio.models import Series
from tests.services.test_revenue import T0, make_world
from tests.services.test_revenue_plans import LATER, accept_all
from tests.services.test_revenue_waterfall import posted, unlock


def balance(db, kind, owner_id):
    account = ledger_account(db.session, kind, "USD", owner_id)
    return get_balance(db.session, account.id, now=LATER + timedelta(days=400)).posted


def test_a_monthly_minimum_guarantee_is_paid_from_the_creators_earnings_then_owed(
    db, make_creator
):
    owner = make_creator()
    partner, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "minimum", 500, "USD", "month", maya.id)],
    )  # fmt: skip
    accept_all(db, plan)
    assert plan.status == "active"
    # One unlock: 630 in the pool, Maya 378, the actor 252.
    post_revenue(db.session, partner, [unlock(partner, series, "u1")])
    assert settle_guarantees(db.session, LATER + timedelta(days=10)) == 0  # no month is over
    # Two months on: 1,000 promised, 252 earned: 748 due; Maya's 378 pay first, 370 owed.
    assert settle_guarantees(db.session, LATER + timedelta(days=62)) == 1
    assert (posted(db, maya), posted(db, actor)) == (0, 252 + 378)
    guarantee = db.session.scalars(select(PlanGuarantee)).one()
    assert balance(db, "guarantee_payable", guarantee.id) == 370
    # Maya earns more: the next run pays what is owed.
    post_revenue(db.session, partner, [unlock(partner, series, f"v{i}") for i in range(3)])
    assert settle_guarantees(db.session, LATER + timedelta(days=63)) == 1
    # Pool 2,520: the actor's share 1,008 passes the 1,000 promised: no dues, all paid back.
    assert balance(db, "guarantee_payable", guarantee.id) == 0
    assert (posted(db, maya), posted(db, actor)) == (1_512, 1_008)
    runs = db.session.scalars(select(GuaranteeRun).order_by(GuaranteeRun.id)).all()
    assert [(r.dues, r.paid, r.owed) for r in runs] == [(748, 378, 370), (0, 0, 0)]
    assert check_ledger(db.session) == []
    assert check_guarantees(db.session) == []


def test_a_flat_fee_is_owed_once_on_top_of_the_share(db, make_creator):
    owner = make_creator()
    partner, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "flat_fee", 2_000, "USD", "once", maya.id)],
    )  # fmt: skip
    accept_all(db, plan)
    assert settle_guarantees(db.session, LATER + timedelta(hours=1)) == 1
    guarantee = db.session.scalars(select(PlanGuarantee)).one()
    assert balance(db, "guarantee_payable", guarantee.id) == 2_000  # Maya has no earnings yet
    post_revenue(db.session, partner, [unlock(partner, series, f"u{i}") for i in range(10)])
    assert settle_guarantees(db.session, LATER + timedelta(hours=2)) == 1
    assert balance(db, "guarantee_payable", guarantee.id) == 0
    assert posted(db, actor) == 2_520 + 2_000  # her 40 % of 6,300 and the fee
    assert settle_guarantees(db.session, LATER + timedelta(hours=3)) == 0  # nothing changed
    assert check_ledger(db.session) == [] and check_guarantees(db.session) == []


def test_a_tampered_run_is_found_by_the_replay(db, make_creator):
    owner = make_creator()
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "minimum", 100, "USD", "once", maya.id)],
    )  # fmt: skip
    accept_all(db, plan)
    settle_guarantees(db.session, LATER + timedelta(hours=1))
    run = db.session.scalars(select(GuaranteeRun)).one()
    run.share = 7
    assert any("share" in p for p in check_guarantees(db.session))


def test_whole_months():
    assert whole_months(T0, T0 + timedelta(days=27)) == 0
    assert whole_months(T0, T0 + timedelta(days=62)) == 2


def counts(db):
    remakes = select(func.count(Series.id)).where(Series.original_series_id.is_not(None))
    return (
        *(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (RevenuePlan, PlanGuarantee, RemakeRoyalty)
        ),
        db.session.scalar(remakes),
    )


@pytest.mark.parametrize(
    "terms, field",
    [
        (("minimum", 500, "EUR", "month"), "guarantees[0].currency"),
        (("minimum", -5, "USD", "month"), "guarantees[0].amount"),
        (("bonus", 5, "USD", "month"), "guarantees[0].kind"),
        (("flat_fee", 5, "USD", "year"), "guarantees[0].period"),
    ],
)
def test_bad_guarantees_are_refused_with_nothing_saved(db, make_creator, terms, field):
    owner = make_creator()
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    before = (0, 0, 0, 0)
    kind, amount, currency, period = terms
    with pytest.raises(ServiceError) as caught:
        create_revenue_plan(
            db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
            guarantees=[GuaranteeTerms(actor.id, kind, amount, currency, period, maya.id)],
        )  # fmt: skip
    assert field in (caught.value.field or caught.value.message)
    db.session.rollback()
    assert counts(db) == before


def test_a_guarantor_cannot_guarantee_himself(db, make_creator):
    owner = make_creator()
    _, series, (maya, _), _ = make_world(db, owner, shares=(6000, 4000))
    with pytest.raises(ServiceError) as caught:
        create_revenue_plan(
            db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
            guarantees=[GuaranteeTerms(maya.id, "minimum", 5, "USD", "once", maya.id)],
        )  # fmt: skip
    assert "guarantor_id" in str(caught.value.field or caught.value.message)


def remake_world(db, owner, royalty_bps=500):
    partner, original, (writer, _), _ = make_world(db, owner, shares=(6000, 4000))
    remake = create_remake(
        db.session, original, owner, language="es",
        royalties=[RoyaltyTerms(writer.id, royalty_bps)],
    )  # fmt: skip
    cast = [TeamMember(series_id=remake.id, email=f"es{i}@example.com", credit_name=f"ES{i}",
                       role="actor") for i in range(2)]  # fmt: skip
    db.session.add_all(cast)
    db.session.flush()
    version = SplitVersion(series_id=remake.id, number=1, platform_fee_bps=1000, effective_from=T0)
    version.shares = [SplitShare(member_id=m.id, bps=5000) for m in cast]
    db.session.add(version)
    db.session.flush()
    return partner, remake, writer, cast


def test_a_remake_pays_the_originals_writer_5_percent_of_its_pool_once_accepted(
    db, make_creator
):
    owner = make_creator()
    partner, remake, writer, cast = remake_world(db, owner)
    assert remake.original_series_id is not None
    record_budget_line(db.session, remake, owner, holder_id=cast[0].id, description="Dub",
                       amount=500)  # fmt: skip
    plan = create_revenue_plan(db.session, remake, owner, tiers=[TierTerms(1)],
                               effective_from=LATER, now=T0)  # fmt: skip
    assert [(r.member_id, r.bps) for r in plan.royalties] == [(writer.id, 500)]
    assert plan.status == "pending"  # the remake's team accepts the royalty ahead of them
    reasons = {c.member_id: c.reason for c in plan.consents}
    assert "5% of the pool goes first to the original series' team" in reasons[cast[1].id]
    accept_all(db, plan)
    post_revenue(db.session, partner, [unlock(partner, remake, "es1")])  # 630 in the pool
    # 5 % of 630 = 31.5 to the writer; 598.5 left: 500 repay the dub, 98.5 split 50/50.
    writer_money = posted(db, writer)
    assert writer_money in (31, 32)
    assert writer_money + posted(db, cast[0]) + posted(db, cast[1]) == 630
    assert check_ledger(db.session) == []


@pytest.mark.parametrize("bps", [10_000, 12_000, 0])
def test_a_royalty_of_100_percent_or_more_is_refused_with_nothing_saved(db, make_creator, bps):
    owner = make_creator()
    _, original, (writer, _), _ = make_world(db, owner, shares=(6000, 4000))
    before = (0, 0, 0, 0)
    with pytest.raises(ServiceError) as caught:
        create_remake(db.session, original, owner, language="es",
                      royalties=[RoyaltyTerms(writer.id, bps)])  # fmt: skip
    assert "royalties[0].bps" in str(caught.value.field or caught.value.message)
    db.session.rollback()
    assert counts(db) == before


def test_both_series_statements_show_the_remake_royalty_and_the_plan_explains_it(
    db, make_creator, make_participant
):
    from marketplace.formatting import format_money
    from marketplace.splits.plans import plan_in_force
    from marketplace.splits.positions import (
        describe_plan,
        explain_plan,
        member_plan_positions,
        plan_position,
    )

    owner = make_creator()
    partner, remake, writer, cast = remake_world(db, owner, royalty_bps=500)
    plan = create_revenue_plan(db.session, remake, owner, tiers=[], effective_from=LATER,
                               now=T0)  # fmt: skip
    accept_all(db, plan)
    post_revenue(db.session, partner, [unlock(partner, remake, f"es{i}") for i in range(2)])
    position = plan_position(db.session, plan)
    assert position.members[writer.id].royalty == 63  # 5 % of 1,260
    assert position.members[cast[0].id].profit == 598  # half of the 1,197 left, rounded down
    # The remake's team sees what its pool paid the original's team.
    assert position.members[cast[1].id].royalties_ahead == 63
    # The original's writer sees the remake's royalty on her statement.
    user = make_participant()
    writer.user_id, writer.accepted_at = user.id, LATER
    db.session.flush()
    rows = member_plan_positions(db.session, user.id, now=LATER + timedelta(hours=1))
    assert [(title, p.royalty) for title, _, p in rows] == [
        (f"{remake.title} (remake royalty)", 63)
    ]
    words = explain_plan(plan_in_force(db.session, remake.id, LATER),
                         lambda a: format_money(a, "USD", "en"))  # fmt: skip
    assert words[0] == (
        "First, a royalty to the original series' team comes off the participants' pool: M0 5%."
    )
    data = describe_plan(db.session, remake.id, lambda a: format_money(a, "USD", "en"))
    assert data["royalties"] == [{"member_id": writer.id, "bps": 500}]


def test_a_guarantee_shows_in_positions_json_and_words(db, make_creator):
    from marketplace.formatting import format_money
    from marketplace.splits.positions import describe_plan, plan_position

    owner = make_creator()
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "minimum", 500, "USD", "month", maya.id)],
    )  # fmt: skip
    accept_all(db, plan)
    settle_guarantees(db.session, LATER + timedelta(days=31))
    position = plan_position(db.session, plan)
    assert position.members[actor.id].guarantee_owed == 500  # Maya has no earnings yet
    assert position.members[maya.id].guarantees_due_by == 500
    data = describe_plan(db.session, series.id, lambda a: format_money(a, "USD", "en"))
    assert data["guarantees"][0]["kind"] == "minimum"
    assert data["explanation"][-1] == (
        "M1 is guaranteed at least $5.00 a month in all: M0 pays any shortfall from their"
        " earnings, and owes the rest until it is paid."
    )
    assert {p["member_id"]: p["guarantee_owed"] for p in data["positions"]}[actor.id] == 500


def test_the_hourly_job_settles_and_flask_ledger_check_replays(app, db, make_creator, runner):
    from marketplace.scheduler.jobs import create_scheduler, settle_plan_guarantees

    job = create_scheduler(app).get_job("guarantee-dues")
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    owner = make_creator()
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "flat_fee", 300, "USD", "once", maya.id)],
    )  # fmt: skip
    accept_all(db, plan)
    assert settle_plan_guarantees(app, LATER + timedelta(hours=1)) == 1
    assert "guarantee runs replayed" in runner.invoke(args=["ledger", "check"]).output
    run = db.session.scalars(select(GuaranteeRun)).one()
    run.periods = 0  # the dues no longer replay
    db.session.flush()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert f"guarantee run {run.id}: the dues do not replay" in result.output


def test_a_member_named_as_guarantor_is_asked_first(db, make_creator):
    owner = make_creator()
    _, series, (_, actor, third), _ = make_world(db, owner, shares=(5000, 3000, 2000))
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "minimum", 100, "USD", "once", third.id)],
    )  # fmt: skip
    assert plan.status == "pending"
    reasons = {c.member_id: c.reason for c in plan.consents}
    assert list(reasons) == [third.id]
    assert "any shortfall comes from your earnings" in reasons[third.id]
    accept_all(db, plan)
    assert plan.status == "active"


def test_a_flat_fee_per_released_episode_counts_the_episodes_by_then(db, make_creator):
    from marketplace.studio.models import Episode

    owner = make_creator()
    _, series, (maya, actor), _ = make_world(db, owner, shares=(6000, 4000))
    db.session.add_all(
        Episode(series_id=series.id, number=n, created_at=LATER + timedelta(days=n))
        for n in range(1, 4)
    )
    plan = create_revenue_plan(
        db.session, series, owner, tiers=[], effective_from=LATER, now=T0,
        guarantees=[GuaranteeTerms(actor.id, "flat_fee", 100, "USD", "episode", maya.id)],
    )  # fmt: skip
    accept_all(db, plan)
    settle_guarantees(db.session, LATER + timedelta(days=2, hours=1))  # episodes 1 and 2
    guarantee = db.session.scalars(select(PlanGuarantee)).one()
    assert balance(db, "guarantee_payable", guarantee.id) == 200
    settle_guarantees(db.session, LATER + timedelta(days=5))  # all three
    assert balance(db, "guarantee_payable", guarantee.id) == 300
    assert check_guarantees(db.session) == []
