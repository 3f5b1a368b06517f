"""Reconciling a partner's report: stage its lines, match them set-based against the event
log, keep the differing lines and the counts per class.

Classes (a line counts in one only, in this order): only_theirs (no event of ours has its id),
currency_differs, amount_differs, content_differs (series or episode differs), date_differs
(occurred_at differs, even outside the period), else matched. only_ours: our unlocks and
refunds of the partner and period (calendar month in UTC of occurred_at; pools excluded) whose
id the report does not hold. A refund's amount is negative on both sides. An id that is not
the partner's but another partner's refuses the whole report (ReportRejected): a partner
reconciles its own events only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import (
    Integer,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session

from ledger.journal import copy_text, is_postgresql
from marketplace.audit import record_audit
from marketplace.ingest.models import PartnerEvent
from marketplace.partners.models import PartnerApp
from marketplace.reconciliation.models import (
    LINE_KINDS,
    ReconciliationLine,
    ReconciliationReport,
    StagedLine,
)
from marketplace.reconciliation.parsing import ReportReader, ReportRejected, StagedRow

_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_STAGE_COLUMNS = "report_id, line_no, event_id, series_id, episode, amount, currency, occurred_at"
SOURCES = ("api", "web", "cli")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a calendar month "YYYY-MM"; ReportRejected if malformed."""
    found = _PERIOD.fullmatch(period or "")
    if found is None:
        raise ReportRejected("The period is a calendar month: YYYY-MM.", field="period")
    year, month = int(found.group(1)), int(found.group(2))
    if not 2000 <= year <= 2999:
        raise ReportRejected("The period's year is out of range.", field="period")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def reconcile_report(
    session: Session,
    partner: PartnerApp,
    period: str,
    raw: IO[bytes],
    *,
    limit: int,
    source: str,
    filename: str = "",
    actor_id: int | None = None,
) -> ReconciliationReport:
    """Reconcile a partner's CSV report of a period against the event log; commits.

    Bad input raises ReportRejected (a ServiceError) and stores nothing."""
    start, end = period_bounds(period)
    assert source in SOURCES
    reader = ReportReader(raw, limit)
    with session.begin_nested():
        report = ReconciliationReport(
            partner_id=partner.id,
            period=period,
            source=source,
            filename=filename[:200],
            uploaded_by_id=actor_id,
        )
        session.add(report)
        session.flush()
        lines = 0
        for chunk in reader.chunks():
            _stage(session, report.id, chunk)
            lines += len(chunk)
        report.lines, report.size = lines, reader.size
        _refuse_duplicates(session, report.id)
        _keep_differences(session, report.id, partner.id, start, end)
        _refuse_other_partners(session, report.id, partner.id)
        _count(session, report)
        session.execute(delete(StagedLine).where(StagedLine.report_id == report.id))
        record_audit(
            session,
            actor_id=actor_id,
            action="reconciliation.report",
            subject_type="reconciliation_report",
            subject_id=report.id,
            details={"partner_id": partner.id, "period": period, "source": source,
                     "lines": lines, "counts": report.counts()},
        )  # fmt: skip
    session.commit()
    return report


def _stage(session: Session, report_id: int, chunk: list[StagedRow]) -> None:
    if is_postgresql(session):
        copy_text(session, "reconciliation_staging", _STAGE_COLUMNS, _copy_lines(report_id, chunk))
        return
    session.execute(
        insert(StagedLine),
        [
            {"report_id": report_id, "line_no": r[0], "event_id": r[1], "series_id": r[2],
             "episode": r[3], "amount": r[4], "currency": r[5], "occurred_at": r[6]}
            for r in chunk
        ],
    )  # fmt: skip


_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_lines(report_id: int, chunk: list[StagedRow]) -> str:
    """COPY text of staged rows: only the event id is text from outside (escaped); the
    rest are integers, a checked currency code and ISO times."""
    return "".join(
        [
            f"{report_id}\t{line_no}\t{event_id.translate(_COPY_SPECIAL)}\t{series}\t{episode}"
            f"\t{amount}\t{currency}\t{moment.isoformat()}\n"
            for line_no, event_id, series, episode, amount, currency, moment in chunk
        ]
    )


def _refuse_duplicates(session: Session, report_id: int) -> None:
    staged = StagedLine.__table__
    repeated = session.execute(
        select(staged.c.event_id, func.min(staged.c.line_no), func.max(staged.c.line_no))
        .where(staged.c.report_id == report_id)
        .group_by(staged.c.event_id)
        .having(func.count() > 1)
        .limit(5)
    ).all()
    if repeated:
        named = "; ".join(f"{r[0][:64]!r} on lines {r[1]} and {r[2]}" for r in repeated)
        raise ReportRejected(f"Event ids appear more than once: {named}.", field="event_id")


def _signed_amount(events):
    return case((events.c.kind == "refund", -events.c.amount), else_=events.c.amount)


def _keep_differences(
    session: Session, report_id: int, partner_id: int, start: datetime, end: datetime
) -> None:
    """Insert the report's differing lines (theirs joined to ours) and our lines missing from
    it, in two INSERT ... SELECT statements."""
    staged, events = StagedLine.__table__, PartnerEvent.__table__
    ours = _signed_amount(events)
    content_differs = or_(
        staged.c.series_id.is_distinct_from(events.c.series_id),
        staged.c.episode.is_distinct_from(events.c.episode),
    )
    kind = case(
        (events.c.id.is_(None), "only_theirs"),
        (staged.c.currency != events.c.currency, "currency_differs"),
        (staged.c.amount != ours, "amount_differs"),
        (content_differs, "content_differs"),
        else_="date_differs",
    )
    columns = [
        "report_id",
        "kind",
        "event_id",
        "line_no",
        "event_row_id",
        "their_series_id",
        "their_episode",
        "their_amount",
        "their_currency",
        "their_occurred_at",
        "our_series_id",
        "our_episode",
        "our_amount",
        "our_currency",
        "our_occurred_at",
    ]
    theirs = (
        select(
            literal(report_id, Integer),
            kind,
            staged.c.event_id,
            staged.c.line_no,
            events.c.id,
            staged.c.series_id,
            staged.c.episode,
            staged.c.amount,
            staged.c.currency,
            staged.c.occurred_at,
            events.c.series_id,
            events.c.episode,
            ours,
            events.c.currency,
            events.c.occurred_at,
        )
        .select_from(
            staged.outerjoin(
                events,
                and_(events.c.partner_id == partner_id, events.c.external_id == staged.c.event_id),
            )
        )
        .where(
            staged.c.report_id == report_id,
            or_(
                events.c.id.is_(None),
                staged.c.currency != events.c.currency,
                staged.c.amount != ours,
                content_differs,
                staged.c.occurred_at != events.c.occurred_at,
            ),
        )
    )
    lines = ReconciliationLine.__table__
    session.execute(insert(lines).from_select(columns, theirs))
    in_report = exists().where(
        staged.c.report_id == report_id, staged.c.event_id == events.c.external_id
    )
    only_ours = select(
        literal(report_id, Integer),
        literal("only_ours"),
        events.c.external_id,
        literal(None, Integer),
        events.c.id,
        *[null()] * 5,
        events.c.series_id,
        events.c.episode,
        ours,
        events.c.currency,
        events.c.occurred_at,
    ).where(
        events.c.partner_id == partner_id,
        events.c.kind.in_(("unlock", "refund")),
        events.c.occurred_at >= start,
        events.c.occurred_at < end,
        ~in_report,
    )
    session.execute(insert(lines).from_select(columns, only_ours))


def _refuse_other_partners(session: Session, report_id: int, partner_id: int) -> None:
    """Refuse the report if an id only in theirs is another partner app's event. Probed per
    other partner app through the (partner_id, external_id) index: partner_events has no index
    on the id alone, and a scan of it per line would grow with lines x events."""
    lines, events, apps = (
        ReconciliationLine.__table__,
        PartnerEvent.__table__,
        PartnerApp.__table__,
    )
    foreign = session.scalars(
        select(lines.c.event_id)
        .where(
            lines.c.report_id == report_id,
            lines.c.kind == "only_theirs",
            exists()
            .select_from(apps.join(events, events.c.partner_id == apps.c.id))
            .where(apps.c.id != partner_id, events.c.external_id == lines.c.event_id),
        )
        .order_by(lines.c.line_no)
        .limit(5)
    ).all()
    if foreign:
        named = ", ".join(repr(event_id) for event_id in foreign)
        raise ReportRejected(
            f"The report holds events of another partner app ({named}); a report may hold "
            "only your own events.",
            field="event_id",
        )


def _count(session: Session, report: ReconciliationReport) -> None:
    lines = ReconciliationLine.__table__
    counts: dict[str, int] = {
        kind: count
        for kind, count in session.execute(
            select(lines.c.kind, func.count())
            .where(lines.c.report_id == report.id)
            .group_by(lines.c.kind)
        )
    }
    for kind in LINE_KINDS:
        setattr(report, kind, counts.get(kind, 0))
    theirs_differing = sum(counts.get(k, 0) for k in LINE_KINDS if k != "only_ours")
    report.matched = report.lines - theirs_differing
