"""Partner refunds: each reverses one unlock in full, accepted into the event log.

The refund's row names its unlock (refund_of, unique: refunded at most once) and copies its
split version and availability; the ledger poster posts it in the unlock's bucket as an event
that gives back exactly what the unlock paid each party (docs/ledger-design.md, "What a
refund gives back"). The unlock's row is marked refunded in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from ledger.journal import is_postgresql, pg_array
from ledger.schema import UTCDateTime
from marketplace.ingest.event_log import (
    existing_events,
    insert_events,
    log_outcomes,
    record_rejections,
)
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.unlocks import (
    FUTURE_TOLERANCE,
    Result,
    dedupe,
    period_closed,
    rejected,
    settle_repeats,
)
from marketplace.partners.contracts import (
    COLLECTED_BASE,
    collected_sentinel,
    contract_at,
    contract_terms,
    period_bounds,
)
from marketplace.partners.models import PartnerApp


@dataclass(slots=True)
class RefundIn:
    """A schema-valid refund as reported."""

    id: str
    unlock_id: str
    occurred_at: datetime
    reason: str | None = None

    def digest(self) -> str:
        """The content hash telling a duplicate from a conflict."""
        moment = self.occurred_at.astimezone(UTC).isoformat()
        content = f"r|{self.unlock_id}|{moment}|{self.reason or ''}"
        return hashlib.sha256(content.encode()).hexdigest()


def refund_available_at(
    session: Session, partner: PartnerApp, unlock_available_at: datetime | None, at: datetime
) -> datetime | None:
    """A refund's availability: its unlock's, except where collected money is involved (the
    unlock's money waits on a payment, or the refund falls under a collected contract): then
    it waits on the period of the refund, whose statement carries it, so that no period
    releases more than its own statement's payments."""
    contract = contract_at(contract_terms(session, partner), at)
    waiting = unlock_available_at is not None and unlock_available_at >= COLLECTED_BASE
    if not waiting and contract.payout_policy != "collected":
        return unlock_available_at
    start, _ = period_bounds(contract.period, at)
    return collected_sentinel(partner.id, contract.period, start)


def refund_source_key(partner_id: int, event_id: str) -> str:
    """The ledger's unique key of a partner's refund event."""
    return f"refund:{partner_id}:{event_id}"


# One index probe (and row lock) per id whatever the planner's statistics say: a plain join
# on unnest is the shape with which stale statistics (a table grown since its last ANALYZE)
# flipped the dedupe look-up to hashing every event of the partner (marketplace.ingest.
# event_log.existing_events); a LATERAL subquery with LIMIT 1 can only be probed. The ids
# come sorted and are locked in that order: two refund requests on the same unlocks wait for
# each other rather than deadlock.
_UNLOCKS_PG = text(
    "SELECT i.external_id, e.id, e.status, e.amount, e.occurred_at, e.series_id, e.episode,"
    " e.currency, e.country, e.split_version_id, e.available_at"
    " FROM unnest(CAST(:ids AS text[])) WITH ORDINALITY AS i(external_id, n)"
    " CROSS JOIN LATERAL (SELECT id, status, amount, occurred_at, series_id, episode, currency,"
    " country, split_version_id, available_at FROM partner_events"
    " WHERE partner_id = :partner AND external_id = i.external_id AND kind = 'unlock'"
    " LIMIT 1 FOR UPDATE) AS e ORDER BY i.n"
).columns(occurred_at=UTCDateTime, available_at=UTCDateTime)


def _unlocks(session: Session, partner_id: int, unlock_ids: set[str]) -> dict[str, tuple]:
    """The partner's unlock rows among these ids, locked in the ids' sorted order (two refund
    requests on the same unlocks wait for each other rather than deadlock)."""
    if not unlock_ids:
        return {}
    if is_postgresql(session):
        rows = session.execute(
            _UNLOCKS_PG, {"ids": pg_array(sorted(unlock_ids)), "partner": partner_id}
        )
        return {row[0]: tuple(row[1:]) for row in rows}
    events = PartnerEvent.__table__
    rows = session.execute(
        select(
            events.c.external_id,
            events.c.id,
            events.c.status,
            events.c.amount,
            events.c.occurred_at,
            events.c.series_id,
            events.c.episode,
            events.c.currency,
            events.c.country,
            events.c.split_version_id,
            events.c.available_at,
        )
        .where(
            events.c.partner_id == partner_id,
            events.c.kind == "unlock",
            events.c.external_id.in_(unlock_ids),
        )
        .order_by(events.c.external_id)
        .with_for_update()
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def ingest_refunds(
    session: Session, partner: PartnerApp, items: list, now: datetime | None = None
) -> list[Result]:
    """Apply a batch of refunds (RefundIn, or results already rejected); commits."""
    now = now or datetime.now(UTC)
    digests = {i: item.digest() for i, item in enumerate(items) if not isinstance(item, dict)}
    ids = list({item.id for item in items if not isinstance(item, dict)})
    results = dedupe(items, digests, "refund", existing_events(session, partner.id, ids))
    fresh = [i for i, result in enumerate(results) if result is None]
    unlocks = _unlocks(session, partner.id, {items[i].unlock_id for i in fresh})
    fresh = _settle_late_repeats(session, partner, items, digests, results, fresh, unlocks)
    claimed: set[str] = set()
    accepted = []
    for i in fresh:
        item = items[i]
        unlock = unlocks.get(item.unlock_id)
        if unlock is None:
            results[i] = rejected(item.id, "unknown_unlock", "No such unlock.", "unlock_id")
        elif unlock[1] == "refunded" or item.unlock_id in claimed:
            results[i] = rejected(
                item.id, "already_refunded", "This unlock was refunded already.", "unlock_id"
            )
        elif partner.settled_through is not None and item.occurred_at < partner.settled_through:
            results[i] = period_closed(item.id, partner.settled_through)
        elif item.occurred_at > now + FUTURE_TOLERANCE:
            results[i] = rejected(
                item.id,
                "occurred_in_future",
                "occurred_at is more than 5 minutes ahead.",
                "occurred_at",
            )
        elif item.occurred_at < unlock[3]:
            results[i] = rejected(
                item.id,
                "refund_before_unlock",
                "The refund predates its unlock.",
                "occurred_at",
            )
        else:
            claimed.add(item.unlock_id)
            accepted.append(i)
            results[i] = {"id": item.id, "status": "accepted"}
    rows = []
    for i in accepted:
        item = items[i]
        (row_id, _, amount, _, series_id, episode, currency, country, version_id,
         available_at) = unlocks[item.unlock_id]  # fmt: skip
        details = json.dumps({"reason": item.reason}) if item.reason else None
        rows.append(
            (
                partner.id,
                item.id,
                "refund",
                "accepted",
                series_id,
                episode,
                amount,
                currency,
                item.occurred_at,
                country,  # the refunded unlock's: statements net it in the same country
                None,
                digests[i],
                row_id,
                details,
                version_id,  # the unlock's bucket, and its availability: the refund nets there
                refund_available_at(session, partner, available_at, item.occurred_at),
                now,
            )
        )
    insert_events(session, rows)
    if accepted:
        session.execute(
            update(PartnerEvent)
            .where(PartnerEvent.id.in_([unlocks[items[i].unlock_id][0] for i in accepted]))
            .values(status="refunded")
        )
    settle_repeats(results)
    record_rejections(session, partner.id, "refund", results)
    session.commit()
    log_outcomes(partner, "refund", results)
    return results


def _settle_late_repeats(session, partner, items, digests, results, fresh, unlocks) -> list[int]:
    """A concurrent request may have applied the same refund ids while _unlocks waited for the
    unlock rows' locks: the ids found refunded meanwhile are looked up again (a new snapshot),
    so that a repeat answers `duplicate` (or `conflict`) rather than `already_refunded`."""
    late = [
        i
        for i in fresh
        if (unlock := unlocks.get(items[i].unlock_id)) is not None and unlock[1] == "refunded"
    ]
    if not late:
        return fresh
    seen = existing_events(session, partner.id, list({items[i].id for i in late}))
    if not seen:
        return fresh
    settled = dedupe([items[i] for i in late], {n: digests[i] for n, i in enumerate(late)},
                     "refund", seen)  # fmt: skip
    for i, result in zip(late, settled, strict=True):
        if result is not None and "repeat_of" not in result:
            results[i] = result
    return [i for i in fresh if results[i] is None]
