"""Bundles and purchases in: a series or an episode range bought at once, and in-story commerce
(a product tied to a series and episode), accepted into the event log; the ledger poster posts
them (ingest/sale_kinds.py).

A bundle's price goes to the series' bucket like an unlock; each covered episode gets an
attributed share for analytics (largest remainder, exact), kept in the event's details. A
purchase carries the platform's commission, which is what reaches the ledger, split by the
series' commerce split in force (splits/commerce.py) or else its main split. One look-up of
the ids, one of listings, episodes, splits (and members), one bulk insert per request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.engine import largest_remainder
from marketplace.ingest.event_log import (
    Result,
    insert_events,
    log_outcomes,
    record_rejections,
)
from marketplace.ingest.revenue import (
    available_at_for,
    split_versions_by_series,
    version_in_force,
)
from marketplace.ingest.unlocks import (
    FUTURE_TOLERANCE,
    EpisodeNumbers,
    check_paid_event,
    live_windows,
    rejected,
    screen_batch,
    settle_repeats,
)
from marketplace.partners.contracts import contract_terms, hold_open_periods
from marketplace.partners.models import PartnerApp, PartnerContract
from marketplace.splits.models import TeamMember
from marketplace.splits.terms.commerce import commerce_splits_by_series


@dataclass(slots=True)
class BundleIn:
    """A schema-valid bundle sale: episodes first..last (None: the whole series)."""

    id: str
    series_id: int
    first: int | None
    last: int | None
    amount: int
    currency: str
    occurred_at: datetime
    country: str | None = None
    viewer: str | None = None

    def digest(self) -> str:
        """The content hash telling a duplicate from a conflict."""
        moment = self.occurred_at.astimezone(UTC).isoformat()
        content = (
            f"b|{self.series_id}|{self.first}|{self.last}|{self.amount}|{self.currency}"
            f"|{moment}|{self.country or ''}|{self.viewer or ''}"
        )
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(slots=True)
class PurchaseIn:
    """A schema-valid purchase: price and commission in minor units (commission None: not
    reported), the members featured with the product."""

    id: str
    series_id: int
    episode: int
    product: str
    price: int
    commission: int | None
    currency: str
    occurred_at: datetime
    country: str | None = None
    featured: tuple[int, ...] = ()

    def digest(self) -> str:
        """The content hash telling a duplicate from a conflict."""
        moment = self.occurred_at.astimezone(UTC).isoformat()
        content = json.dumps(
            [
                "s",
                self.series_id,
                self.episode,
                self.product,
                self.price,
                self.commission,
                self.currency,
                moment,
                self.country,
                sorted(self.featured),
            ]
        )
        return hashlib.sha256(content.encode()).hexdigest()


def _check_sale(item, partner: PartnerApp, latest: datetime, window, versions) -> Result | None:
    """The checks every sale shares: settlement period, currency, time, country, live series,
    split in force."""
    problem = check_paid_event(item, partner, latest, window)
    if problem is not None:
        return problem
    if version_in_force(versions[item.series_id], item.occurred_at) is None:
        return rejected(
            item.id, "no_split", "The series had no split sheet at occurred_at.", "series_id"
        )
    return None


def _accept(
    session: Session, partner: PartnerApp, kind: str, items: list, check, row_of, now: datetime
) -> list[Result]:
    """The shared batch flow: dedupe, check each fresh item, insert the rows, commit."""
    hold_open_periods(session, partner)  # a close of the app waits, or we wait for it
    digests, results, fresh = screen_batch(session, partner.id, items, kind)
    context = check.load(session, partner, [items[i] for i in fresh])
    rows = []
    for i in fresh:
        problem = check(context, items[i], now + FUTURE_TOLERANCE)
        results[i] = problem or {"id": items[i].id, "status": "accepted"}
        if problem is None:
            rows.append(row_of(context, items[i], digests[i], now))
    rows.sort(key=lambda row: row[1])  # id order: overlapping requests wait, never deadlock
    insert_events(session, rows)
    settle_repeats(results)
    record_rejections(session, partner.id, kind, results)
    session.commit()
    log_outcomes(partner, kind, results)
    return results


@dataclass
class _Context:
    partner: PartnerApp
    window: dict
    episodes: EpisodeNumbers
    versions: dict
    commerce: dict
    members: dict[int, set[int]]
    contracts: Sequence[PartnerContract]


class _BundleCheck:
    @staticmethod
    def load(session: Session, partner: PartnerApp, items: list) -> _Context:
        window = live_windows(session, partner.id, {item.series_id for item in items})
        return _Context(
            partner,
            window,
            EpisodeNumbers(session, set(window)),
            split_versions_by_series(session, set(window)),
            {},
            {},
            contract_terms(session, partner),
        )

    def __call__(self, context: _Context, item: BundleIn, latest: datetime) -> Result | None:
        problem = _check_sale(item, context.partner, latest, context.window, context.versions)
        if problem is not None:
            return problem
        first, last = bundle_range(item, context.episodes)
        if last < first:
            return rejected(
                item.id, "invalid_range", "last_episode precedes first_episode.", "last_episode"
            )
        missing = [n for n in range(first, last + 1) if (item.series_id, n) not in context.episodes]
        if missing:
            return rejected(
                item.id,
                "unknown_episode",
                f"The series has no episode {missing[0]} (of {first}-{last}).",
                "last_episode",
            )
        return None


def bundle_range(item: BundleIn, episodes: EpisodeNumbers) -> tuple[int, int]:
    """The episodes a bundle covers (the whole series when no range is given)."""
    numbered = episodes.last.get(item.series_id) or max(
        episodes.sparse.get(item.series_id, {0}), default=0
    )
    return item.first or 1, item.last or numbered


def attribute(amount: int, first: int, last: int) -> list[int]:
    """A bundle's price per covered episode: equal shares, largest remainder (exact)."""
    return largest_remainder(amount, [1] * (last - first + 1))


def _bundle_row(context: _Context, item: BundleIn, digest: str, now: datetime) -> tuple:
    first, last = bundle_range(item, context.episodes)
    version = version_in_force(context.versions[item.series_id], item.occurred_at)
    assert version is not None  # _check_sale refused a sale without a split in force
    details = {"first": first, "last": last, "attributed": attribute(item.amount, first, last)}
    return (
        context.partner.id,
        item.id,
        "bundle",
        "accepted",
        item.series_id,
        None,
        item.amount,
        item.currency,
        item.occurred_at,
        item.country,
        item.viewer,
        digest,
        None,
        json.dumps(details),
        version.id,
        available_at_for(context.contracts, item.occurred_at),
        now,
    )


class _PurchaseCheck:
    @staticmethod
    def load(session: Session, partner: PartnerApp, items: list) -> _Context:
        window = live_windows(session, partner.id, {item.series_id for item in items})
        members: dict[int, set[int]] = {}
        if window:
            for series_id, member_id in session.execute(
                select(TeamMember.series_id, TeamMember.id).where(
                    TeamMember.series_id.in_(set(window))
                )
            ):
                members.setdefault(series_id, set()).add(member_id)
        return _Context(
            partner,
            window,
            EpisodeNumbers(session, set(window)),
            split_versions_by_series(session, set(window)),
            commerce_splits_by_series(session, set(window)),
            members,
            contract_terms(session, partner),
        )

    def __call__(self, context: _Context, item: PurchaseIn, latest: datetime) -> Result | None:
        if not item.commission:
            return rejected(
                item.id,
                "no_commission",
                "A purchase reports the platform's commission (above zero).",
                "commission",
            )
        if item.commission > item.price:
            return rejected(
                item.id,
                "commission_above_price",
                "The commission is larger than the price.",
                "commission",
            )
        problem = _check_sale(item, context.partner, latest, context.window, context.versions)
        if problem is not None:
            return problem
        if (item.series_id, item.episode) not in context.episodes:
            return rejected(
                item.id, "unknown_episode", "The series has no such episode.", "episode"
            )
        team = context.members.get(item.series_id, set())
        if any(member not in team for member in item.featured):
            return rejected(
                item.id,
                "unknown_member",
                "A featured participant is not on the series' team.",
                "featured",
            )
        return None


def _purchase_row(context: _Context, item: PurchaseIn, digest: str, now: datetime) -> tuple:
    version = version_in_force(context.versions[item.series_id], item.occurred_at)
    assert version is not None  # _check_sale refused a sale without a split in force
    commerce = next(
        (s for s in context.commerce.get(item.series_id, []) if s[2] <= item.occurred_at), None
    )
    details = {
        "product": item.product,
        "price": item.price,
        "featured": sorted(item.featured),
        "commerce_split": commerce[0] if commerce else None,
    }
    return (
        context.partner.id,
        item.id,
        "purchase",
        "accepted",
        item.series_id,
        item.episode,
        item.commission,
        item.currency,
        item.occurred_at,
        item.country,
        None,
        digest,
        None,
        json.dumps(details),
        version.id,
        available_at_for(context.contracts, item.occurred_at),
        now,
    )


def ingest_bundles(
    session: Session, partner: PartnerApp, items: list, now: datetime | None = None
) -> list[Result]:
    """Accept a batch of bundle sales; one result per item, in order; commits."""
    now = now or datetime.now(UTC)
    return _accept(session, partner, "bundle", items, _BundleCheck(), _bundle_row, now)


def ingest_purchases(
    session: Session, partner: PartnerApp, items: list, now: datetime | None = None
) -> list[Result]:
    """Accept a batch of purchases; one result per item, in order; commits."""
    now = now or datetime.now(UTC)
    return _accept(session, partner, "purchase", items, _PurchaseCheck(), _purchase_row, now)
