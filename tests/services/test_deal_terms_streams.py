"""The database-level variant of the waterfall's property test, with every deal term at
once: a remake's royalty, recoupment tiers, an advance and a monthly minimum guarantee,
over random unlocks, refunds and settlement runs (fewer examples than the pure tests: each
one posts through the ledger). Every member's earnings stay within one minor unit of the
exact terms; ledger check, the guarantee replay and bean-check stay clean."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from marketplace.ingest.revenue import post_revenue
from marketplace.partners.models import PartnerApp
from marketplace.splits.models import GuaranteeRun, SplitShare, SplitVersion, TeamMember
from marketplace.splits.plans import (
    AdvanceTerms,
    TierTerms,
    create_revenue_plan,
    plan_waterfall,
    record_budget_line,
)
from marketplace.splits.positions import plan_pool
from marketplace.splits.terms.deal_terms import GuaranteeTerms, RoyaltyTerms, create_remake
from marketplace.splits.terms.guarantees import check_guarantees, settle_guarantees
from marketplace.studio.models import Series
from tests.ledger.test_waterfall_math import oracle
from tests.services.test_revenue import T0
from tests.services.test_revenue_plans import LATER, accept_all
from tests.services.test_revenue_waterfall import posted, refund_of, unlock

WORLDS = itertools.count()

terms = st.fixed_dictionaries(
    {
        "royalty": st.integers(1, 3_000),
        "costs": st.lists(st.integers(1, 3_000), min_size=1, max_size=3),
        "premium": st.sampled_from([10_000, 11_000, 25_000]),
        "advance": st.integers(0, 2_000),
        "guarantee": st.integers(1, 1_500),
        "actor_bps": st.integers(1, 9_999),
    }
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("unlock"), st.integers(1, 3_000)),
        st.tuples(st.just("refund"), st.integers(0, 10**6)),
        st.tuples(st.just("settle"), st.integers(0, 45)),
    ),
    min_size=1,
    max_size=14,
)


def world(db, owner, deal):
    n = next(WORLDS)
    partner = PartnerApp(name=f"Streams {n}", currency="USD", share_bps=3000, hold_days=7)
    original = Series(owner_id=owner.id, title=f"Original {n}", currency="USD")
    db.session.add_all([partner, original])
    db.session.flush()
    writer = TeamMember(series_id=original.id, email=f"w{n}@example.com", credit_name="W",
                        role="writer")  # fmt: skip
    db.session.add(writer)
    db.session.flush()
    remake = create_remake(db.session, original, owner, language="es",
                           royalties=[RoyaltyTerms(writer.id, deal["royalty"])])  # fmt: skip
    maya, actor = (
        TeamMember(
            series_id=remake.id, email=f"{who}{n}@example.com", credit_name=who, role="actor"
        )
        for who in ("maya", "actor")
    )
    db.session.add_all([maya, actor])
    db.session.flush()
    split = SplitVersion(series_id=remake.id, number=1, platform_fee_bps=1000, effective_from=T0)
    split.shares = [
        SplitShare(member_id=maya.id, bps=10_000 - deal["actor_bps"]),
        SplitShare(member_id=actor.id, bps=deal["actor_bps"]),
    ]
    db.session.add(split)
    db.session.flush()
    for tier, cost in enumerate(deal["costs"], start=1):
        record_budget_line(db.session, remake, owner, holder_id=maya.id, description="Cost",
                           amount=cost, tier=tier)  # fmt: skip
    plan = create_revenue_plan(
        db.session, remake, owner,
        tiers=[TierTerms(t, deal["premium"]) for t in range(1, len(deal["costs"]) + 1)],
        advances=[AdvanceTerms(actor.id, maya.id, deal["advance"])] if deal["advance"] else [],
        guarantees=[GuaranteeTerms(actor.id, "minimum", deal["guarantee"], "USD", "month",
                                   maya.id)],
        effective_from=LATER, now=T0,
    )  # fmt: skip
    accept_all(db, plan)
    return partner, remake, plan, (writer, maya, actor)


def guarantee_paid(db, plan):
    run = db.session.scalars(
        select(GuaranteeRun)
        .where(GuaranteeRun.guarantee_id == plan.guarantees[0].id)
        .order_by(GuaranteeRun.id.desc())
    ).first()
    return run.paid if run else 0


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(deal=terms, stream=steps)
def test_every_deal_term_at_once_stays_exact_through_the_ledger(db, make_creator, deal, stream):
    partner, remake, plan, (writer, maya, actor) = world(db, make_creator(), deal)
    members = [writer, maya, actor]
    waterfall = plan_waterfall(plan, {m.id: m.id for m in members})
    unlocks, now = [], LATER
    for number, step in enumerate(stream):
        if step[0] == "unlock":
            fact = unlock(partner, remake, f"{partner.id}:{number}", gross=step[1])
            unlocks.append(fact)
            post_revenue(db.session, partner, [fact])
        elif step[0] == "refund" and unlocks:
            fact = unlocks.pop(step[1] % len(unlocks))
            post_revenue(db.session, partner, [refund_of(fact, f"{partner.id}:{number}")])
        elif step[0] == "settle":
            now += timedelta(days=step[1])
            settle_guarantees(db.session, now)
        exact = oracle(waterfall, plan_pool(db.session, plan))
        paid = guarantee_paid(db, plan)
        expected = {
            writer.id: exact[writer.id],
            maya.id: exact[maya.id] - deal["advance"] - paid,
            actor.id: exact[actor.id] + deal["advance"] + paid,
        }
        for member in members:
            assert abs(posted(db, member) - expected[member.id]) < 1, (member.credit_name, step)
    assert check_ledger(db.session) == []
    assert check_guarantees(db.session) == []


def test_the_deal_terms_export_to_a_beancount_file_that_checks(db, make_creator, tmp_path):
    deal = {"royalty": 500, "costs": [700, 300], "premium": 11_000, "advance": 200,
            "guarantee": 900, "actor_bps": 4_000}  # fmt: skip
    partner, remake, _, _ = world(db, make_creator(), deal)
    facts = [unlock(partner, remake, f"b{i}", gross=999 + i) for i in range(4)]
    post_revenue(db.session, partner, facts)
    post_revenue(db.session, partner, [refund_of(facts[1], "b1")])
    settle_guarantees(db.session, LATER + timedelta(days=65))
    out = io.StringIO()
    export_beancount(db.session, out)
    path = tmp_path / "ledger.beancount"
    path.write_text(out.getvalue())
    bean_check = Path(sys.executable).with_name("bean-check")
    result = subprocess.run([bean_check, path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
