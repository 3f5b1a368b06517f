"""Coin unlocks: a partner app reports the coins (and bonus coins) a viewer spent on an
episode; the event log keeps the coins, and the ledger poster turns them into money through
the coin position of the series' coin bucket (ingest/coin_values.py).

Checked like a cash unlock (live series, existing paid episode, split in force, ...), plus a
coin rate in force at occurred_at (`no_coin_value` otherwise). One look-up of the ids already
seen (unlocks.screen_batch, as every kind), one of listings, episodes, split versions and coin
rates, one bulk insert per request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from marketplace.ingest.event_log import (
    Result,
    insert_events,
    log_outcomes,
    record_rejections,
)
from marketplace.ingest.kinds.coin_values import coin_rates, rate_in_force
from marketplace.ingest.revenue import (
    available_at_for,
    split_versions_by_series,
    version_in_force,
)
from marketplace.ingest.unlocks import (
    FUTURE_TOLERANCE,
    EpisodeNumbers,
    UnlockIn,
    _check_unlock,
    live_windows,
    rejected,
    screen_batch,
    settle_repeats,
)
from marketplace.partners.contracts import contract_terms, hold_open_periods
from marketplace.partners.models import PartnerApp


@dataclass(slots=True)
class CoinUnlockIn:
    """A schema-valid coin unlock as reported (occurred_at parsed, aware)."""

    id: str
    series_id: int
    episode: int
    coins: int
    bonus_coins: int
    occurred_at: datetime
    country: str | None = None
    viewer: str | None = None

    def digest(self) -> str:
        """The content hash telling a duplicate from a conflict."""
        moment = self.occurred_at.astimezone(UTC).isoformat()
        content = (
            f"c|{self.series_id}|{self.episode}|{self.coins}|{self.bonus_coins}|{moment}"
            f"|{self.country or ''}|{self.viewer or ''}"
        )
        return hashlib.sha256(content.encode()).hexdigest()


def ingest_coin_unlocks(
    session: Session, partner: PartnerApp, items: list, now: datetime | None = None
) -> list[Result]:
    """Accept a batch of coin unlocks (CoinUnlockIn, or schema rejections); one result per
    item, in order; commits."""
    now = now or datetime.now(UTC)
    hold_open_periods(session, partner)  # a close of the app waits, or we wait for it
    digests, results, fresh = screen_batch(session, partner.id, items, "coins")
    window = live_windows(session, partner.id, {items[i].series_id for i in fresh})
    episodes = EpisodeNumbers(session, set(window))
    versions = split_versions_by_series(session, set(window))
    rates = coin_rates(session, partner.id) if fresh else []
    latest = now + FUTURE_TOLERANCE
    contracts = contract_terms(session, partner) if fresh else []
    rows = []
    for i in fresh:
        item = items[i]
        # Checked as a cash unlock in the contract currency (coins carry none).
        as_unlock = UnlockIn(
            item.id,
            item.series_id,
            item.episode,
            0,
            partner.currency,
            item.occurred_at,
            item.country,
            item.viewer,
        )
        problem = _check_unlock(as_unlock, partner, latest, window, episodes, versions)
        rate = rate_in_force(rates, item.occurred_at)
        if problem is None and rate is None:
            problem = rejected(
                item.id,
                "no_coin_value",
                "Your contract sets no coin value at occurred_at.",
                "occurred_at",
            )
        results[i] = problem or {"id": item.id, "status": "accepted"}
        if problem is None:
            assert rate is not None
            version = version_in_force(versions[item.series_id], item.occurred_at)
            assert version is not None
            details = {"coins": item.coins, "bonus_coins": item.bonus_coins, "rate": rate.id}
            rows.append(
                (
                    partner.id,
                    item.id,
                    "coins",
                    "accepted",
                    item.series_id,
                    item.episode,
                    0,
                    partner.currency,
                    item.occurred_at,
                    item.country,
                    item.viewer,
                    digests[i],
                    None,
                    json.dumps(details),
                    version.id,
                    available_at_for(contracts, item.occurred_at),
                    now,
                )
            )
    rows.sort(key=lambda row: row[1])  # id order: overlapping requests wait, never deadlock
    insert_events(session, rows)
    settle_repeats(results)
    record_rejections(session, partner.id, "coins", results)
    session.commit()
    log_outcomes(partner, "coins", results)
    return results
