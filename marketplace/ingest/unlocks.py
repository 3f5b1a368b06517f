"""Partner events in: unlocks (refunds and revenue pools next door), accepted into the event
log; the ledger poster (ingest/poster.py) posts them.

Every request is one transaction that writes one row per accepted event and nothing else:
when the response says `accepted`, the row is durable, and a retry after a crash answers
`duplicate` for what committed. Per request, not per event: one look-up of the ids already
seen, one of the partner's listings, episodes and split versions, one bulk insert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from babel import Locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.ingest.event_log import (
    Result,
    existing_events,
    insert_events,
    log_outcomes,
    record_rejections,
)
from marketplace.ingest.revenue import (
    VersionTerms,
    available_at_for,
    split_versions_by_series,
    version_in_force,
)
from marketplace.partners.contracts import contract_terms, hold_open_periods
from marketplace.partners.models import PartnerApp, PartnerContract
from marketplace.studio.models import (
    Episode,
    FreeEpisodesChange,
    Listing,
    ListingWindow,
    Series,
)

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far in the future an occurred_at may be (clock skew)."""

COUNTRIES = frozenset(
    code
    for code in Locale("en").territories
    if isinstance(code, str)
    and len(code) == 2
    and code.isalpha()
    and code not in {"EU", "EZ", "UN", "QO", "ZZ"}
)
"""ISO 3166-1 alpha-2 codes (from Babel's CLDR data)."""


@dataclass(slots=True)
class UnlockIn:
    """A schema-valid unlock as reported (occurred_at parsed, aware)."""

    id: str
    series_id: int
    episode: int
    amount: int
    currency: str
    occurred_at: datetime
    country: str | None = None
    viewer: str | None = None

    def digest(self) -> str:
        """The content hash telling a duplicate from a conflict."""
        moment = self.occurred_at.astimezone(UTC).isoformat()
        content = (
            f"u|{self.series_id}|{self.episode}|{self.amount}|{self.currency}|{moment}"
            f"|{self.country or ''}|{self.viewer or ''}"
        )
        return hashlib.sha256(content.encode()).hexdigest()


def rejected(event_id: str | None, code: str, message: str, field: str | None = None) -> Result:
    """A rejected event's result."""
    return {
        "id": event_id,
        "status": "rejected",
        "error": {"code": code, "message": message, "field": field},
    }


def period_closed(event_id: str, settled_through: datetime) -> Result:
    """The rejection of an event in a settlement period that is closed already."""
    return rejected(
        event_id,
        "period_closed",
        "The settlement period of occurred_at is closed (statements are final for events "
        f"before {settled_through.isoformat()}); report it to us by other means.",
        "occurred_at",
    )


def dedupe(items: list, digests: dict[int, str], kind: str, seen: dict[str, tuple]) -> list:
    """Resolve repeats: returns results with duplicates/conflicts filled in, None elsewhere.

    A repeat later in the batch is settled by settle_repeats once the first one's fate is known.
    """
    results: list[Result | None] = [None] * len(items)
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if isinstance(item, dict):
            results[index] = item
            continue
        digest = digests[index]
        earlier = seen.get(item.id)
        if earlier is not None:
            if earlier == (kind, digest):
                results[index] = {"id": item.id, "status": "duplicate"}
            else:
                results[index] = rejected(
                    item.id, "conflict", "This id was used before with other content.", "id"
                )
        elif item.id in first:
            same = digests[first[item.id]] == digest
            results[index] = (
                {"repeat_of": first[item.id]}
                if same
                else rejected(item.id, "conflict", "This id appears earlier in the batch.", "id")
            )
        else:
            first[item.id] = index
    return results


def screen_batch(
    session: Session, partner_id: int, items: list, kind: str
) -> tuple[dict[int, str], list, list[int]]:
    """Every event kind's first step: each schema-valid item's content digest, the results
    with repeats settled against the event log and the batch (dedupe), and the indexes of the
    fresh items, still to check. One look-up of the ids already seen."""
    digests = {i: item.digest() for i, item in enumerate(items) if not isinstance(item, dict)}
    ids = list({item.id for item in items if not isinstance(item, dict)})
    results = dedupe(items, digests, kind, existing_events(session, partner_id, ids))
    return digests, results, [i for i, result in enumerate(results) if result is None]


def settle_repeats(results: list[Result]) -> None:
    """An in-batch repeat with the same content answers like its first occurrence."""
    for index, result in enumerate(results):
        if "repeat_of" in result:
            original = results[result["repeat_of"]]
            if original["status"] == "rejected":
                results[index] = dict(original)
            else:
                results[index] = {"id": original["id"], "status": "duplicate"}


class LiveWindows(NamedTuple):
    """When a series was live on one partner app: (live_at, withdrawn_at or None) windows,
    the latest last; its free episodes now, and their changes (changed_at, free_before) in
    time order."""

    windows: tuple[tuple[datetime, datetime | None], ...]
    free_episodes: int
    free_changes: tuple[tuple[datetime, int], ...] = ()

    def free_at(self, moment: datetime) -> int:
        """The series' free episodes at `moment`."""
        for changed_at, free_before in self.free_changes:
            if moment < changed_at:
                return free_before
        return self.free_episodes

    def live_at(self, moment: datetime) -> bool:
        """Whether the series was live at `moment`."""
        return any(start <= moment and (end is None or moment < end) for start, end in self.windows)

    def live_during(self, start: datetime, end: datetime) -> bool:
        """Whether the series was live at some moment of [start, end)."""
        return any(
            live < end and (withdrawn is None or start < withdrawn)
            for live, withdrawn in self.windows
        )


def live_windows(session: Session, partner_id: int, series_ids: set[int]) -> dict[int, LiveWindows]:
    """series_id -> LiveWindows of this partner's listings (the earlier windows of relisted
    series included)."""
    if not series_ids:
        return {}
    rows = session.execute(
        select(
            Listing.id,
            Listing.series_id,
            Listing.live_at,
            Listing.withdrawn_at,
            Listing.status,
            Series.free_episodes,
        )
        .join(Series, Series.id == Listing.series_id)
        .where(Listing.partner_id == partner_id, Listing.series_id.in_(series_ids))
    ).all()
    earlier: dict[int, list[tuple[datetime, datetime | None]]] = {}
    if rows:
        for listing_id, live_at, withdrawn_at in session.execute(
            select(ListingWindow.listing_id, ListingWindow.live_at, ListingWindow.withdrawn_at)
            .where(ListingWindow.listing_id.in_([row[0] for row in rows]))
            .order_by(ListingWindow.live_at)
        ):
            earlier.setdefault(listing_id, []).append((live_at, withdrawn_at))
    changes: dict[int, list[tuple[datetime, int]]] = {}
    if rows:
        for series_id, changed_at, free_before in session.execute(
            select(
                FreeEpisodesChange.series_id,
                FreeEpisodesChange.changed_at,
                FreeEpisodesChange.free_before,
            )
            .where(FreeEpisodesChange.series_id.in_({row[1] for row in rows}))
            .order_by(FreeEpisodesChange.changed_at, FreeEpisodesChange.id)
        ):
            changes.setdefault(series_id, []).append((changed_at, free_before))
    window = {}
    for listing_id, series_id, live_at, withdrawn_at, status, free in rows:
        windows = earlier.get(listing_id, [])
        if not (status == "withdrawn" and withdrawn_at is None):
            windows.append((live_at, withdrawn_at))
        if windows:
            window[series_id] = LiveWindows(tuple(windows), free, tuple(changes.get(series_id, ())))
    return window


class EpisodeNumbers:
    """Which (series_id, number) pairs exist, from one small query per batch.

    A series whose episodes are numbered 1..N without gaps (the usual case) is kept as N; only a
    series with gaps has its numbers loaded.
    """

    def __init__(self, session: Session, series_ids: set[int]):
        self.last: dict[int, int] = {}
        self.sparse: dict[int, set[int]] = {}
        if not series_ids:
            return
        rows = session.execute(
            select(Episode.series_id, func.max(Episode.number), func.count())
            .where(Episode.series_id.in_(series_ids))
            .group_by(Episode.series_id)
        )
        gapped = []
        for series_id, last, count in rows:
            if last == count:
                self.last[series_id] = last
            else:
                gapped.append(series_id)
        if gapped:
            for series_id, number in session.execute(
                select(Episode.series_id, Episode.number).where(Episode.series_id.in_(gapped))
            ):
                self.sparse.setdefault(series_id, set()).add(number)

    def __contains__(self, pair: tuple[int, int]) -> bool:
        series_id, number = pair
        last = self.last.get(series_id)
        if last is not None:
            return 1 <= number <= last
        return number in self.sparse.get(series_id, ())


def check_paid_event(item, partner: PartnerApp, latest: datetime, window) -> Result | None:
    """The checks every paid event shares (unlocks, coin unlocks, sales): settlement period,
    currency, time, country, series live on the app at occurred_at."""
    if partner.settled_through is not None and item.occurred_at < partner.settled_through:
        return period_closed(item.id, partner.settled_through)
    if item.currency != partner.currency:
        return rejected(
            item.id,
            "wrong_currency",
            f"Your contract currency is {partner.currency}.",
            "currency",
        )
    if item.occurred_at > latest:
        return rejected(
            item.id,
            "occurred_in_future",
            "occurred_at is more than 5 minutes ahead.",
            "occurred_at",
        )
    if item.country is not None and item.country not in COUNTRIES:
        return rejected(item.id, "invalid_country", "Unknown ISO 3166 country.", "country")
    listing = window.get(item.series_id)
    if listing is None or not listing.live_at(item.occurred_at):
        return rejected(
            item.id,
            "series_not_live",
            "This series is not live on your app at occurred_at.",
            "series_id",
        )
    return None


def _check_unlock(
    item: UnlockIn, partner: PartnerApp, latest: datetime, window, episodes, versions
) -> Result | None:
    problem = check_paid_event(item, partner, latest, window)
    if problem is not None:
        return problem
    listing = window[item.series_id]
    if (item.series_id, item.episode) not in episodes:
        return rejected(item.id, "unknown_episode", "The series has no such episode.", "episode")
    if item.episode <= listing.free_at(item.occurred_at):
        return rejected(item.id, "free_episode", "This episode is free.", "episode")
    if version_in_force(versions[item.series_id], item.occurred_at) is None:
        return rejected(
            item.id, "no_split", "The series had no split sheet at occurred_at.", "series_id"
        )
    return None


def ingest_unlocks(
    session: Session,
    partner: PartnerApp,
    items: list,
    now: datetime | None = None,
    *,
    commit: bool = True,
) -> list[Result]:
    """Apply a batch of unlocks (UnlockIn, or results already rejected by the schema check).

    Returns one result per item, in order; commits (unless `commit` is False: a caller that
    writes more in the same transaction commits).
    """
    now = now or datetime.now(UTC)
    hold_open_periods(session, partner)  # a close of the app waits, or we wait for it
    digests, results, fresh = screen_batch(session, partner.id, items, "unlock")
    series_ids = {items[i].series_id for i in fresh}
    window = live_windows(session, partner.id, series_ids)
    episodes = EpisodeNumbers(session, set(window))
    versions = split_versions_by_series(session, set(window))
    latest = now + FUTURE_TOLERANCE
    accepted = []
    for i in fresh:
        problem = _check_unlock(items[i], partner, latest, window, episodes, versions)
        if problem is None:
            accepted.append(i)
        results[i] = problem or {"id": items[i].id, "status": "accepted"}
    # One row per unlock, and nothing else: the ledger poster posts it (ingest/poster.py). In
    # id order: two requests inserting overlapping ids wait on each other instead of
    # deadlocking; the second one then fails on the unique index and its client retries (409).
    contracts = contract_terms(session, partner)
    rows = [
        _unlock_row(partner, contracts, items[i], digests[i], versions, now)
        for i in sorted(accepted, key=lambda i: items[i].id)
    ]
    insert_events(session, rows)
    settle_repeats(results)
    record_rejections(session, partner.id, "unlock", results)
    if commit:
        session.commit()
    else:
        session.flush()
    log_outcomes(partner, "unlock", results)
    return results


def _unlock_row(
    partner: PartnerApp,
    contracts: Sequence[PartnerContract],
    item: UnlockIn,
    digest: str,
    versions: dict[int, list[VersionTerms]],
    now: datetime,
) -> tuple[object, ...]:
    version = version_in_force(versions[item.series_id], item.occurred_at)
    assert version is not None  # _check_unlock refused unlocks without a split in force
    return (
        partner.id,
        item.id,
        "unlock",
        "accepted",
        item.series_id,
        item.episode,
        item.amount,
        item.currency,
        item.occurred_at,
        item.country,
        item.viewer,
        digest,
        None,
        None,
        version.id,
        available_at_for(contracts, item.occurred_at),
        now,
    )
