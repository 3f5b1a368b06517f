"""Disputes on a report's differing lines: an admin opens one, then resolves it by accepting
the partner's figure (ingested through the normal unlock and refund services, under event ids
that name the dispute, so the split applies as to any event) or by keeping ours (with a note).
Both are audited; nothing is corrected without a dispute.

Accepting, per class:
- only_theirs (an unlock we never received): ingested as a late unlock under their own id.
- only_ours (they say it never happened): our unlock refunded now, as "dispute-<id>".
- amount, currency, content (series or episode) or date differs: their line ingested as an
  unlock "dispute-<id>", then our unlock refunded now, as "dispute-<id>-reversal".
- ours is a refund they do not have (only_ours): the refunded unlock is sold again
  ("dispute-<id>-reinstated", at our refund's moment).
- ours is a refund they have at another moment (date_differs): the unlock is sold again as
  above, then refunded at their moment ("dispute-<id>-refund").
- any other refund of theirs (another amount or content, or one we never received) is refused:
  a refund gives back a whole unlock and a report does not say which; the app reports it
  through the API.
When a moment falls in a settlement period already closed (before the app's `settled_through`),
it is booked now instead, in the open period: a closed statement is final, and the correction
is an adjustment in the next one.
Every step and the dispute's resolution commit together, in one transaction: an acceptance
the event log refuses in any step changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.audit import record_audit
from marketplace.clock import utcnow
from marketplace.errors import Conflict, NotFound, ServiceError
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.refunds import RefundIn, ingest_refunds
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.partners.models import PartnerApp
from marketplace.reconciliation.models import (
    ReconciliationDispute,
    ReconciliationLine,
    ReconciliationReport,
)

MAX_NOTE = 2000


def open_dispute(
    session: Session, line_id: int, *, actor_id: int | None, note: str = ""
) -> ReconciliationDispute:
    """Open a dispute on a differing line (one per line); audited; commits."""
    line = session.get(ReconciliationLine, line_id)
    if line is None:
        raise NotFound("No such reconciliation line.", field="line_id")
    if session.scalar(
        select(ReconciliationDispute.id).where(ReconciliationDispute.line_id == line_id)
    ):
        raise Conflict("This line has a dispute already.", field="line_id")
    dispute = ReconciliationDispute(
        line_id=line_id, note=note.strip()[:MAX_NOTE], opened_by_id=actor_id
    )
    session.add(dispute)
    session.flush()
    record_audit(
        session,
        actor_id=actor_id,
        action="reconciliation.dispute_open",
        subject_type="reconciliation_dispute",
        subject_id=dispute.id,
        reason=dispute.note,
        details={"line_id": line.id, "report_id": line.report_id, "kind": line.kind,
                 "event_id": line.event_id},
    )  # fmt: skip
    session.commit()
    return dispute


def resolve_dispute(
    session: Session,
    dispute_id: int,
    *,
    accept: bool,
    actor_id: int | None,
    note: str = "",
    now: datetime | None = None,
) -> ReconciliationDispute:
    """Resolve an open dispute: accept their figure (ingested through the normal path) or keep
    ours (a note is required); audited; commits."""
    dispute = session.get(ReconciliationDispute, dispute_id)
    if dispute is None:
        raise NotFound("No such dispute.", field="dispute_id")
    if dispute.status != "open":
        raise Conflict(f"This dispute is resolved already ({dispute.status}).")
    note = note.strip()[:MAX_NOTE]
    if not accept and not note:
        raise ServiceError("Say why ours stands: a note is required.", field="note")
    line = session.get(ReconciliationLine, dispute.line_id)
    assert line is not None
    report = session.get(ReconciliationReport, line.report_id)
    assert report is not None
    partner = session.get(PartnerApp, report.partner_id)
    assert partner is not None
    try:
        ingested = _accept(session, partner, dispute, line, now or utcnow()) if accept else []
    except ServiceError:
        session.rollback()  # nothing of an acceptance is half applied
        raise
    dispute.status = "accepted" if accept else "kept"
    dispute.ingested_event_ids = " ".join(ingested)
    dispute.resolved_by_id, dispute.resolved_at = actor_id, now or utcnow()
    dispute.resolution_note = note
    record_audit(
        session,
        actor_id=actor_id,
        action="reconciliation.accept_theirs" if accept else "reconciliation.keep_ours",
        subject_type="reconciliation_dispute",
        subject_id=dispute.id,
        reason=note,
        details={"line_id": line.id, "report_id": line.report_id, "kind": line.kind,
                 "event_id": line.event_id, "ingested": ingested},
    )  # fmt: skip
    session.commit()
    return dispute


def _accept(
    session: Session,
    partner: PartnerApp,
    dispute: ReconciliationDispute,
    line: ReconciliationLine,
    now: datetime,
) -> list[str]:
    """Ingest their figure through the unlock and refund services (nothing committed); the
    event ids written."""
    ours = session.get(PartnerEvent, line.event_row_id) if line.event_row_id else None
    if ours is not None and ours.kind not in ("unlock", "refund"):
        raise ServiceError(
            "Our event is neither an unlock nor a refund: only unlocks and refunds can be "
            "corrected; keep ours with a note.",
            code="not_correctable",
        )
    if ours is not None and ours.kind == "unlock" and ours.status != "accepted":
        raise ServiceError(
            "Our unlock was refunded already; keep ours with a note.", code="not_correctable"
        )
    theirs_refund = line.kind != "only_ours" and (line.their_amount or 0) < 0
    if line.kind != "only_ours" and (line.their_amount or 0) == 0:
        raise ServiceError(
            "Their line is zero: nothing to book; keep ours with a note.", code="not_correctable"
        )
    unlock = session.get(PartnerEvent, ours.refund_of) if ours and ours.refund_of else None
    if theirs_refund and (
        unlock is None
        or -(line.their_amount or 0) != unlock.amount
        or (line.their_series_id, line.their_episode) != (unlock.series_id, unlock.episode)
    ):
        raise ServiceError(
            "Their line is a refund that is not one of ours at another moment: a refund gives "
            "back a whole unlock, and a report does not say which; the partner app reports it "
            "through the API (POST /api/v1/refunds), or keep ours with a note.",
            code="not_correctable",
        )
    written: list[str] = []
    name = f"dispute-{dispute.id}"
    if ours is not None and unlock is not None:
        # Ours is a refund they do not have (or have at another moment): sell the unlock
        # again where ours refunded it; their refund, if any, then refunds that at theirs.
        item = UnlockIn(
            f"{name}-reinstated", int(unlock.series_id or 0), int(unlock.episode or 0),
            unlock.amount, unlock.currency, _open_moment(partner, ours.occurred_at, now),
            unlock.country,
        )  # fmt: skip
        _accepted(ingest_unlocks(session, partner, [item], now=now, commit=False))
        written.append(item.id)
        if theirs_refund:
            assert line.their_occurred_at is not None
            moment = _open_moment(partner, line.their_occurred_at, now)
            reason = f"reconciliation dispute {dispute.id}"
            refund = RefundIn(f"{name}-refund", item.id, moment, reason)
            _accepted(ingest_refunds(session, partner, [refund], now=now, commit=False))
            written.append(refund.id)
    elif line.kind != "only_ours":
        unlock_id = line.event_id if line.kind == "only_theirs" else name
        assert line.their_occurred_at is not None and line.their_currency is not None
        item = UnlockIn(
            unlock_id, int(line.their_series_id or 0), int(line.their_episode or 0),
            int(line.their_amount or 0), line.their_currency,
            _open_moment(partner, line.their_occurred_at, now),
        )  # fmt: skip
        _accepted(ingest_unlocks(session, partner, [item], now=now, commit=False))
        written.append(unlock_id)
    if ours is not None and ours.kind == "unlock":
        refund_id = name + ("-reversal" if written else "")
        refund = RefundIn(refund_id, ours.external_id, now, f"reconciliation dispute {dispute.id}")
        _accepted(ingest_refunds(session, partner, [refund], now=now, commit=False))
        written.append(refund_id)
    return written


def _open_moment(partner: PartnerApp, moment: datetime, now: datetime) -> datetime:
    """`moment`, or now when its settlement period is closed: a closed statement is final and
    the correction is an adjustment in the open period."""
    if partner.settled_through is not None and moment < partner.settled_through:
        return now
    return moment


def _accepted(results: list[dict]) -> None:
    [result] = results
    if result["status"] not in ("accepted", "duplicate"):
        error = result["error"]
        raise ServiceError(
            f"Their figure was refused by the event log: {error['message']}",
            code=error["code"],
            field=error.get("field"),
        )
