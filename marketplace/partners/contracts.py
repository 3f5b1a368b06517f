"""Partner contracts: versioned terms (future-only), settlement periods, and when participants'
money from an event becomes available under the version in force.

Under `advance` an event's participants' money is available `hold_days` after it occurred.
Under `collected` it waits on a far-future moment proper to the (partner, period),
`collected_sentinel`: the ledger keeps it pending there, and the settlement feature releases
it as the app pays the period's statement (marketplace.settlements.release).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.clock import utcnow
from marketplace.errors import NotFound, ServiceError
from marketplace.partners.models import PERIODS, POLICIES, PartnerApp, PartnerContract

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Version 1 of every contract is in force from here (events may be back-dated)."""
COLLECTED_BASE = datetime(2500, 1, 1, tzinfo=UTC)
"""Collected money waits at COLLECTED_BASE + (partner id * 10,000 + period index) hours:
hour-aligned (the ledger ceils availability to the hour), one per partner and period, for
partner ids up to about 6,500."""
_WEEK_ZERO = date(2000, 1, 3)  # a Monday
COLLECTED_MAX_PARTNER_ID = (datetime.max.replace(tzinfo=UTC) - COLLECTED_BASE) // timedelta(
    hours=10_000
) - 1
"""The last partner id whose collected-money moments fit before year 9999 (6,573): a contract
version with the collected policy is refused above it, with a clear error, rather than failing
at the first unlock."""
SETTLEMENT_LOCK = 15_001
"""PostgreSQL advisory lock namespace of settlement closes (key: namespace, partner id)."""


def period_bounds(period: str, at: datetime) -> tuple[datetime, datetime]:
    """The [start, end) of the settlement period (monthly or weekly, UTC) holding `at`."""
    at = at.astimezone(UTC)
    if period == "weekly":
        day = at.date() - timedelta(days=at.weekday())
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=7)
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    end = datetime(at.year + (at.month == 12), at.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_label(period: str, start: datetime) -> str:
    """How a period is named: 2026-11 (a month) or 2026-W47 (an ISO week)."""
    if period == "weekly":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


def parse_period(text: str) -> tuple[str, datetime]:
    """("monthly"|"weekly", start) of a label like 2026-11 or 2026-W47; ServiceError if not."""
    text = text.strip()
    try:
        if "-W" in text:
            year, week = text.split("-W")
            day = date.fromisocalendar(int(year), int(week), 1)
            return "weekly", datetime(day.year, day.month, day.day, tzinfo=UTC)
        year, month = text.split("-")
        return "monthly", datetime(int(year), int(month), 1, tzinfo=UTC)
    except ValueError:
        raise ServiceError(
            f"{text!r} is not a period: write 2026-11 (a month) or 2026-W47 (a week).",
            field="period",
        ) from None


def collected_sentinel(partner_id: int, period: str, start: datetime) -> datetime:
    """The far-future availability of collected money of one partner and period."""
    if period == "weekly":
        index = 5000 + (start.date() - _WEEK_ZERO).days // 7
    else:
        index = (start.year - 2000) * 12 + start.month - 1
    return COLLECTED_BASE + timedelta(hours=partner_id * 10_000 + index)


def hold_open_periods(session: Session, partner: PartnerApp) -> datetime | None:
    """Ingest's side of the close lock: wait for a close of the app in progress, keep any
    new one waiting until this transaction ends, and return `settled_through` as committed
    now (also set on `partner`). Events before it belong to closed periods: refused.

    PostgreSQL: a shared advisory lock per app (ingest requests do not wait on each other;
    a close takes it exclusively, lock_for_close). SQLite has a single writer anyway."""
    query = select(PartnerApp.settled_through).where(PartnerApp.id == partner.id)
    if session.get_bind().dialect.name == "postgresql":
        lock = func.pg_advisory_xact_lock_shared(SETTLEMENT_LOCK, partner.id)
        query = query.add_columns(lock)
    value = session.execute(query).first()
    settled = value[0] if value is not None else partner.settled_through
    set_committed_value(partner, "settled_through", settled)
    return settled


def lock_for_close(session: Session, partner_id: int) -> None:
    """A close's side: wait for every ingest request of the app in progress to commit, and
    keep new ones waiting until the close commits (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SETTLEMENT_LOCK, partner_id)))


def contracts_of(session: Session, partner_id: int) -> list[PartnerContract]:
    """Every contract version of a partner app, newest effective first."""
    return list(
        session.scalars(
            select(PartnerContract)
            .where(PartnerContract.partner_id == partner_id)
            .order_by(PartnerContract.effective_from.desc(), PartnerContract.number.desc())
        )
    )


def contract_terms(session: Session, partner: PartnerApp) -> list[PartnerContract]:
    """The app's contract versions newest first; an app made without any (rows written
    directly) reads as one version 1 from its own columns, never stored."""
    return contracts_of(session, partner.id) or [first_contract(partner)]


def contract_at(contracts: Sequence[PartnerContract], at: datetime) -> PartnerContract:
    """From versions newest first, the one in force at `at` (the first before any)."""
    for contract in contracts:
        if contract.effective_from <= at:
            return contract
    if not contracts:
        raise LookupError("a partner app without a contract")
    return contracts[-1]


def available_at_under(contract: PartnerContract, occurred_at: datetime) -> datetime:
    """When participants' money of an event becomes available under this contract version."""
    if contract.payout_policy == "collected":
        start, _ = period_bounds(contract.period, occurred_at)
        return collected_sentinel(contract.partner_id, contract.period, start)
    return occurred_at + timedelta(days=contract.hold_days)


def first_contract(partner: PartnerApp) -> PartnerContract:
    """Version 1 for a new partner app: its terms, advance, monthly, net 30."""
    return PartnerContract(
        partner_id=partner.id,
        number=1,
        effective_from=EPOCH,
        share_bps=partner.share_bps,
        hold_days=partner.hold_days,
        currency=partner.currency,
        period="monthly",
        net_days=30,
        payout_policy="advance",
    )


def add_contract_version(
    session: Session,
    partner: PartnerApp,
    *,
    effective_from: datetime,
    share_bps: int | None = None,
    hold_days: int | None = None,
    period: str | None = None,
    net_days: int | None = None,
    payout_policy: str | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> PartnerContract:
    """A new contract version taking effect in the future (after `now` and after every
    version so far); terms not given stay as in the latest version. Audit-logged; commits."""
    now = now or utcnow()
    versions = contracts_of(session, partner.id)
    latest = max(versions, key=lambda c: c.number)
    if effective_from.tzinfo is None:
        raise ServiceError("Give effective_from with a time zone.", field="effective_from")
    if effective_from <= now:
        raise ServiceError(
            "A new contract version takes effect in the future, never in the past: "
            f"give a moment after {now.isoformat(timespec='seconds')}.",
            field="effective_from",
        )
    if effective_from <= versions[0].effective_from:
        raise ServiceError(
            f"Version {versions[0].number} takes effect "
            f"{versions[0].effective_from.isoformat()}; a new one must start later.",
            field="effective_from",
        )
    contract = PartnerContract(
        partner_id=partner.id,
        number=latest.number + 1,
        effective_from=effective_from,
        share_bps=latest.share_bps if share_bps is None else share_bps,
        hold_days=latest.hold_days if hold_days is None else hold_days,
        currency=latest.currency,
        period=period or latest.period,
        net_days=latest.net_days if net_days is None else net_days,
        payout_policy=payout_policy or latest.payout_policy,
        created_by_id=actor.id if actor else None,
    )
    _check(contract)
    session.add(contract)
    session.flush()
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="partner.contract",
        subject_type="partner_app",
        subject_id=partner.id,
        details={
            "number": contract.number,
            "effective_from": effective_from.isoformat(),
            "share_bps": contract.share_bps,
            "hold_days": contract.hold_days,
            "period": contract.period,
            "net_days": contract.net_days,
            "payout_policy": contract.payout_policy,
        },
    )
    session.commit()
    return contract


def _check(contract: PartnerContract) -> None:
    if not 0 <= contract.share_bps <= 10_000:
        raise ServiceError("The partner's share is 0 to 10000 basis points.", field="share_bps")
    if not 0 <= contract.hold_days <= 365:
        raise ServiceError("The hold is 0 to 365 days.", field="hold_days")
    if not 0 <= contract.net_days <= 365:
        raise ServiceError("Payment terms are net 0 to 365 days.", field="net_days")
    if contract.period not in PERIODS:
        raise ServiceError("The period is monthly or weekly.", field="period")
    if contract.payout_policy not in POLICIES:
        raise ServiceError("The payout policy is advance or collected.", field="payout_policy")
    if contract.payout_policy == "collected" and contract.partner_id > COLLECTED_MAX_PARTNER_ID:
        raise ServiceError(
            "The collected payout policy is not available to this partner app yet (the ledger "
            "holds collected money for the first 6,573 apps only); keep advance.",
            field="payout_policy",
        )


def partner_named(session: Session, name: str) -> PartnerApp:
    """The partner app of this name; NotFound otherwise."""
    partner = session.scalar(select(PartnerApp).where(PartnerApp.name == name))
    if partner is None:
        raise NotFound(f"No partner app named {name!r}.", field="partner")
    return partner


def sync_partner_terms(session: Session, now: datetime | None = None) -> int:
    """Copy each app's contract version in force into its share_bps and hold_days (what
    pages show); returns how many apps changed. The caller commits."""
    now = now or utcnow()
    changed = 0
    for partner in session.scalars(select(PartnerApp)):
        current = contract_at(contracts_of(session, partner.id), now)
        if (partner.share_bps, partner.hold_days) != (current.share_bps, current.hold_days):
            partner.share_bps, partner.hold_days = current.share_bps, current.hold_days
            changed += 1
    return changed
