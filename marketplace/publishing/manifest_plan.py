"""A manifest's `revenue_plan`: the budget, the tiers' premiums and advances of a series being
imported, checked with the rest of the manifest and created in its transaction (the format is
in docs/manifest.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.guarantees import GUARANTEE_KINDS, GUARANTEE_PERIODS
from ledger.allocation.waterfall import MAX_PREMIUM_BPS, MIN_PREMIUM_BPS
from marketplace.accounts.models import User
from marketplace.accounts.services import normalise_email
from marketplace.errors import Problem, ServiceError, is_int
from marketplace.splits.models import TeamMember
from marketplace.splits.plans import (
    MAX_TIERS,
    AdvanceTerms,
    TierTerms,
    stage_budget_line,
    stage_revenue_plan,
)
from marketplace.splits.terms.deal_terms import GuaranteeTerms
from marketplace.studio.models import Series

PLAN_FIELDS = {"tiers", "budget", "advances", "guarantees"}
TIER_FIELDS = {"premium_bps"}
LINE_FIELDS = {"holder", "tier", "description", "amount", "receipt_url"}
ADVANCE_FIELDS = {"recipient", "payer", "amount"}
GUARANTEE_FIELDS = {"beneficiary", "guarantor", "kind", "period", "amount", "currency"}


def _email(value: object) -> str | None:
    try:
        return normalise_email(str(value or ""))
    except ServiceError:
        return None


def _objects(value: object, where: str, allowed: set[str]) -> tuple[list[dict], list[Problem]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return [], [(where, "List objects.")]
    return value, [
        (f"{where}[{i}].{key}", "Unknown field.")
        for i, item in enumerate(value)
        for key in sorted(set(item) - allowed)
    ]


def plan_problems(
    plan: object, split: list[dict[str, Any]] | None, currency: str = "USD"
) -> list[Problem]:
    """Every problem of a manifest's revenue_plan (its people are the split's emails;
    `currency` is the series')."""
    if not isinstance(plan, dict):
        return [("revenue_plan", "The revenue plan must be an object.")]
    problems: list[Problem] = [
        (f"revenue_plan.{key}", "Unknown field.") for key in sorted(set(plan) - PLAN_FIELDS)
    ]
    if split is None:
        return [*problems, ("revenue_plan", "A revenue plan needs a split.")]
    people = {_email(row.get("email")) for row in split} - {None}
    tiers, found = _objects(plan.get("tiers", []), "revenue_plan.tiers", TIER_FIELDS)
    problems += found
    if len(tiers) > MAX_TIERS:
        problems.append(("revenue_plan.tiers", f"At most {MAX_TIERS} tiers."))
    for i, tier in enumerate(tiers):
        premium = tier.get("premium_bps", MIN_PREMIUM_BPS)
        if not is_int(premium) or not MIN_PREMIUM_BPS <= premium <= MAX_PREMIUM_BPS:
            problems.append(
                (f"revenue_plan.tiers[{i}].premium_bps", "A premium is between 100 % and 1,000 %.")
            )
    lines, found = _objects(plan.get("budget", []), "revenue_plan.budget", LINE_FIELDS)
    problems += found
    for i, line in enumerate(lines):
        where = f"revenue_plan.budget[{i}]"
        if _email(line.get("holder")) not in people:
            problems.append((f"{where}.holder", "The holder must be a participant of the split."))
        tier = line.get("tier", 1)
        if not is_int(tier) or not 1 <= tier <= len(tiers):
            problems.append((f"{where}.tier", f"Choose a tier from 1 to {len(tiers)}."))
        if not is_int(line.get("amount")) or line["amount"] <= 0:
            problems.append((f"{where}.amount", "A cost is a positive integer of minor units."))
    used = {line.get("tier", 1) for line in lines}
    problems += [
        (f"revenue_plan.tiers[{n - 1}]", f"Tier {n} has no budget line.")
        for n in range(1, len(tiers) + 1)
        if n not in used
    ]
    advances, found = _objects(plan.get("advances", []), "revenue_plan.advances", ADVANCE_FIELDS)
    problems += found
    for i, advance in enumerate(advances):
        where = f"revenue_plan.advances[{i}]"
        for role in ("recipient", "payer"):
            if _email(advance.get(role)) not in people:
                problems.append((f"{where}.{role}", "Name a participant of the split."))
        if _email(advance.get("recipient")) == _email(advance.get("payer")):
            problems.append((f"{where}.payer", "Someone else pays an advance."))
        if not is_int(advance.get("amount")) or advance["amount"] <= 0:
            problems.append((f"{where}.amount", "An advance is a positive integer of minor units."))
    return problems + _guarantee_problems(plan, people, currency)


def _guarantee_problems(
    plan: dict[str, Any], people: set[str | None], currency: str
) -> list[Problem]:
    guarantees, problems = _objects(
        plan.get("guarantees", []), "revenue_plan.guarantees", GUARANTEE_FIELDS
    )
    for i, guarantee in enumerate(guarantees):
        where = f"revenue_plan.guarantees[{i}]"
        if _email(guarantee.get("beneficiary")) not in people:
            problems.append((f"{where}.beneficiary", "Name a participant of the split."))
        if "guarantor" in guarantee and _email(guarantee["guarantor"]) not in people:
            problems.append((f"{where}.guarantor", "Name a participant of the split."))
        if guarantee.get("kind") not in GUARANTEE_KINDS:
            problems.append((f"{where}.kind", "Choose flat_fee or minimum."))
        if guarantee.get("period", "once") not in GUARANTEE_PERIODS:
            problems.append((f"{where}.period", "Choose month, episode or once."))
        if not is_int(guarantee.get("amount")) or guarantee["amount"] <= 0:
            problems.append(
                (f"{where}.amount", "A guarantee is a positive integer of minor units.")
            )
        if guarantee.get("currency", currency) != currency:
            problems.append(
                (f"{where}.currency", f"A guarantee is in the series' currency ({currency}).")
            )
    return problems


def stage_manifest_plan(
    session: Session, series: Series, owner: User, plan: dict[str, Any], now: datetime
) -> None:
    """Create the checked plan's budget lines and plan version (effective now), no commit."""
    members = {
        m.email: m.id
        for m in session.scalars(select(TeamMember).where(TeamMember.series_id == series.id))
    }

    def member(email: object) -> int:
        return members[_email(email) or ""]

    for line in plan.get("budget", []):
        stage_budget_line(
            session,
            series,
            owner,
            holder_id=member(line["holder"]),
            description=line.get("description") or "Budget",
            amount=line["amount"],
            tier=line.get("tier", 1),
            receipt_url=line.get("receipt_url"),
        )
    session.flush()
    stage_revenue_plan(
        session,
        series,
        owner,
        tiers=[
            TierTerms(n, tier.get("premium_bps", MIN_PREMIUM_BPS))
            for n, tier in enumerate(plan.get("tiers", []), start=1)
        ],
        advances=[
            AdvanceTerms(member(a["recipient"]), member(a["payer"]), a["amount"])
            for a in plan.get("advances", [])
        ],
        guarantees=[
            GuaranteeTerms(
                member(g["beneficiary"]),
                g["kind"],
                g["amount"],
                g.get("currency", series.currency),
                g.get("period", "once"),
                member(g["guarantor"]) if "guarantor" in g else None,
            )
            for g in plan.get("guarantees", [])
        ],
        effective_from=now,
        now=now,
    )
