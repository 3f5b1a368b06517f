"""Closing a partner app's settlement period: its statement, from the event log and the ledger.

Periods close in order, each once (a repeat returns the statement written), and only after
their last day plus SETTLEMENT_LATE_DAYS: until then late events may still arrive. Closing
writes the statement and its lines (gross from the event log, the partner's share from the
ledger's allocations of the period, which must carry exactly the same gross: an event the
ledger poster has not posted yet makes the close wait), moves the partner's share out of its
receivable (Dr commission / Cr receivable), sets `settled_through` (ingest then refuses events
of the period with `period_closed`), applies the app's credit and releases collected money.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry
from ledger.schema import Entry, Posting
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import NotFound, ServiceError
from marketplace.ingest.models import PartnerEvent
from marketplace.partners.contracts import (
    contract_at,
    contract_terms,
    lock_for_close,
    period_bounds,
    period_label,
)
from marketplace.partners.models import PartnerApp
from marketplace.settlements.models import SettlementLine, SettlementStatement
from marketplace.settlements.payments import apply_credit
from marketplace.settlements.release import release_collected

DEFAULT_LATE_DAYS = 3
log = logging.getLogger(__name__)


class PeriodOpen(ServiceError):
    """The period may still receive late events, or an earlier one is not closed."""

    code = "period_open"
    status = 409


@dataclass(frozen=True, slots=True)
class Period:
    """A settlement period of one partner app: kind, label, [start, end) and net days."""

    kind: str
    label: str
    start: datetime
    end: datetime
    net_days: int


def late_days() -> int:
    """SETTLEMENT_LATE_DAYS (3 outside an app)."""
    try:
        return int(current_app.config["SETTLEMENT_LATE_DAYS"])
    except (RuntimeError, KeyError):
        return DEFAULT_LATE_DAYS


def period_from(session: Session, partner: PartnerApp, start: datetime) -> Period:
    """The period of the app that starts at `start` (under the contract in force then; a
    period cut short where an earlier one ended is still named after its calendar period)."""
    contract = contract_at(contract_terms(session, partner), start)
    bounds_start, end = period_bounds(contract.period, start)
    return Period(
        contract.period,
        period_label(contract.period, bounds_start),
        start,
        end,
        contract.net_days,
    )


def next_period(session: Session, partner: PartnerApp, wanted: datetime | None) -> Period | None:
    """The app's next period to close: the one after settled_through, else the one holding
    its first event (or `wanted` when it has none). None: nothing to close yet."""
    if partner.settled_through is not None:
        return period_from(session, partner, partner.settled_through)
    first = session.scalar(
        select(func.min(PartnerEvent.occurred_at)).where(PartnerEvent.partner_id == partner.id)
    )
    moment = first or wanted
    if moment is None:
        return None
    contract = contract_at(contract_terms(session, partner), moment)
    return period_from(session, partner, period_bounds(contract.period, moment)[0])


def close_period(
    session: Session,
    partner: PartnerApp,
    start: datetime,
    *,
    now: datetime | None = None,
    actor_id: int | None = None,
) -> tuple[SettlementStatement, bool]:
    """Close the app's period starting at (or holding) `start`; returns (statement, created).
    Idempotent per app and period; PeriodOpen before the cut-off or out of order. Commits."""
    now = now or utcnow()
    lock_for_close(session, partner.id)  # ingest requests of the app in flight commit first
    partner = session.scalars(
        select(PartnerApp).where(PartnerApp.id == partner.id).with_for_update()
    ).one()
    written = session.scalars(
        select(SettlementStatement).where(
            SettlementStatement.partner_id == partner.id,
            SettlementStatement.period_start <= start,
            SettlementStatement.period_end > start,
        )
    ).first()
    if written is not None:
        session.rollback()
        return written, False
    period = next_period(session, partner, start)
    assert period is not None  # `start` stands in when the app has no event
    requested = period_from(session, partner, start)
    if not period.start <= start < period.end:
        session.rollback()
        raise PeriodOpen(
            f"Periods close in order: {partner.name}'s next period to close is {period.label} "
            f"(from {period.start.date().isoformat()}), not {requested.label}.",
            field="period",
        )
    days = late_days()
    cutoff = period.end + timedelta(days=days)
    if now < cutoff:
        session.rollback()
        raise PeriodOpen(
            f"{period.label} cannot close before {cutoff.isoformat(timespec='minutes')}: its "
            f"last day is {(period.end - timedelta(days=1)).date().isoformat()}, and late events "
            f"are accepted for SETTLEMENT_LATE_DAYS ({days}) days after it; once closed, the "
            "period refuses them.",
            field="period",
        )
    statement = _write_statement(session, partner, period, now)
    partner.settled_through = period.end
    record_audit(
        session,
        actor_id=actor_id,
        action="settlement.close",
        subject_type="partner_app",
        subject_id=partner.id,
        details={
            "statement_id": statement.id,
            "period": period.label,
            "owed": statement.amount_owed,
        },
    )
    apply_credit(session, partner, statement, now)
    release_collected(session, partner, now)
    session.commit()
    return statement, True


def close_due(session: Session, now: datetime | None = None) -> list[SettlementStatement]:
    """Close every period of every active app whose cut-off has passed (the hourly job);
    returns the statements written."""
    now = now or utcnow()
    written = []
    for partner_id in session.scalars(
        select(PartnerApp.id).where(PartnerApp.active.is_(True)).order_by(PartnerApp.id)
    ):
        partner = session.get(PartnerApp, partner_id)
        assert partner is not None
        while True:
            period = next_period(session, partner, None)
            if period is None or period.end + timedelta(days=late_days()) > now:
                break
            try:
                statement, created = close_period(session, partner, period.start, now=now)
            except PeriodOpen as error:  # the poster is behind: the next run closes it
                log.warning("settlement of %s not closed: %s", partner.name, error.message)
                break
            if created:
                written.append(statement)
    return written


def _event_totals(session: Session, partner: PartnerApp, period: Period) -> dict[tuple, list[int]]:
    """Per (series, episode, country): [unlocks, unlocks gross, refunds gross, pools gross],
    from the event log."""
    lines: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    rows = session.execute(
        select(
            PartnerEvent.kind,
            PartnerEvent.series_id,
            PartnerEvent.episode,
            PartnerEvent.country,
            PartnerEvent.amount,
            PartnerEvent.details,
        ).where(
            PartnerEvent.partner_id == partner.id,
            PartnerEvent.occurred_at >= period.start,
            PartnerEvent.occurred_at < period.end,
        )
    )
    for kind, series_id, episode, country, amount, details in rows:
        if kind == "pool":
            for share in (details or {}).get("shares", []):
                if share["amount"]:
                    lines[int(share["series_id"]), None, None][3] += int(share["amount"])
            continue
        line = lines[series_id, episode, country]
        if kind == "unlock":
            line[0] += 1
            line[1] += amount
        else:
            line[2] += amount
    return lines


def _allocated(session: Session, account_id: int, period: Period) -> int:
    """The account's movement (debit +) by the allocations of the period."""
    total = session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(Entry, Entry.id == Posting.entry_id)
        .where(
            Posting.account_id == account_id,
            Posting.effective_at >= period.start,
            Posting.effective_at < period.end,
            Entry.meta["kind"].as_string() == "allocation",
        )
    )
    return int(total or 0)


def _write_statement(
    session: Session, partner: PartnerApp, period: Period, now: datetime
) -> SettlementStatement:
    lines = _event_totals(session, partner, period)
    unlocks = sum(v[0] for v in lines.values())
    unlocks_gross = sum(v[1] for v in lines.values())
    refunds_gross = sum(v[2] for v in lines.values())
    pools_gross = sum(v[3] for v in lines.values())
    gross = unlocks_gross - refunds_gross + pools_gross
    receivable = ledger_account(session, "partner_receivable", partner.currency, partner.id)
    commission = ledger_account(session, "partner_commission", partner.currency, partner.id)
    in_ledger = _allocated(session, receivable.id, period)
    if in_ledger != gross:
        session.rollback()
        raise PeriodOpen(
            f"The ledger holds {in_ledger} of the period's {gross} gross: the ledger poster "
            "has not posted every event yet. Retry in a minute.",
            field="period",
        )
    share = -_allocated(session, commission.id, period)
    statement = SettlementStatement(
        partner_id=partner.id,
        period=period.kind,
        label=period.label,
        period_start=period.start,
        period_end=period.end,
        currency=partner.currency,
        unlocks=unlocks,
        unlocks_gross=unlocks_gross,
        refunds_gross=refunds_gross,
        pools_gross=pools_gross,
        gross=gross,
        partner_share=share,
        amount_owed=gross - share,
        paid=0,
        due_at=period.end + timedelta(days=period.net_days),
        closed_at=now,
    )
    session.add(statement)
    session.flush()
    session.add_all(
        SettlementLine(
            statement_id=statement.id,
            series_id=series_id,
            episode=episode,
            country=country,
            unlocks=v[0],
            unlocks_gross=v[1],
            refunds_gross=v[2],
            pools_gross=v[3],
            gross=v[1] - v[2] + v[3],
        )
        for (series_id, episode, country), v in sorted(
            lines.items(), key=lambda item: tuple((x is None, x or 0) for x in item[0])
        )
    )
    if share:
        entry = post_entry(
            session,
            idempotency_key=f"settlement-close:{partner.id}:{period.start.isoformat()}",
            effective_at=now,
            description=f"{partner.name} keeps its share of {period.label}",
            legs=[Leg(commission.id, share), Leg(receivable.id, -share)],
            metadata={"kind": "settlement_close", "statement_id": statement.id},
            now=now,
        )
        statement.entry_id = entry.id
    return statement


def get_statement(session: Session, statement_id: int) -> SettlementStatement:
    """One statement; NotFound otherwise."""
    statement = session.get(SettlementStatement, statement_id)
    if statement is None:
        raise NotFound(f"No settlement statement {statement_id}.", field="settlement")
    return statement


def list_statements(
    session: Session, partner_id: int | None = None, limit: int = 500
) -> list[SettlementStatement]:
    """Statements newest period first (of one app if given)."""
    query = select(SettlementStatement).order_by(
        SettlementStatement.period_start.desc(), SettlementStatement.partner_id
    )
    if partner_id is not None:
        query = query.where(SettlementStatement.partner_id == partner_id)
    return list(session.scalars(query.limit(limit)))
