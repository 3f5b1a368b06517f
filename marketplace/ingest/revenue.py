"""How a series' revenue reaches the ledger (accounts from marketplace.chart).

Every unlock of a series on a partner app is one ledger allocation event in the bucket of
(series, partner, currency, split version in force at the unlock): the ledger splits the gross
among the partner, the platform and the team members, drift-free. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.engine import (
    AllocationEvent,
    AllocationResult,
    Party,
    PreparedBatch,
    apply_batch,
    prepare_batch,
    split_parties,
)
from ledger.schema import Account
from marketplace.chart import ACCOUNT_KINDS, PLATFORM_OWNER_ID, ledger_account
from marketplace.partners.models import PartnerApp
from marketplace.splits.models import SplitShare, SplitVersion


def split_version_at(session: Session, series_id: int, at: datetime) -> SplitVersion | None:
    """The split version in force for a series at a moment (the latest effective by then)."""
    return session.scalars(
        select(SplitVersion)
        .where(SplitVersion.series_id == series_id, SplitVersion.effective_from <= at)
        .order_by(SplitVersion.effective_from.desc(), SplitVersion.number.desc())
        .limit(1)
    ).first()


def bucket_key(series_id: int, partner_id: int, currency: str, version_id: int) -> str:
    """The ledger allocation bucket of one split version of a series on one partner app."""
    return f"series:{series_id}|partner:{partner_id}|{currency}|split:{version_id}"


def unlock_source_key(partner_id: int, event_id: str) -> str:
    """The ledger's unique key of a partner's unlock event."""
    return f"unlock:{partner_id}:{event_id}"


@dataclass(frozen=True, slots=True)
class RevenueFacts:
    """A validated paid unlock (or a series' share of a revenue pool) to post.

    Fields: source_key (unique ledger key), series_id, episode (None for a pool share),
    amount (gross, minor units, > 0), occurred_at (aware), country (ISO alpha-2 or None),
    kind ("unlock" or "pool"), pool_id (for pool shares).
    """

    source_key: str
    series_id: int
    amount: int
    occurred_at: datetime
    episode: int | None = None
    country: str | None = None
    kind: str = "unlock"
    pool_id: str | None = None


class SplitRouter:
    """Resolves (series, moment) -> bucket and parties for one partner, caching per call."""

    def __init__(self, session: Session, partner: PartnerApp):
        self.session = session
        self.partner = partner
        self.currency = partner.currency
        self._parties: dict[int, tuple[Party, ...]] = {}
        self._accounts: dict[tuple[str, str], int] = {}
        self._terms: dict[int, tuple] = {}

    def account_id(self, kind: str, owner_id: int | str = PLATFORM_OWNER_ID) -> int:
        """The id of one account of the chart in the partner's currency (cached per router)."""
        key = (kind, str(owner_id))
        found = self._accounts.get(key)
        if found is None:
            found = self._accounts[key] = ledger_account(
                self.session, kind, self.currency, owner_id
            ).id
        return found

    def prefetch(self, versions: Sequence[SplitVersion]) -> None:
        """Load every account these versions' splits need with one query (hot path)."""
        wanted = {
            ("partner_receivable", str(self.partner.id)),
            ("partner_commission", str(self.partner.id)),
            ("platform_fees", PLATFORM_OWNER_ID),
        }
        wanted.update(("member_earnings", str(s.member_id)) for v in versions for s in v.shares)
        by_owner = {(ACCOUNT_KINDS[k][0], ACCOUNT_KINDS[k][1], o): k for k, o in wanted}
        rows = self.session.execute(
            select(Account.id, Account.owner_type, Account.purpose, Account.owner_id).where(
                Account.currency == self.currency,
                Account.owner_id.in_({o for _, o in wanted}),
                Account.owner_type.in_({ACCOUNT_KINDS[k][0] for k, _ in wanted}),
            )
        )
        for account_id, owner_type, purpose, owner_id in rows:
            kind = by_owner.get((owner_type, purpose, owner_id))
            if kind is not None:
                self._accounts[kind, owner_id] = account_id
        # Create the missing ones now, in one global order (the accounts' unique key): two
        # requests creating overlapping accounts in their own orders deadlocked.
        for _, owner_id, _, kind in sorted(
            (ACCOUNT_KINDS[kind][0], owner_id, ACCOUNT_KINDS[kind][1], kind)
            for kind, owner_id in wanted
            if (kind, owner_id) not in self._accounts
        ):
            self.account_id(kind, owner_id)

    def receivable_id(self) -> int:
        """The partner's receivable account id in its contract currency."""
        return self.account_id("partner_receivable", self.partner.id)

    def parties(self, version: SplitVersion) -> tuple[Party, ...]:
        """The ledger parties of a split version on this partner app."""
        cached = self._parties.get(version.id)
        if cached is None:
            participants = [
                (self.account_id("member_earnings", share.member_id), share.bps)
                for share in version.shares
            ]
            cached = split_parties(
                partner_account_id=self.account_id("partner_commission", self.partner.id),
                partner_bps=self.partner.share_bps,
                platform_account_id=self.account_id("platform_fees"),
                platform_fee_bps=version.platform_fee_bps,
                participants=participants,
            )
            self._parties[version.id] = cached
        return cached

    def event(self, facts: RevenueFacts, version: SplitVersion) -> AllocationEvent:
        """The ledger allocation event for one validated unlock or pool share."""
        terms = self._terms.get(version.id)
        if terms is None:
            terms = self._terms[version.id] = (
                bucket_key(facts.series_id, self.partner.id, self.currency, version.id),
                self.parties(version),
                self.receivable_id(),
                timedelta(days=self.partner.hold_days),
                self.partner.id,
            )
        key, parties, receivable, hold, partner_id = terms
        attributes = {"kind": facts.kind, "series_id": facts.series_id, "partner_id": partner_id}
        if facts.episode is not None:
            attributes["episode"] = facts.episode
        if facts.country:
            attributes["country"] = facts.country
        if facts.pool_id:
            attributes["pool_id"] = facts.pool_id
        return AllocationEvent(
            facts.source_key,
            key,
            self.currency,
            receivable,
            parties,
            facts.amount,
            facts.occurred_at,
            facts.occurred_at + hold,
            attributes,
        )


class ShareTerms(NamedTuple):
    """One participant's share of a split version (what ingestion reads of SplitShare)."""

    member_id: int
    bps: int


class VersionTerms(NamedTuple):
    """A split version's terms, read without the ORM on the ingestion hot path (the fields
    SplitRouter and version_in_force use; a SplitVersion works wherever this does)."""

    id: int
    series_id: int
    number: int
    effective_from: datetime
    platform_fee_bps: int
    shares: tuple[ShareTerms, ...]


def split_versions_by_series(session: Session, series_ids: set[int]) -> dict[int, list]:
    """Every split version of these series (as VersionTerms), newest effective first (two
    queries)."""
    result: dict[int, list] = {sid: [] for sid in series_ids}
    if not series_ids:
        return result
    versions = session.execute(
        select(
            SplitVersion.id,
            SplitVersion.series_id,
            SplitVersion.number,
            SplitVersion.effective_from,
            SplitVersion.platform_fee_bps,
        )
        .where(SplitVersion.series_id.in_(series_ids))
        .order_by(SplitVersion.effective_from.desc(), SplitVersion.number.desc())
    ).all()
    shares: dict[int, list[ShareTerms]] = {row[0]: [] for row in versions}
    if shares:
        for version_id, member_id, bps in session.execute(
            select(SplitShare.version_id, SplitShare.member_id, SplitShare.bps)
            .where(SplitShare.version_id.in_(shares))
            .order_by(SplitShare.id)
        ):
            shares[version_id].append(ShareTerms(member_id, bps))
    for version_id, series_id, number, effective_from, fee in versions:
        result[series_id].append(
            VersionTerms(
                version_id, series_id, number, effective_from, fee, tuple(shares[version_id])
            )
        )
    return result


def version_in_force(versions: list[SplitVersion], at: datetime) -> SplitVersion | None:
    """From versions newest-first, the one in force at `at`."""
    return next((v for v in versions if v.effective_from <= at), None)


def prepare_revenue(
    session: Session,
    partner: PartnerApp,
    facts: Sequence[RevenueFacts],
    now: datetime | None = None,
    versions: dict[int, list[SplitVersion]] | None = None,
) -> PreparedBatch:
    """Plan the posting of validated unlocks/pool shares of one partner app (no lock taken on
    existing rows): ledger.allocation.engine.prepare_batch of their allocation events.

    Each fact is split under the series' split version in force at its occurred_at; callers
    have checked that the series was live on the partner app then and that a version exists.
    `versions` (from split_versions_by_series) saves the query when the caller has them.
    """
    router = SplitRouter(session, partner)
    if versions is None:
        versions = split_versions_by_series(session, {fact.series_id for fact in facts})
    router.prefetch([v for vs in versions.values() for v in vs])
    events = []
    for fact in facts:
        version = version_in_force(versions[fact.series_id], fact.occurred_at)
        if version is None:
            raise LookupError(
                f"series {fact.series_id} has no split in force at {fact.occurred_at}"
            )
        events.append(router.event(fact, version))
    return prepare_batch(session, events, now=now)


def post_revenue(
    session: Session,
    partner: PartnerApp,
    facts: Sequence[RevenueFacts],
    now: datetime | None = None,
    versions: dict[int, list[SplitVersion]] | None = None,
) -> list[AllocationResult]:
    """Post validated unlocks/pool shares of one partner app; one result per fact, in order
    (prepare_revenue, then ledger.allocation.engine.apply_batch)."""
    if not facts:
        return []
    return apply_batch(session, prepare_revenue(session, partner, facts, now, versions))
