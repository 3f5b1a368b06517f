"""Revenue plans: a series' recoupment waterfall (budget lines repaid in tiers, with premiums,
advances recovered from their recipients' earnings, then the profit split).

A plan is a version like a split version: it takes effect in the future only and is never
rewritten. Making one copies the series' budget lines into its tiers' holders and the profit
split from the split version in force, checks every rule (ServiceError / ValidationFailed
naming the field, nothing saved), posts its advances to the ledger, and commits once. The
ledger does the arithmetic (ledger.allocation.waterfall); marketplace.ingest.revenue routes a
series' pool through the plan in force.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ledger.allocation.waterfall import (
    MAX_PREMIUM_BPS,
    MIN_PREMIUM_BPS,
    Advance,
    Holder,
    Tier,
    Waterfall,
)
from ledger.posting import Leg, post_entry
from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import Conflict, Problem, ServiceError, is_int, raise_problems
from marketplace.splits.consent import affected_members, request_consents
from marketplace.splits.models import (
    BudgetLine,
    PlanAdvance,
    PlanHolder,
    PlanShare,
    PlanTier,
    RevenuePlan,
    SplitVersion,
    TeamMember,
)
from marketplace.splits.terms.deal_terms import (
    GuaranteeTerms,
    guarantee_problems,
    plan_guarantee_rows,
    plan_royalty_rows,
)
from marketplace.studio.models import Series

MAX_TIERS = 4


@dataclass(frozen=True, slots=True)
class TierTerms:
    """A recoupment tier asked for: position (1 = repaid first), premium_bps (10000-100000)."""

    position: int
    premium_bps: int = MIN_PREMIUM_BPS


@dataclass(frozen=True, slots=True)
class AdvanceTerms:
    """An advance asked for: paid to recipient_id by payer_id (team members), amount > 0."""

    recipient_id: int
    payer_id: int
    amount: int


def _member_of(session: Session, series: Series, member_id: object, field: str) -> TeamMember:
    member = session.get(TeamMember, member_id) if is_int(member_id) else None
    if member is None or member.series_id != series.id:
        raise ServiceError("Choose a member of this series' team.", field=field)
    return member


def record_budget_line(
    session: Session,
    series: Series,
    actor: User | None,
    *,
    holder_id: int,
    description: str,
    amount: int,
    tier: int = 1,
    receipt_url: str | None = None,
) -> BudgetLine:
    """Record a cost of the series, carried by a team member (the creator or an investor) and
    repaid in recoupment tier `tier`; amount in minor units of the series' currency. Commits."""
    line = stage_budget_line(
        session,
        series,
        actor,
        holder_id=holder_id,
        description=description,
        amount=amount,
        tier=tier,
        receipt_url=receipt_url,
    )
    session.commit()
    return line


def stage_budget_line(
    session: Session,
    series: Series,
    actor: User | None,
    *,
    holder_id: int,
    description: str,
    amount: int,
    tier: int = 1,
    receipt_url: str | None = None,
) -> BudgetLine:
    """record_budget_line without the commit (for the manifest import's one transaction)."""
    problems: list[Problem] = []
    if not is_int(amount) or amount <= 0:
        problems.append(("amount", "A cost is a positive amount."))
    if not is_int(tier) or not 1 <= tier <= MAX_TIERS:
        problems.append(("tier", f"Choose a tier from 1 to {MAX_TIERS}."))
    description = (description or "").strip()
    if not description or len(description) > 200:
        problems.append(("description", "Describe the cost in 1 to 200 characters."))
    if receipt_url is not None and len(receipt_url) > 500:
        problems.append(("receipt_url", "A receipt link has at most 500 characters."))
    raise_problems(problems)
    holder = _member_of(session, series, holder_id, "holder_id")
    line = BudgetLine(
        series_id=series.id,
        tier=tier,
        description=description,
        amount=amount,
        currency=series.currency,
        holder_id=holder.id,
        receipt_url=receipt_url or None,
        created_by_id=actor.id if actor else None,
    )
    session.add(line)
    session.flush()
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="budget_line.record",
        subject_type="series",
        subject_id=series.id,
        details={"line": line.id, "amount": amount, "tier": tier, "holder": holder.id},
    )
    return line


def budget_lines(session: Session, series_id: int) -> list[BudgetLine]:
    """The series' budget lines, by tier then when recorded."""
    return list(
        session.scalars(
            select(BudgetLine)
            .where(BudgetLine.series_id == series_id)
            .order_by(BudgetLine.tier, BudgetLine.id)
        )
    )


def _tier_problems(tiers: Sequence[TierTerms], lines: Sequence[BudgetLine]) -> list[Problem]:
    problems: list[Problem] = []
    if len(tiers) > MAX_TIERS:
        problems.append(("tiers", f"A plan has at most {MAX_TIERS} recoupment tiers."))
    for index, tier in enumerate(tiers):
        if tier.position != index + 1:
            problems.append(
                (f"tiers[{index}].position", "Tiers are numbered 1, 2, ... in the order repaid.")
            )
        if not is_int(tier.premium_bps) or not (
            MIN_PREMIUM_BPS <= tier.premium_bps <= MAX_PREMIUM_BPS
        ):
            problems.append(
                (f"tiers[{index}].premium_bps", "A premium is between 100 % and 1,000 %.")
            )
    used = {line.tier for line in lines}
    for position in sorted(used - {t.position for t in tiers}):
        problems.append(("tiers", f"Budget lines are in tier {position}, which the plan lacks."))
    for index, tier in enumerate(tiers):
        if tier.position not in used:
            problems.append((f"tiers[{index}]", f"Tier {tier.position} has no budget line."))
    return problems


def _profit_split(session: Session, series: Series, at: datetime) -> SplitVersion:
    version = session.scalars(
        select(SplitVersion)
        .where(SplitVersion.series_id == series.id, SplitVersion.effective_from <= at)
        .order_by(SplitVersion.effective_from.desc(), SplitVersion.number.desc())
        .limit(1)
    ).first()
    if version is None or sum(s.bps for s in version.shares) != 10_000:
        raise ServiceError(
            "Save a complete split sheet first: the plan's profit split is the split in force.",
            field="split",
        )
    return version


def create_revenue_plan(
    session: Session,
    series: Series,
    actor: User | None,
    *,
    tiers: Sequence[TierTerms],
    advances: Sequence[AdvanceTerms] = (),
    effective_from: datetime | None = None,
    now: datetime | None = None,
    guarantees: Sequence[GuaranteeTerms] = (),
) -> RevenuePlan:
    """Make the series' next plan version, effective from `effective_from` (default now; never
    earlier): its tiers repay the budget lines of their position to their holders (summed per
    holder), the profit split is the split sheet in force then, and each advance is posted
    (the payer's earnings to the recipient's). Refuses bad terms naming the field, with
    nothing saved; commits once."""
    plan = stage_revenue_plan(
        session,
        series,
        actor,
        tiers=tiers,
        advances=advances,
        effective_from=effective_from,
        now=now,
        guarantees=guarantees,
    )
    session.commit()
    return plan


def stage_revenue_plan(
    session: Session,
    series: Series,
    actor: User | None,
    *,
    tiers: Sequence[TierTerms],
    advances: Sequence[AdvanceTerms] = (),
    effective_from: datetime | None = None,
    now: datetime | None = None,
    guarantees: Sequence[GuaranteeTerms] = (),
) -> RevenuePlan:
    """create_revenue_plan without the commit (for the manifest import's one transaction)."""
    now = now or utcnow()
    effective_from = effective_from or now
    if effective_from < now:
        raise ServiceError(
            "A plan takes effect from now on, never earlier.", field="effective_from"
        )
    if session.scalar(
        select(RevenuePlan.id).where(
            RevenuePlan.series_id == series.id, RevenuePlan.status == "pending"
        )
    ):
        raise Conflict(
            "A plan version is waiting for its members' answers: wait for it, or its deadline.",
            field="plan",
        )
    latest = session.scalar(
        select(func.max(RevenuePlan.effective_from)).where(
            RevenuePlan.series_id == series.id, RevenuePlan.status == "active"
        )
    )
    if latest is not None and effective_from < latest:
        raise ServiceError(
            "A plan cannot take effect before the latest plan version.", field="effective_from"
        )
    lines = budget_lines(session, series.id)
    problems = _tier_problems(tiers, lines)
    problems += [
        ("budget", f"Budget line {line.id} is in {line.currency}, the series in {series.currency}.")
        for line in lines
        if line.currency != series.currency
    ]
    for index, asked in enumerate(advances):
        if not is_int(asked.amount) or asked.amount <= 0:
            problems.append((f"advances[{index}].amount", "An advance is a positive amount."))
        if asked.recipient_id == asked.payer_id:
            problems.append((f"advances[{index}].payer_id", "Someone else pays an advance."))
    problems += guarantee_problems(session, series, guarantees)
    raise_problems(problems)
    recipients = [
        (
            _member_of(session, series, a.recipient_id, f"advances[{i}].recipient_id"),
            _member_of(session, series, a.payer_id, f"advances[{i}].payer_id"),
        )
        for i, a in enumerate(advances)
    ]
    split = _profit_split(session, series, effective_from)
    number = (
        session.scalar(
            select(func.max(RevenuePlan.number)).where(RevenuePlan.series_id == series.id)
        )
        or 0
    ) + 1
    plan = RevenuePlan(
        series_id=series.id,
        number=number,
        currency=series.currency,
        effective_from=effective_from,
        created_by_id=actor.id if actor else None,
    )
    held: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        held[line.tier][line.holder_id] += line.amount
    for terms in tiers:
        tier = PlanTier(position=terms.position, premium_bps=terms.premium_bps)
        tier.holders = [
            PlanHolder(member_id=member, amount=amount)
            for member, amount in sorted(held[terms.position].items())
        ]
        plan.tiers.append(tier)
    plan.shares = [PlanShare(member_id=s.member_id, bps=s.bps) for s in split.shares]
    plan.advances = [
        PlanAdvance(recipient_id=r.id, payer_id=p.id, amount=a.amount)
        for (r, p), a in zip(recipients, advances, strict=True)
    ]
    plan.guarantees = plan_guarantee_rows(session, series, guarantees)
    plan.royalties = plan_royalty_rows(session, series)
    plan_waterfall(plan, {m: m for m in _members(plan)})  # the ledger's own checks, too
    reasons = affected_members(
        plan, plan_in_force(session, series.id, effective_from), split, series.currency
    )
    deciding = {m.id for m in _team(session, series) if actor and m.user_id == actor.id}
    reasons = {m: why for m, why in reasons.items() if m not in deciding}
    session.add(plan)
    session.flush()
    if reasons:
        request_consents(session, series, plan, reasons, actor, now)
    else:
        activate_plan(session, plan, now)
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="revenue_plan.create",
        subject_type="series",
        subject_id=series.id,
        details={"plan": plan.id, "number": number, "tiers": len(plan.tiers)},
    )
    return plan


def activate_plan(session: Session, plan: RevenuePlan, now: datetime) -> None:
    """Put a plan in force (from its effective_from, or now if later) and pay its advances."""
    series = session.get_one(Series, plan.series_id)
    plan.status, plan.decided_at = "active", now
    plan.effective_from = max(plan.effective_from, now)
    for paid in plan.advances:
        paid.entry_id = _post_advance(session, series, plan, paid, now)


def _team(session: Session, series: Series) -> list[TeamMember]:
    return list(session.scalars(select(TeamMember).where(TeamMember.series_id == series.id)))


def plan_member_ids(plan: RevenuePlan) -> set[int]:
    """Every member a plan can pay: holders, profit shares, advances' recipients and payers,
    and a remake's royalties' members."""
    return _members(plan)


def _members(plan: RevenuePlan) -> set[int]:
    found = {h.member_id for t in plan.tiers for h in t.holders}
    found.update(s.member_id for s in plan.shares)
    found.update(a.recipient_id for a in plan.advances)
    found.update(a.payer_id for a in plan.advances)
    found.update(r.member_id for r in plan.royalties)
    return found


def plan_waterfall(plan: RevenuePlan, accounts: dict[int, int]) -> Waterfall:
    """The ledger's waterfall of a plan, with each member's earnings account id from
    `accounts` (member id -> account id). Raises ServiceError if the ledger refuses it."""
    try:
        return Waterfall(
            tuple(
                Tier(
                    tuple(Holder(accounts[h.member_id], h.amount) for h in tier.holders),
                    tier.premium_bps,
                )
                for tier in plan.tiers
            ),
            tuple((accounts[s.member_id], s.bps) for s in plan.shares),
            tuple(
                Advance(accounts[a.recipient_id], accounts[a.payer_id], a.amount)
                for a in plan.advances
            ),
            tuple((accounts[r.member_id], r.bps) for r in plan.royalties),
        )
    except ValueError as error:
        raise ServiceError(f"The plan's terms are refused: {error}.", field="plan") from error


def _post_advance(
    session: Session, series: Series, plan: RevenuePlan, advance: PlanAdvance, now: datetime
) -> int:
    """Post an advance: the payer's earnings pay it to the recipient's (both may go negative:
    earnings accounts carry a negative balance forward)."""
    payer = ledger_account(session, "member_earnings", plan.currency, advance.payer_id)
    recipient = ledger_account(session, "member_earnings", plan.currency, advance.recipient_id)
    entry = post_entry(
        session,
        idempotency_key=f"advance:{advance.id}",
        effective_at=now,
        description=f"Advance to member {advance.recipient_id} of series {series.id}",
        legs=[Leg(payer.id, advance.amount), Leg(recipient.id, -advance.amount)],
        metadata={"kind": "advance", "series_id": series.id, "plan_id": plan.id},
        now=now,
    )
    return entry.id


def plan_in_force(session: Session, series_id: int, at: datetime) -> RevenuePlan | None:
    """The series' plan version in force at a moment (the latest effective by then)."""
    return session.scalars(
        select(RevenuePlan)
        .where(
            RevenuePlan.series_id == series_id,
            RevenuePlan.effective_from <= at,
            RevenuePlan.status == "active",
        )
        .order_by(RevenuePlan.effective_from.desc(), RevenuePlan.number.desc())
        .limit(1)
    ).first()


def plans_by_series(session: Session, series_ids: set[int]) -> dict[int, list[RevenuePlan]]:
    """Every active plan version of these series, newest effective first, with its tiers,
    holders, shares and advances (five queries in all: the poster calls it per batch)."""
    result: dict[int, list[RevenuePlan]] = {sid: [] for sid in series_ids}
    if not series_ids:
        return result
    for plan in session.scalars(
        select(RevenuePlan)
        .where(RevenuePlan.series_id.in_(series_ids), RevenuePlan.status == "active")
        .options(
            selectinload(RevenuePlan.tiers).selectinload(PlanTier.holders),
            selectinload(RevenuePlan.shares),
            selectinload(RevenuePlan.advances),
            selectinload(RevenuePlan.royalties),
        )
        .order_by(RevenuePlan.effective_from.desc(), RevenuePlan.number.desc())
    ):
        result[plan.series_id].append(plan)
    return result
