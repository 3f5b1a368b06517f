"""A series' break-even point under its revenue plan, for the creator's dashboard: how much
participants' pool, viewer revenue and how many unlocks are still needed until every
recoupment tier is repaid, and when that happens if the last 30 days' pace holds.

The conversion from pool to revenue and unlocks is the last 30 days' own (the plan's
first-stage buckets' gross and net unlocks against its waterfall bucket's pool, from the
daily rollups), so it follows the partner apps' mix and prices as they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger.rollups import ROUNDING
from ledger.schema import AllocationBucket, StatementDay
from marketplace.splits.plans import plan_in_force
from marketplace.splits.positions import plan_position, waterfall_bucket_key
from marketplace.studio.models import Series

WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class BreakEven:
    """Where a series stands against its break-even point (minor units of `currency`).

    Fields:
        currency: the plan's.
        pool, break_even, to_break_even: the pool so far, the pool at which every tier is
            repaid, and what is still needed (0 once past it).
        pool_30d, gross_30d, unlocks_30d: the last 30 days' pool, viewer revenue and unlocks
            (net of refunds) under the plan.
        revenue_needed, unlocks_needed: viewer revenue and unlocks still needed at the last
            30 days' rates (None without revenue in those days).
        projected_at: when break-even is reached at that pace (None when reached already or
            nothing came in).
    """

    currency: str
    pool: int
    break_even: int
    to_break_even: int
    pool_30d: int
    gross_30d: int
    unlocks_30d: int
    revenue_needed: int | None
    unlocks_needed: int | None
    projected_at: datetime | None


def _ceil_ratio(amount: int, numerator: int, denominator: int) -> int:
    return -(-amount * numerator // denominator)


def _window(session: Session, bucket_ids: list[int], start: datetime) -> tuple[int, int]:
    """(gross, net events) of these buckets' daily rollups since `start` (rounding aside)."""
    if not bucket_ids:
        return 0, 0
    gross, events = session.execute(
        select(
            func.coalesce(func.sum(StatementDay.gross), 0),
            func.coalesce(
                func.sum(
                    case((StatementDay.earning, StatementDay.events), else_=-StatementDay.events)
                ),
                0,
            ),
        ).where(
            StatementDay.bucket_id.in_(bucket_ids),
            StatementDay.day >= start,
            StatementDay.line_key.not_like(f'%"{ROUNDING}"]'),
        )
    ).one()
    return int(gross), int(events)


def series_break_even(session: Session, series: Series, now: datetime) -> BreakEven | None:
    """The break-even point of the plan in force now, with the 30-day projection; None
    without a plan in force."""
    plan = plan_in_force(session, series.id, now)
    if plan is None:
        return None
    position = plan_position(session, plan)
    start = now - timedelta(days=WINDOW_DAYS)
    waterfall_ids = list(
        session.scalars(
            select(AllocationBucket.id).where(
                AllocationBucket.key == waterfall_bucket_key(series.id, plan.currency, plan.id)
            )
        )
    )
    first_ids = list(
        session.scalars(
            select(AllocationBucket.id).where(
                AllocationBucket.key.like(f"series:{series.id}|%|plan:{plan.id}"),
                AllocationBucket.currency == plan.currency,
            )
        )
    )
    pool_30d, _ = _window(session, waterfall_ids, start)
    gross_30d, unlocks_30d = _window(session, first_ids, start)
    needed = position.to_break_even
    revenue_needed = unlocks_needed = None
    projected_at = None
    if pool_30d > 0:
        revenue_needed = _ceil_ratio(needed, gross_30d, pool_30d)
        unlocks_needed = _ceil_ratio(needed, max(unlocks_30d, 0), pool_30d)
        if needed > 0:
            projected_at = now + timedelta(days=WINDOW_DAYS * needed / pool_30d)
    return BreakEven(
        plan.currency,
        position.pool,
        position.break_even,
        needed,
        pool_30d,
        gross_30d,
        unlocks_30d,
        revenue_needed,
        unlocks_needed,
        projected_at,
    )
