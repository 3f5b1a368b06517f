"""Settling flat fees and minimum guarantees (ledger.allocation.guarantees) in the ledger.

The scheduler's `guarantee-dues` job (hourly) calls settle_guarantees: for each guarantee of
an active plan, the periods due by now (until a later plan version takes over), the plan's
cumulative pool and the beneficiary's share of it (the waterfall's drift-free target) give
the dues; the guarantor's earnings pay what they can (his posted balance), the rest is owed.
Each run that changes anything is one balanced entry (kind "guarantee"):
- the payment: Dr guarantor's earnings, Cr beneficiary's earnings (reversed when the dues
  fell: a minimum guarantee is recovered from her later share);
- the change in what is owed: Dr guarantee receivable (what the guarantor owes), Cr guarantee
  payable (what the beneficiary is owed), both accounts of the guarantee.
and one guarantee_runs row (cumulative), so `flask ledger check` replays every run
(check_guarantees). Dues reach the ledger with the job's next run, not with each unlock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.allocation.guarantees import Guarantee, guarantee_dues, settle
from ledger.allocation.waterfall import waterfall_target
from ledger.balances import get_balances
from ledger.posting import Leg, post_entry
from ledger.schema import Account, Posting
from marketplace.chart import ACCOUNT_KINDS, ledger_account
from marketplace.clock import utcnow
from marketplace.splits.models import GuaranteeRun, PlanGuarantee, RevenuePlan
from marketplace.splits.plans import plan_member_ids, plan_waterfall
from marketplace.splits.positions import plan_pool
from marketplace.studio.models import Episode


def whole_months(start: datetime, end: datetime) -> int:
    """Whole calendar months from start to end (0 when end is before start)."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    return max(months, 0)


def _until(session: Session, plan: RevenuePlan, now: datetime) -> datetime:
    later = session.scalar(
        select(func.min(RevenuePlan.effective_from)).where(
            RevenuePlan.series_id == plan.series_id,
            RevenuePlan.status == "active",
            RevenuePlan.effective_from > plan.effective_from,
        )
    )
    return min(now, later) if later is not None else now


def periods_due(
    session: Session, guarantee: PlanGuarantee, plan: RevenuePlan, now: datetime
) -> int:
    """How many periods of a guarantee are due by `now`: whole months since the plan took
    effect, episodes of the series released (made) by then, or 1 once the plan is in force;
    a later plan version ends the count."""
    until = _until(session, plan, now)
    if until < plan.effective_from:
        return 0
    if guarantee.period == "once":
        return 1
    if guarantee.period == "month":
        return whole_months(plan.effective_from, until)
    return int(
        session.scalar(
            select(func.count(Episode.id)).where(
                Episode.series_id == plan.series_id, Episode.created_at <= until
            )
        )
        or 0
    )


def beneficiary_share(
    session: Session,
    plan: RevenuePlan,
    member_id: int,
    pool: int,
    accounts: dict[int, int] | None = None,
) -> int:
    """A member's money from the plan's waterfall at cumulative pool `pool` (its target);
    `accounts` (member id -> earnings account id) are created when not given."""
    if accounts is None:
        accounts = {
            m: ledger_account(session, "member_earnings", plan.currency, m).id
            for m in sorted(plan_member_ids(plan) | {member_id})
        }
    waterfall = plan_waterfall(plan, accounts)
    if accounts[member_id] not in waterfall.accounts():
        return 0
    target = dict(zip(waterfall.accounts(), waterfall_target(waterfall, pool), strict=True))
    return target[accounts[member_id]]


def _last_run(session: Session, guarantee_id: int) -> GuaranteeRun | None:
    return session.scalars(
        select(GuaranteeRun)
        .where(GuaranteeRun.guarantee_id == guarantee_id)
        .order_by(GuaranteeRun.id.desc())
        .limit(1)
    ).first()


def settle_guarantee(
    session: Session, guarantee: PlanGuarantee, plan: RevenuePlan, now: datetime
) -> GuaranteeRun | None:
    """Settle one guarantee at `now` (no commit): a run and an entry when anything changed."""
    periods = periods_due(session, guarantee, plan, now)
    pool = plan_pool(session, plan)
    share = beneficiary_share(session, plan, guarantee.beneficiary_id, pool)
    terms = Guarantee(guarantee.kind, guarantee.amount, guarantee.period)
    dues = guarantee_dues(terms, periods, share)
    last = _last_run(session, guarantee.id)
    paid_before, owed_before = (last.paid, last.owed) if last else (0, 0)
    guarantor = ledger_account(session, "member_earnings", plan.currency, guarantee.guarantor_id)
    balance = get_balances(session, [guarantor.id], now)[guarantor.id].posted
    done = settle(dues, paid_before, balance)
    if last is not None and (done.dues, done.paid, done.owed) == (last.dues, last.paid, last.owed):
        return None
    if last is None and done.dues == 0:
        return None
    pay, owe = done.paid - paid_before, done.owed - owed_before
    beneficiary = ledger_account(
        session, "member_earnings", plan.currency, guarantee.beneficiary_id
    )
    receivable = ledger_account(session, "guarantee_receivable", plan.currency, guarantee.id)
    payable = ledger_account(session, "guarantee_payable", plan.currency, guarantee.id)
    legs = [
        leg
        for leg in (
            Leg(guarantor.id, pay),
            Leg(beneficiary.id, -pay),
            Leg(receivable.id, owe),
            Leg(payable.id, -owe),
        )
        if leg.amount
    ]
    run = GuaranteeRun(
        guarantee_id=guarantee.id,
        at=now,
        periods=periods,
        pool=pool,
        share=share,
        dues=done.dues,
        paid=done.paid,
        owed=done.owed,
    )
    session.add(run)
    session.flush()
    if legs:
        run.entry_id = post_entry(
            session,
            idempotency_key=f"guarantee-run:{run.id}",
            effective_at=now,
            description=f"Guarantee {guarantee.id} ({guarantee.kind}) of plan {plan.id}",
            legs=legs,
            metadata={
                "kind": "guarantee",
                "series_id": plan.series_id,
                "plan_id": plan.id,
                "guarantee_id": guarantee.id,
            },
            now=now,
        ).id
    return run


def settle_guarantees(session: Session, now: datetime | None = None) -> int:
    """Settle every guarantee of the active plans in force by `now`; commits once. Returns
    how many runs were written (the `guarantee-dues` job)."""
    now = now or utcnow()
    written = 0
    rows = session.execute(
        select(PlanGuarantee, RevenuePlan)
        .join(RevenuePlan, RevenuePlan.id == PlanGuarantee.plan_id)
        .where(RevenuePlan.status == "active", RevenuePlan.effective_from <= now)
        .order_by(PlanGuarantee.id)
    ).tuples()
    for guarantee, plan in rows.all():
        if settle_guarantee(session, guarantee, plan, now) is not None:
            written += 1
    session.commit()
    return written


def check_guarantees(session: Session) -> list[str]:
    """Replay every guarantee run: its dues from its periods and share, its share from the
    plan's pool (the drift-free target), its payments against its entries, and what is owed
    against the guarantee payable account. One sentence per mismatch."""
    problems = []
    for guarantee in session.scalars(select(PlanGuarantee).order_by(PlanGuarantee.id)):
        runs = list(
            session.scalars(
                select(GuaranteeRun)
                .where(GuaranteeRun.guarantee_id == guarantee.id)
                .order_by(GuaranteeRun.id)
            )
        )
        if runs:
            problems += _replay(session, guarantee, runs)
    return problems


def _replay(session: Session, guarantee: PlanGuarantee, runs: list[GuaranteeRun]) -> list[str]:
    """What disagrees in one guarantee's runs (read-only: no account is created)."""
    plan = session.get_one(RevenuePlan, guarantee.plan_id)
    terms = Guarantee(guarantee.kind, guarantee.amount, guarantee.period)
    members = sorted(plan_member_ids(plan) | {guarantee.beneficiary_id})
    accounts = {m: _account_id(session, "member_earnings", plan.currency, m) for m in members}
    found = {m: a for m, a in accounts.items() if a is not None}
    if len(found) != len(accounts):
        return [f"guarantee {guarantee.id}: a member of its plan has no earnings account"]
    problems = []
    for run in runs:
        share = beneficiary_share(session, plan, guarantee.beneficiary_id, run.pool, found)
        if run.share != share:
            problems.append(f"guarantee run {run.id}: the share is not the waterfall's")
        if run.dues != guarantee_dues(terms, run.periods, run.share):
            problems.append(f"guarantee run {run.id}: the dues do not replay")
    entries = [r.entry_id for r in runs]
    paid = _credited(session, entries, found[guarantee.beneficiary_id])
    if paid != runs[-1].paid:
        problems.append(f"guarantee {guarantee.id}: its entries paid {paid}")
    payable = _account_id(session, "guarantee_payable", plan.currency, guarantee.id)
    owed = _credited(session, entries, payable) if payable is not None else 0
    if owed != runs[-1].owed:
        problems.append(f"guarantee {guarantee.id}: its payable holds {owed}")
    return problems


def _account_id(session: Session, kind: str, currency: str, owner_id: int) -> int | None:
    """An existing account of the chart, or None (never creates one)."""
    owner_type, purpose, _, _ = ACCOUNT_KINDS[kind]
    return session.scalar(
        select(Account.id).where(
            Account.owner_type == owner_type,
            Account.owner_id == str(owner_id),
            Account.purpose == purpose,
            Account.currency == currency,
        )
    )


def _credited(session: Session, entry_ids: list[int | None], account_id: int) -> int:
    wanted = [e for e in entry_ids if e is not None]
    if not wanted:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(
            Posting.entry_id.in_(wanted), Posting.account_id == account_id
        )
    )
    return -int(total or 0)
