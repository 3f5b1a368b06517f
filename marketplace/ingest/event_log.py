"""The partner event log: which event ids a partner app has used (accepted or rejected), the
rows of accepted events, and what became of an id (GET /events/{id}).

One look-up and one bulk insert per request; shared by the unlock, refund and pool endpoints.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.journal import copy_rows, is_postgresql, pg_array
from marketplace.ingest.models import PartnerEvent, PartnerEventRejection
from marketplace.ingest.poster import entries_of, is_posted
from marketplace.partners.models import PartnerApp

Result = dict[str, Any]
"""One event's answer in a batch response (id, status, error)."""

log = logging.getLogger("marketplace.ingest")


def log_outcomes(partner: PartnerApp, kind: str, results: list[Result]) -> None:
    """One log line per batch: how many events were accepted, duplicate and rejected, and the
    rejection codes (never the events themselves)."""
    statuses = Counter(result["status"] for result in results)
    codes = Counter(r["error"]["code"] for r in results if r["status"] == "rejected")
    log.info(
        "%s batch from %s: %d accepted, %d duplicate, %d rejected",
        kind,
        partner.name,
        statuses["accepted"],
        statuses["duplicate"],
        statuses["rejected"],
        extra={"partner_id": partner.id, "kind": kind, "outcomes": dict(statuses),
               "rejections": dict(codes)},
    )


def _insert(session: Session):
    return (postgresql if is_postgresql(session) else sqlite).insert


def existing_events(session: Session, partner_id: int, ids: list[str]) -> dict[str, tuple]:
    """(kind, content_hash) of the partner's accepted events among these ids (one query)."""
    if not ids:
        return {}
    if is_postgresql(session):
        # One index probe per id whatever the planner's statistics say: with `= ANY(array)`,
        # and even with a plain join on unnest, stale statistics (a table that grew since its
        # last ANALYZE) flip PostgreSQL to hashing every event of the partner, seconds per
        # request at 500,000 events; a LATERAL subquery with LIMIT 1 can only be probed.
        rows = session.execute(
            text(
                "SELECT i.external_id, e.kind, e.content_hash"
                " FROM unnest(CAST(:ids AS text[])) AS i(external_id)"
                " CROSS JOIN LATERAL (SELECT kind, content_hash FROM partner_events"
                " WHERE partner_id = :partner AND external_id = i.external_id LIMIT 1) AS e"
            ),
            {"ids": pg_array(ids), "partner": partner_id},
        )
    else:
        events = PartnerEvent.__table__
        rows = session.execute(
            select(events.c.external_id, events.c.kind, events.c.content_hash).where(
                events.c.partner_id == partner_id, events.c.external_id.in_(ids)
            )
        )
    return {row[0]: (row[1], row[2]) for row in rows}


_EVENT_COLUMNS = (
    "partner_id",
    "external_id",
    "kind",
    "status",
    "series_id",
    "episode",
    "amount",
    "currency",
    "occurred_at",
    "country",
    "viewer",
    "content_hash",
    "refund_of",
    "details",
    "split_version_id",
    "available_at",
    "created_at",
)


def insert_events(session: Session, rows: list[tuple]) -> None:
    """Bulk-insert partner event rows (tuples in _EVENT_COLUMNS order; details as JSON text)."""
    if not rows:
        return
    if is_postgresql(session):
        copy_rows(session, "partner_events", ", ".join(_EVENT_COLUMNS), rows)
        return
    import json

    records = [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows]
    for record in records:
        if record["details"] is not None:
            record["details"] = json.loads(record["details"])
    session.execute(insert(PartnerEvent.__table__), records)


def record_rejections(session: Session, partner_id: int, kind: str, results: list) -> None:
    """Remember the latest rejection of each rejected id (for GET /events/{id})."""
    latest: dict[str, dict] = {}
    for result in results:
        if result["status"] == "rejected" and isinstance(result.get("id"), str):
            latest[result["id"]] = result["error"]
    if not latest:
        return
    table = PartnerEventRejection.__table__
    stmt = _insert(session)(table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["partner_id", "external_id"],
            set_={
                "kind": stmt.excluded.kind,
                "code": stmt.excluded.code,
                "message": stmt.excluded.message,
                "field": stmt.excluded.field,
                "rejected_at": stmt.excluded.rejected_at,
            },
        ),
        [
            {
                "partner_id": partner_id,
                "external_id": event_id[:64],
                "kind": kind,
                "code": error["code"],
                "message": error["message"],
                "field": error.get("field"),
                "rejected_at": datetime.now(UTC),
            }
            for event_id, error in latest.items()
        ],
    )


def event_status(session: Session, partner: PartnerApp, external_id: str) -> Result | None:
    """What became of one of the partner's event ids (accepted, refunded, rejected), or None."""
    event = session.scalars(
        select(PartnerEvent).where(
            PartnerEvent.partner_id == partner.id, PartnerEvent.external_id == external_id
        )
    ).first()
    if event is None:
        rejection = session.scalars(
            select(PartnerEventRejection).where(
                PartnerEventRejection.partner_id == partner.id,
                PartnerEventRejection.external_id == external_id,
            )
        ).first()
        if rejection is None:
            return None
        return {
            "id": external_id,
            "kind": rejection.kind,
            "status": "rejected",
            "error": {
                "code": rejection.code,
                "message": rejection.message,
                "field": rejection.field,
            },
            "recorded_at": rejection.rejected_at.isoformat(),
        }
    answer: dict[str, Any] = {
        "id": external_id,
        "kind": event.kind,
        "status": event.status,
        "series_id": event.series_id,
        "episode": event.episode,
        "amount": event.amount,
        "currency": event.currency,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.created_at.isoformat(),
    }
    # The ledger's side: "accepted" until the poster has posted it, then "posted" with the
    # entries carrying its money.
    posted = is_posted(session, event)
    answer["ledger"] = {
        "status": "posted" if posted else "accepted",
        "entry_ids": entries_of(session, event) if posted else [],
    }
    if event.kind == "coins" and event.details:  # its money is decided when it is posted
        answer["coins"] = event.details.get("coins")
        answer["bonus_coins"] = event.details.get("bonus_coins")
    if event.kind == "unlock":
        answer["refund_id"] = session.scalar(
            select(PartnerEvent.external_id).where(PartnerEvent.refund_of == event.id)
        )
    elif event.kind == "refund":
        answer["unlock_id"] = session.scalar(
            select(PartnerEvent.external_id).where(PartnerEvent.id == event.refund_of)
        )
    return answer
