"""Where each party of a series' revenue plan stands: recouped so far and remaining, advance
outstanding, profit share; and the plan in plain words. Read-only (nothing commits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.allocation.waterfall import Positions, break_even, positions
from ledger.schema import AllocationBucket
from marketplace.clock import utcnow
from marketplace.formatting import percent
from marketplace.splits.models import GuaranteeRun, PlanRoyalty, RevenuePlan, TeamMember
from marketplace.splits.plans import plan_in_force, plan_waterfall
from marketplace.studio.models import Series


def waterfall_bucket_key(series_id: int, currency: str, plan_id: int) -> str:
    """The waterfall bucket of one plan version of a series (not "series:...": the
    dashboard's gross figures read the first stage's buckets only)."""
    return f"waterfall:series:{series_id}|{currency}|plan:{plan_id}"


def plan_pool(session: Session, plan: RevenuePlan) -> int:
    """The cumulative pool that has gone through a plan's waterfall so far."""
    key = waterfall_bucket_key(plan.series_id, plan.currency, plan.id)
    return int(
        session.scalar(
            select(func.coalesce(func.sum(AllocationBucket.cumulative_gross), 0)).where(
                AllocationBucket.key == key
            )
        )
        or 0
    )


@dataclass
class MemberPosition:
    """One team member's position under a plan, in minor units (rounded down)."""

    member: TeamMember
    recouped: int = 0
    recoup_owed: int = 0
    advance: int = 0
    advance_recovered: int = 0
    profit_bps: int = 0
    profit: int = 0
    pays_advances: int = 0
    royalty_bps: int = 0
    royalty: int = 0
    royalties_ahead: int = 0
    guarantee_paid: int = 0
    guarantee_owed: int = 0
    guarantees_due_by: int = 0

    @property
    def recoup_remaining(self) -> int:
        """What the member is still to be repaid of her costs (with premium)."""
        return self.recoup_owed - self.recouped

    @property
    def advance_outstanding(self) -> int:
        """What is still to be recovered of the advances paid to her."""
        return self.advance - self.advance_recovered

    def as_json(self) -> dict[str, Any]:
        """The position for `flask series show --format json`."""
        return {
            "member_id": self.member.id,
            "name": self.member.credit_name,
            "recouped": self.recouped,
            "recoup_remaining": self.recoup_remaining,
            "advance_outstanding": self.advance_outstanding,
            "profit_bps": self.profit_bps,
            "profit": self.profit,
            "royalty_bps": self.royalty_bps,
            "royalty": self.royalty,
            "royalties_ahead": self.royalties_ahead,
            "guarantee_paid": self.guarantee_paid,
            "guarantee_owed": self.guarantee_owed,
            "guarantees_owed_by": self.guarantees_due_by,
        }


@dataclass
class PlanPosition:
    """A plan's standing: pool so far, break-even and each member's position."""

    plan: RevenuePlan
    pool: int
    break_even: int
    members: dict[int, MemberPosition] = field(default_factory=dict)

    @property
    def to_break_even(self) -> int:
        """Pool still needed until every tier is repaid (0 past break-even)."""
        return max(self.break_even - self.pool, 0)


def plan_position(session: Session, plan: RevenuePlan) -> PlanPosition:
    """Each member's position under a plan, from the pool posted through it so far."""
    pool = plan_pool(session, plan)
    identity = _identity(plan)
    waterfall = plan_waterfall(plan, identity)
    exact: Positions = positions(waterfall, pool)
    position = PlanPosition(plan, pool, break_even(waterfall))
    members = {m.id: m for m in _members(plan)}

    def of(member_id: int) -> MemberPosition:
        return position.members.setdefault(member_id, MemberPosition(members[member_id]))

    for shares in exact.holders:
        for member_id, (repaid, owed) in shares.items():
            of(member_id).recouped += int(repaid)
            of(member_id).recoup_owed += int(-(-owed // 1))
    for share in plan.shares:
        of(share.member_id).profit_bps = share.bps
        of(share.member_id).profit = int(exact.profit.get(share.member_id, 0))
    for advance, recovered in zip(plan.advances, exact.advances, strict=True):
        of(advance.recipient_id).advance += advance.amount
        of(advance.recipient_id).advance_recovered += int(recovered)
        of(advance.payer_id).pays_advances += advance.amount
    for royalty in plan.royalties:
        of(royalty.member_id).royalty_bps = royalty.bps
        of(royalty.member_id).royalty = int(exact.royalties.get(royalty.member_id, 0))
    if plan.royalties:
        # The remake's team: what its pool has paid the original's team so far.
        paid = int(sum(exact.royalties.values(), Fraction(0)))
        for share in plan.shares:
            of(share.member_id).royalties_ahead = paid
    for guarantee in plan.guarantees:
        last = session.scalars(
            select(GuaranteeRun)
            .where(GuaranteeRun.guarantee_id == guarantee.id)
            .order_by(GuaranteeRun.id.desc())
            .limit(1)
        ).first()
        if last is not None:
            of(guarantee.beneficiary_id).guarantee_paid += last.paid
            of(guarantee.beneficiary_id).guarantee_owed += last.owed
            of(guarantee.guarantor_id).guarantees_due_by += last.owed
    return position


def _identity(plan: RevenuePlan) -> dict[int, int]:
    return {m.id: m.id for m in _members(plan)}


def _members(plan: RevenuePlan) -> list[TeamMember]:
    found: dict[int, TeamMember] = {}
    for tier in plan.tiers:
        found.update((h.member_id, h.member) for h in tier.holders)
    found.update((s.member_id, s.member) for s in plan.shares)
    for advance in plan.advances:
        found[advance.recipient_id] = advance.recipient
        found[advance.payer_id] = advance.payer
    found.update((r.member_id, r.member) for r in plan.royalties)
    for guarantee in plan.guarantees:
        found[guarantee.beneficiary_id] = guarantee.beneficiary
        found[guarantee.guarantor_id] = guarantee.guarantor
    return [found[k] for k in sorted(found)]


def member_plan_positions(
    session: Session, user_id: int, now: datetime | None = None
) -> list[tuple[str, str, MemberPosition]]:
    """(series title, currency, position) of each membership of a user in a series whose
    plan is in force: what her statement shows."""
    now = now or utcnow()
    rows = session.execute(
        select(TeamMember, Series)
        .join(Series, Series.id == TeamMember.series_id)
        .where(TeamMember.user_id == user_id)
        .order_by(Series.title, TeamMember.id)
    ).all()
    found = []
    for member, series in rows:
        plan = plan_in_force(session, series.id, now)
        if plan is None:
            continue
        position = plan_position(session, plan).members.get(member.id)
        if position is not None:
            found.append((series.title, plan.currency, position))
    found += _royalty_positions(session, [member.id for member, _ in rows], now)
    return found


def _royalty_positions(
    session: Session, member_ids: list[int], now: datetime
) -> list[tuple[str, str, MemberPosition]]:
    """Royalties paid to these members (of an original's team) by remakes' plans in force."""
    if not member_ids:
        return []
    pairs = session.execute(
        select(PlanRoyalty.member_id, RevenuePlan.series_id)
        .join(RevenuePlan, RevenuePlan.id == PlanRoyalty.plan_id)
        .where(PlanRoyalty.member_id.in_(member_ids))
        .distinct()
    ).all()
    remakes = sorted(
        ((member_id, session.get_one(Series, series_id)) for member_id, series_id in pairs),
        key=lambda pair: (pair[1].title, pair[1].id, pair[0]),
    )
    found = []
    for member_id, remake in remakes:
        plan = plan_in_force(session, remake.id, now)
        position = plan_position(session, plan).members.get(member_id) if plan else None
        if plan is not None and position is not None:
            found.append((f"{remake.title} (remake royalty)", plan.currency, position))
    return found


def explain_plan(plan: RevenuePlan, money: Callable[[int], str]) -> list[str]:
    """The plan in plain words, a sentence per step ("The first $2,200.00 goes to ...")."""
    sentences = []
    names = {m.id: m.credit_name for m in _members(plan)}
    first = True
    if plan.royalties:
        royalties = _join([f"{names[r.member_id]} {percent(r.bps)}" for r in plan.royalties])
        sentences.append(
            f"First, a royalty to the original series' team comes off the participants' pool:"
            f" {royalties}."
        )
    for tier in plan.tiers:
        cap = -(-sum(h.amount for h in tier.holders) * tier.premium_bps // 10_000)
        holders = _join([names[h.member_id] for h in tier.holders])
        premium = (
            "" if tier.premium_bps == 10_000 else f" ({percent(tier.premium_bps)} of their costs)"
        )
        lead = "The first" if first else "Then the next"
        sentences.append(
            f"{lead} {money(cap)} of the participants' pool goes to {holders}{premium},"
            " shared in proportion to their costs."
        )
        first = False
    split = _join([f"{names[s.member_id]} {percent(s.bps)}" for s in plan.shares])
    sentences.append(f"{'Then the' if not first else 'The'} rest is shared: {split}.")
    for advance in plan.advances:
        sentences.append(
            f"{names[advance.recipient_id]} was advanced {money(advance.amount)} by"
            f" {names[advance.payer_id]}: it is repaid from their earnings before they"
            " receive more."
        )
    for guarantee in plan.guarantees:
        per = {"month": " a month", "episode": " per released episode", "once": ""}[
            guarantee.period
        ]
        what = (
            f"a flat fee of {money(guarantee.amount)}{per} on top of their share"
            if guarantee.kind == "flat_fee"
            else f"at least {money(guarantee.amount)}{per} in all"
        )
        sentences.append(
            f"{names[guarantee.beneficiary_id]} is guaranteed {what}:"
            f" {names[guarantee.guarantor_id]} pays any shortfall from their earnings, and owes"
            " the rest until it is paid."
        )
    return sentences


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def latest_plan(session: Session, series_id: int) -> RevenuePlan | None:
    """The series' newest active plan version (possibly not in force yet), or None."""
    return session.scalars(
        select(RevenuePlan)
        .where(RevenuePlan.series_id == series_id, RevenuePlan.status == "active")
        .order_by(RevenuePlan.number.desc())
        .limit(1)
    ).first()


def describe_plan(
    session: Session, series_id: int, money: Callable[[int], str]
) -> dict[str, Any] | None:
    """The series' newest plan as plain data (`flask series show --format json`), with where
    each member stands and the plan in plain words; None without a plan."""
    plan = latest_plan(session, series_id)
    if plan is None:
        return None
    position = plan_position(session, plan)
    return {
        "number": plan.number,
        "plan_id": plan.id,
        "currency": plan.currency,
        "effective_from": plan.effective_from.isoformat(),
        "tiers": [
            {
                "position": tier.position,
                "premium_bps": tier.premium_bps,
                "holders": [
                    {
                        "member_id": h.member_id,
                        "credit_name": h.member.credit_name,
                        "amount": h.amount,
                    }
                    for h in tier.holders
                ],
            }
            for tier in plan.tiers
        ],
        "advances": [
            {
                "recipient_member_id": a.recipient_id,
                "payer_member_id": a.payer_id,
                "amount": a.amount,
            }
            for a in plan.advances
        ],
        "profit_split": [{"member_id": s.member_id, "bps": s.bps} for s in plan.shares],
        "royalties": [{"member_id": r.member_id, "bps": r.bps} for r in plan.royalties],
        "guarantees": [
            {
                "beneficiary_member_id": g.beneficiary_id,
                "guarantor_member_id": g.guarantor_id,
                "kind": g.kind,
                "period": g.period,
                "amount": g.amount,
                "currency": g.currency,
            }
            for g in plan.guarantees
        ],
        "pool": position.pool,
        "break_even": position.break_even,
        "to_break_even": position.to_break_even,
        "positions": [p.as_json() for _, p in sorted(position.members.items())],
        "explanation": explain_plan(plan, money),
    }


def plan_history(session: Session, series_id: int) -> list[RevenuePlan]:
    """Every plan version of a series, newest first, with its consents (who answered what)."""
    return list(
        session.scalars(
            select(RevenuePlan)
            .where(RevenuePlan.series_id == series_id)
            .order_by(RevenuePlan.number.desc())
        )
    )
