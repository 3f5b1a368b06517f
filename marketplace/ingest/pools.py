"""Revenue pools (subscriptions, ads): shared across series pro rata to views, then split.

The pool's amount is divided among its series with largest_remainder over their view counts
(ascending series id, so ties are deterministic and the shares add up to the amount exactly)
when it is accepted; its one event log row records the shares and each series' split version
in force at period_end, and the ledger poster posts each share like an unlock, as kind
"pool", in that series' bucket. Inside a series, its share is attributed to episodes by their
views the same way (exact), for analytics.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.engine import largest_remainder
from marketplace.ingest.event_log import existing_events, insert_events, record_rejections
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.revenue import (
    split_versions_by_series,
    version_in_force,
)
from marketplace.ingest.unlocks import (
    FUTURE_TOLERANCE,
    EpisodeNumbers,
    Result,
    live_windows,
    period_closed,
    rejected,
)
from marketplace.partners.contracts import hold_open_periods
from marketplace.partners.models import PartnerApp


@dataclass(slots=True)
class PoolIn:
    """A schema-valid revenue pool as reported; views are (series_id, episode, count)."""

    id: str
    kind: str
    period_start: datetime
    period_end: datetime
    amount: int
    currency: str
    views: list[tuple[int, int, int]]

    def digest(self) -> str:
        """The content hash telling a duplicate from a conflict."""
        content = json.dumps(
            [
                "p",
                self.kind,
                self.period_start.astimezone(UTC).isoformat(),
                self.period_end.astimezone(UTC).isoformat(),
                self.amount,
                self.currency,
                sorted(self.views),
            ]
        )
        return hashlib.sha256(content.encode()).hexdigest()


log = logging.getLogger("marketplace.ingest")


def pool_shares(amount: int, views: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """[(series_id, share)] by ascending series id: largest remainder over total views."""
    counts: dict[int, int] = {}
    for series_id, _, count in views:
        counts[series_id] = counts.get(series_id, 0) + count
    series_ids = sorted(counts)
    if amount == 0 or sum(counts.values()) == 0:
        return [(sid, 0) for sid in series_ids]
    shares = largest_remainder(amount, [counts[sid] for sid in series_ids])
    return list(zip(series_ids, shares, strict=True))


def episode_shares(
    shares: list[tuple[int, int]], views: list[tuple[int, int, int]]
) -> dict[str, list[list[int]]]:
    """Each series' share attributed to its episodes by their views (largest remainder,
    ascending episode; exact: a series' episode amounts add up to its share), for analytics:
    {series id: [[episode, amount], ...]}."""
    counts: dict[int, dict[int, int]] = {}
    for series_id, episode, count in views:
        per_episode = counts.setdefault(series_id, {})
        per_episode[episode] = per_episode.get(episode, 0) + count
    attributed: dict[str, list[list[int]]] = {}
    for series_id, share in shares:
        episodes = sorted(counts.get(series_id, {}).items())
        if share == 0 or sum(count for _, count in episodes) == 0:
            continue
        amounts = largest_remainder(share, [count for _, count in episodes])
        attributed[str(series_id)] = [
            [episode, amount] for (episode, _), amount in zip(episodes, amounts, strict=True)
        ]
    return attributed


def _check_pool(session: Session, partner: PartnerApp, pool: PoolIn, now: datetime):
    """The pool's rejection, or None plus the split versions when it may be posted."""
    if partner.settled_through is not None and pool.period_end < partner.settled_through:
        return period_closed(pool.id, partner.settled_through), None
    if pool.currency != partner.currency:
        return rejected(
            pool.id,
            "wrong_currency",
            f"Your contract currency is {partner.currency}.",
            "currency",
        ), None
    if pool.period_end <= pool.period_start or pool.period_end > now + FUTURE_TOLERANCE:
        return rejected(
            pool.id,
            "invalid_period",
            "period_end must follow period_start and not be ahead.",
            "period_end",
        ), None
    series_ids = {sid for sid, _, _ in pool.views}
    window = live_windows(session, partner.id, series_ids)
    episodes = EpisodeNumbers(session, set(window))
    versions = split_versions_by_series(session, set(window))
    for index, (series_id, number, _) in enumerate(pool.views):
        listing = window.get(series_id)
        if listing is None or not listing.live_during(pool.period_start, pool.period_end):
            return rejected(
                pool.id,
                "series_not_live",
                f"Series {series_id} was not live on your app during the period.",
                f"views[{index}].series_id",
            ), None
        if (series_id, number) not in episodes:
            return rejected(
                pool.id,
                "unknown_episode",
                f"Series {series_id} has no episode {number}.",
                f"views[{index}].episode",
            ), None
        if version_in_force(versions[series_id], pool.period_end) is None:
            return rejected(
                pool.id,
                "no_split",
                f"Series {series_id} had no split sheet at period_end.",
                f"views[{index}].series_id",
            ), None
    if pool.amount > 0 and sum(count for _, _, count in pool.views) == 0:
        return rejected(pool.id, "no_views", "The views add up to zero.", "views"), None
    return None, versions


def ingest_pool(
    session: Session, partner: PartnerApp, pool: PoolIn, now: datetime | None = None
) -> Result:
    """Share one revenue pool and accept it into the event log (once per id); commits."""
    now = now or datetime.now(UTC)
    hold_open_periods(session, partner)  # a close of the app waits, or we wait for it
    digest = pool.digest()
    seen = existing_events(session, partner.id, [pool.id]).get(pool.id)
    if seen is not None:
        if seen != ("pool", digest):
            return rejected(
                pool.id, "conflict", "This id was used before with other content.", "id"
            )
        details = session.execute(
            select(PartnerEvent.details).where(
                PartnerEvent.partner_id == partner.id, PartnerEvent.external_id == pool.id
            )
        ).scalar_one()
        assert details is not None  # a pool's event always records its shares
        return {"id": pool.id, "status": "duplicate", "shares": details["shares"]}
    problem, versions = _check_pool(session, partner, pool, now)
    if problem is not None:
        record_rejections(session, partner.id, "pool", [problem])
        session.commit()
        return problem
    shares = pool_shares(pool.amount, pool.views)
    answer = [{"series_id": sid, "amount": share} for sid, share in shares]
    # Each share's split version, decided now: the poster posts the shares in those buckets.
    in_force = {sid: version_in_force(versions[sid], pool.period_end) for sid, _ in shares}
    details = {
        "kind": pool.kind,
        "period_start": pool.period_start.isoformat(),
        "shares": answer,
        "episodes": episode_shares(shares, pool.views),
        "versions": {str(sid): v.id for sid, v in in_force.items() if v is not None},
    }
    insert_events(
        session,
        [
            (
                partner.id,
                pool.id,
                "pool",
                "accepted",
                None,
                None,
                pool.amount,
                pool.currency,
                pool.period_end,
                None,
                None,
                digest,
                None,
                json.dumps(details),
                None,
                None,
                now,
            )
        ],
    )
    session.commit()
    log.info(
        "revenue pool %s from %s: %d %s over %d series",
        pool.id, partner.name, pool.amount, pool.currency, len(answer),
        extra={"partner_id": partner.id, "pool_id": pool.id},
    )
    return {"id": pool.id, "status": "accepted", "shares": answer}
