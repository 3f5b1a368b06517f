"""How a series' revenue reaches the ledger (accounts from marketplace.chart).

Every unlock of a series on a partner app is one ledger allocation event in the bucket of
(series, partner, currency, split version in force at the unlock): the ledger splits the gross
among the partner, the platform and the team members, drift-free; a refund gives back exactly
what its unlock paid. The ledger poster (ingest/poster.py) calls post_revenue with the accepted
events it reads from the event log. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.engine import (
    AllocationEvent,
    AllocationResult,
    Party,
    allocate_batch,
    split_parties,
)
from ledger.schema import Account
from marketplace.chart import ACCOUNT_KINDS, PLATFORM_OWNER_ID, ledger_account
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.revenue_days import add_revenue_days
from marketplace.ingest.waterfalls import PlanCache, PlanRouter
from marketplace.partners.contracts import available_at_under, contract_at, contract_terms
from marketplace.partners.models import PartnerApp, PartnerContract
from marketplace.splits.models import SplitShare, SplitVersion


def split_version_at(session: Session, series_id: int, at: datetime) -> SplitVersion | None:
    """The split version in force for a series at a moment (the latest effective by then)."""
    return session.scalars(
        select(SplitVersion)
        .where(SplitVersion.series_id == series_id, SplitVersion.effective_from <= at)
        .order_by(SplitVersion.effective_from.desc(), SplitVersion.number.desc())
        .limit(1)
    ).first()


def bucket_key(
    series_id: int, partner_id: int, currency: str, version_id: int, contract: int = 1
) -> str:
    """The ledger allocation bucket of one split version of a series on one partner app under
    one contract version: from version 2 on a contract has its own buckets (suffix
    `|contract:N`), so the cumulative positions of older ones are never disturbed."""
    key = f"series:{series_id}|partner:{partner_id}|{currency}|split:{version_id}"
    return key if contract == 1 else f"{key}|contract:{contract}"


def with_contract(key: str, contract: int) -> str:
    """A bucket key under a contract version (`|contract:N` from version 2 on)."""
    return key if contract == 1 else f"{key}|contract:{contract}"


def available_at_for(contracts: Sequence[PartnerContract], occurred_at: datetime) -> datetime:
    """When participants' money from an event becomes available under the contract version in
    force when it occurred (the one place that decides it, when the event is accepted): after
    the hold (advance), or when the app pays the period's statement (collected)."""
    return available_at_under(contract_at(contracts, occurred_at), occurred_at)


@dataclass(slots=True)
class RevenueFacts:
    """An accepted unlock, refund or series' share of a revenue pool, to post.

    Fields: ref (the event log row's id: the ledger's ref), series_id, amount (signed gross in
    minor units: a refund is negative), occurred_at (aware), episode (None for a pool share),
    country (ISO alpha-2 or None), kind ("unlock", "refund", "pool", "coins", "bundle" or
    "purchase"), available_at (as accepted; None: from the partner's hold), reverses (a
    refund's unlock ref), bucket (another bucket key than the split version's, before its
    contract suffix: a coin rate's or a commerce split's), partner_cut (False: the partner app
    takes no share, as of a purchase's commission, which is the platform's already).
    Not frozen: one is built per event on the poster's hot path (a frozen dataclass's
    __init__ costs twice as much); nothing changes one after it is built.
    """

    ref: int
    series_id: int
    amount: int
    occurred_at: datetime
    episode: int | None = None
    country: str | None = None
    kind: str = "unlock"
    available_at: datetime | None = None
    reverses: int | None = None
    bucket: str | None = None
    partner_cut: bool = True


class SplitRouter:
    """Resolves (series, moment) -> bucket and parties for one partner, caching per call."""

    def __init__(self, session: Session, partner: PartnerApp):
        self.session = session
        self.partner = partner
        self.currency = partner.currency
        self.contracts = contract_terms(session, partner)
        # (effective_from, version) newest first, read once: the per-event look-up then
        # touches no ORM attribute.
        self._starts = [(c.effective_from, c) for c in self.contracts]
        self._parties: dict[tuple[int, int], tuple[Party, ...]] = {}
        self._accounts: dict[tuple[str, str], int] = {}
        self._terms: dict[tuple[int, int, str | None, bool], tuple] = {}

    def account_id(self, kind: str, owner_id: int | str = PLATFORM_OWNER_ID) -> int:
        """The id of one account of the chart in the partner's currency (cached per router)."""
        key = (kind, str(owner_id))
        found = self._accounts.get(key)
        if found is None:
            found = self._accounts[key] = ledger_account(
                self.session, kind, self.currency, owner_id
            ).id
        return found

    def prefetch(
        self,
        versions: Sequence[SplitVersion | VersionTerms],
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Load every account these versions' splits need, and `extra` (kind, owner id)
        pairs, with one query (hot path)."""
        wanted = {
            ("partner_receivable", str(self.partner.id)),
            ("partner_commission", str(self.partner.id)),
            ("platform_fees", PLATFORM_OWNER_ID),
            *extra,
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

    def prefetch_accounts(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Load these (kind, owner id) accounts, and the partner's, with one query."""
        self.prefetch([], wanted)

    def receivable_id(self) -> int:
        """The partner's receivable account id in its contract currency."""
        return self.account_id("partner_receivable", self.partner.id)

    def parties(
        self, version: SplitVersion | VersionTerms, contract: PartnerContract | None = None
    ) -> tuple[Party, ...]:
        """The ledger parties of a split version on this partner app (under a contract
        version: the latest unless given)."""
        contract = contract or self.contracts[0]
        cached = self._parties.get((version.id, contract.number))
        if cached is None:
            cached = self.split_of(version, contract.share_bps)
            self._parties[version.id, contract.number] = cached
        return cached

    def split_of(self, version: SplitVersion | VersionTerms, partner_bps: int) -> tuple[Party, ...]:
        """The ledger parties of a version's shares with the partner app taking partner_bps."""
        participants = [
            (self.account_id("member_earnings", share.member_id), share.bps)
            for share in version.shares
        ]
        return split_parties(
            partner_account_id=self.account_id("partner_commission", self.partner.id),
            partner_bps=partner_bps,
            platform_account_id=self.account_id("platform_fees"),
            platform_fee_bps=version.platform_fee_bps,
            participants=participants,
        )

    def event(
        self,
        facts: RevenueFacts,
        version: SplitVersion | VersionTerms,
        contract_moment: datetime | None = None,
    ) -> AllocationEvent:
        """The ledger allocation event for one unlock, refund, pool share or sale, under the
        contract version in force at `contract_moment` (a refund: its unlock's occurred_at,
        so that it nets in its unlock's bucket) or else at the event."""
        moment = contract_moment or facts.occurred_at
        contract = next((c for start, c in self._starts if start <= moment), None)
        if contract is None:  # before the first version: the first (contract_at's rule)
            contract = contract_at(self.contracts, moment)
        wanted = (version.id, contract.number, facts.bucket, facts.partner_cut)
        terms = self._terms.get(wanted)
        if terms is None:
            if facts.bucket is None:
                key = bucket_key(
                    facts.series_id, self.partner.id, self.currency, version.id, contract.number
                )
                parties = self.parties(version, contract)
            else:
                key = with_contract(facts.bucket, contract.number)
                parties = self.split_of(version, contract.share_bps if facts.partner_cut else 0)
            terms = self._terms[wanted] = (key, parties, self.receivable_id())
        key, parties, receivable = terms
        attributes: dict[str, object] = {
            "kind": facts.kind,
            "series_id": facts.series_id,
            "partner_id": self.partner.id,
        }
        if facts.episode is not None:
            attributes["episode"] = facts.episode
        if facts.country:
            attributes["country"] = facts.country
        available = facts.available_at or available_at_under(contract, facts.occurred_at)
        return AllocationEvent(
            facts.ref,
            key,
            self.currency,
            receivable,
            parties,
            facts.amount,
            facts.occurred_at,
            available,
            attributes,
            facts.reverses,
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


Terms = TypeVar("Terms", SplitVersion, VersionTerms)


def split_versions_by_series(
    session: Session, series_ids: set[int]
) -> dict[int, list[VersionTerms]]:
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


def version_in_force(versions: Sequence[Terms], at: datetime) -> Terms | None:
    """From versions newest-first, the one in force at `at`."""
    return next((v for v in versions if v.effective_from <= at), None)


def _unlock_times(session: Session, refs: list[int]) -> dict[int, datetime]:
    """When the unlocks these refunds reverse occurred (their contract version decides the
    refund's bucket); one query, none without refunds."""
    if not refs:
        return {}
    rows = session.execute(
        select(PartnerEvent.id, PartnerEvent.occurred_at).where(PartnerEvent.id.in_(set(refs)))
    )
    return {ref: occurred_at for ref, occurred_at in rows}


def post_revenue(
    session: Session,
    partner: PartnerApp,
    facts: Sequence[RevenueFacts],
    now: datetime | None = None,
    versions: dict[int, list[VersionTerms]] | None = None,
    version_ids: Sequence[int | VersionTerms | None] | None = None,
    plans: PlanCache | None = None,
) -> list[AllocationResult]:
    """Post events of one partner app to the ledger, one result per fact, in order. Each is
    split under its series' split version in force at occurred_at (or the version id given for
    it: what was decided when it was accepted). Events of a series with a revenue plan in force
    go through it (marketplace.ingest.waterfalls; the results are their first stage's), with
    the plans of `plans` (a poster's cache; else read for this call). The caller posts each
    event once, and commits. A version given as VersionTerms (a commerce split's) is used as
    it is."""
    if not facts:
        return []
    router = SplitRouter(session, partner)
    if versions is None:
        versions = split_versions_by_series(session, {fact.series_id for fact in facts})
    planned = PlanRouter.load(
        session, router.currency, router.account_id, facts, plans, router.prefetch_accounts
    )
    given = [v for v in version_ids or () if isinstance(v, VersionTerms)]
    router.prefetch(
        [*(v for vs in versions.values() for v in vs), *given],
        planned.accounts_wanted() if planned is not None else (),
    )
    by_id = {v.id: v for vs in versions.values() for v in vs}
    unlocked_at = _unlock_times(session, [f.reverses for f in facts if f.reverses is not None])
    events = []
    for index, fact in enumerate(facts):
        wanted = version_ids[index] if version_ids is not None else None
        version = (
            wanted
            if isinstance(wanted, VersionTerms)
            else by_id.get(wanted)
            if wanted is not None
            else version_in_force(versions[fact.series_id], fact.occurred_at)
        )
        if version is None:
            raise LookupError(
                f"series {fact.series_id} has no split in force at {fact.occurred_at}"
            )
        moment = unlocked_at.get(fact.reverses) if fact.reverses is not None else None
        events.append(router.event(fact, version, moment))
    if planned is None:
        results = allocate_batch(session, events, now=now)
        # After the buckets' locks, as every poster: one lock order, no deadlock.
        add_revenue_days(session, partner.id, router.currency, facts)
        return results
    chosen = [planned.plan_for(f.series_id, f.occurred_at, f.reverses) for f in facts]
    events = [
        event if plan is None else planned.first_stage(event, plan)
        for event, plan in zip(events, chosen, strict=True)
    ]

    def through_plans(results: list[AllocationResult]) -> list[AllocationEvent]:
        return planned.second_stage(
            [
                (event, plan, result)
                for event, plan, result in zip(events, chosen, results, strict=True)
                if plan is not None
            ]
        )

    results = allocate_batch(session, events, now=now, then=through_plans)
    add_revenue_days(session, partner.id, router.currency, facts)
    return results
