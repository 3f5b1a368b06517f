"""How a series with a revenue plan in force reaches the ledger: in two allocations.

1. The unlock's gross is split, in the bucket of (series, partner, currency, split version,
   plan), among the partner's commission, the platform's fee and the series' pool account
   (chart kind "series_pool", available at once): exactly as a split without a plan, with
   the whole participants' share going to the pool.
2. The pool's part of each event is allocated from the pool account in the waterfall bucket
   of (series, currency, plan): one cumulative waterfall across every partner app, so the
   budget is recouped once (ledger.allocation.waterfall). Its parties are the plan's
   members' earnings accounts, held like any participant's share.
The second stage sums each batch's pool money per plan, effective UTC hour, availability hour
and kind (unlocks and pool shares, then refunds): one waterfall event per sum, not per unlock.
A waterfall pays every party target(P) of the cumulative pool P whatever the steps by which P
got there, so summing changes no one's money, only how finely the waterfall's runs list it
(their statement lines carry the series, partner and kind, not the episode or country: the
first stage's buckets keep those). Both stages are posted in one allocate_batch call (`then`),
in the poster's transaction, so the pool account nets to zero after every batch. A refund
goes to its unlock's plan (the plan in force when the unlock happened) and walks the
waterfall back. Events in another currency than the plan's, and series without a
plan in force, are split as before (marketplace.ingest.revenue).

A poster process keeps each plan version's terms and ledger waterfall in a PlanCache: an
active plan is never rewritten (a change is a new version), so a batch checks its series'
active plans with one query and loads only versions it has not seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.engine import AllocationEvent, AllocationResult, Party, canonical_parties
from ledger.allocation.waterfall import Waterfall
from marketplace.ingest.models import PartnerEvent
from marketplace.splits.models import RevenuePlan
from marketplace.splits.plans import plan_waterfall, plans_by_series
from marketplace.splits.positions import waterfall_bucket_key

if TYPE_CHECKING:
    from marketplace.ingest.revenue import RevenueFacts

AccountIds = Callable[[str, int], int]
"""(chart kind, owner id) -> account id in the partner's currency (SplitRouter.account_id)."""

Prefetch = Callable[[Iterable[tuple[str, str]]], None]
"""Loads (chart kind, owner id) accounts into the router's cache in one query."""


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What posting needs of one active plan version, read once per poster process.

    Fields: id, series_id, currency, effective_from (as RevenuePlan); stamp (effective_from
    and decided_at: a changed stamp reloads the version); members (every member the plan can
    pay); waterfall (the ledger's waterfall over their earnings accounts in the currency).
    """

    id: int
    series_id: int
    currency: str
    effective_from: datetime
    stamp: tuple[datetime, datetime | None]
    members: frozenset[int]
    waterfall: Waterfall


class PlanCache:
    """A poster's plan versions, by id. Checked per batch with one query of the batch's series'
    active plans; a version not seen yet (or whose stamp moved) loads with its terms. Clear it
    when a batch's transaction rolls back (accounts it created are gone)."""

    def __init__(self) -> None:
        self._terms: dict[int, PlanTerms] = {}

    def clear(self) -> None:
        """Forget every plan (the next batch loads what it needs again)."""
        self._terms.clear()

    def in_force(
        self,
        session: Session,
        series_ids: set[int],
        currency: str,
        account_id: AccountIds,
        prefetch: Prefetch | None = None,
    ) -> dict[int, list[PlanTerms]]:
        """The active plan versions in `currency` of these series, newest effective first."""
        rows = session.execute(
            select(
                RevenuePlan.id,
                RevenuePlan.series_id,
                RevenuePlan.currency,
                RevenuePlan.effective_from,
                RevenuePlan.decided_at,
            )
            .where(RevenuePlan.series_id.in_(series_ids), RevenuePlan.status == "active")
            .order_by(RevenuePlan.effective_from.desc(), RevenuePlan.number.desc())
        ).all()
        rows = [row for row in rows if row.currency == currency]
        stale = {
            row.series_id
            for row in rows
            if (seen := self._terms.get(row.id)) is None
            or seen.stamp != (row.effective_from, row.decided_at)
        }
        if stale:
            self._load(session, stale, currency, account_id, prefetch)
        found: dict[int, list[PlanTerms]] = {}
        for row in rows:
            found.setdefault(row.series_id, []).append(self._terms[row.id])
        return found

    def _load(
        self,
        session: Session,
        series_ids: set[int],
        currency: str,
        account_id: AccountIds,
        prefetch: Prefetch | None,
    ) -> None:
        plans = [
            plan
            for versions in plans_by_series(session, series_ids).values()
            for plan in versions
            if plan.currency == currency
        ]
        members = {plan.id: frozenset(plan_members(plan)) for plan in plans}
        if prefetch is not None:
            prefetch(
                {("member_earnings", str(m)) for found in members.values() for m in found}
                | {("series_pool", str(sid)) for sid in series_ids}
            )
        for plan in plans:
            accounts = {m: account_id("member_earnings", m) for m in sorted(members[plan.id])}
            self._terms[plan.id] = PlanTerms(
                plan.id,
                plan.series_id,
                plan.currency,
                plan.effective_from,
                (plan.effective_from, plan.decided_at),
                members[plan.id],
                plan_waterfall(plan, accounts),
            )


def plan_members(plan: RevenuePlan) -> set[int]:
    """Every member a plan can pay: its holders, profit shares, advances' recipients and
    payers, and a remake's royalties' members of the original's team."""
    members = {h.member_id for t in plan.tiers for h in t.holders}
    members.update(s.member_id for s in plan.shares)
    members.update(a.recipient_id for a in plan.advances)
    members.update(a.payer_id for a in plan.advances)
    members.update(r.member_id for r in plan.royalties)
    return members


class PlanRouter:
    """For one partner's batch: which facts go through a plan, and their two stages."""

    def __init__(
        self,
        session: Session,
        account_id: AccountIds,
        plans: dict[int, list[PlanTerms]],
    ):
        self.session = session
        self.account_id = account_id
        self.plans = plans
        self._first: dict[tuple[int, str], tuple[str, tuple[Party, ...]]] = {}
        self._positions: dict[str, int] = {}  # a first stage's bucket -> the pool's position
        self._unlocks: dict[int, datetime] = {}
        self._waterfall_parties: dict[int, tuple[Party, ...]] = {}

    @classmethod
    def load(
        cls,
        session: Session,
        currency: str,
        account_id: AccountIds,
        facts: Sequence[RevenueFacts],
        cache: PlanCache | None = None,
        prefetch: Prefetch | None = None,
    ) -> PlanRouter | None:
        """The batch's plan router, or None when no series of the batch has a plan in the
        partner's currency (the hot path: one query, with a cache that has every version)."""
        cache = cache if cache is not None else PlanCache()
        series_ids = {fact.series_id for fact in facts}
        plans = cache.in_force(session, series_ids, currency, account_id, prefetch)
        if not plans:
            return None
        planned = cls(session, account_id, plans)
        planned._load_unlocks(facts)
        return planned

    def _load_unlocks(self, facts: Sequence[RevenueFacts]) -> None:
        wanted = set()
        for fact in facts:
            if fact.series_id in self.plans:
                if fact.reverses is None:
                    self._unlocks[fact.ref] = fact.occurred_at
                elif fact.reverses not in self._unlocks:
                    wanted.add(fact.reverses)
        wanted -= self._unlocks.keys()
        if wanted:
            self._unlocks.update(
                self.session.execute(
                    select(PartnerEvent.id, PartnerEvent.occurred_at).where(
                        PartnerEvent.id.in_(wanted)
                    )
                )
                .tuples()
                .all()
            )

    def plan_for(
        self, series_id: int, occurred_at: datetime, reverses: int | None
    ) -> PlanTerms | None:
        """The plan an event goes through: in force when it (a refund: its unlock) happened."""
        plans = self.plans.get(series_id)
        if not plans:
            return None
        at = self._unlocks.get(reverses, occurred_at) if reverses is not None else occurred_at
        for plan in plans:
            if plan.effective_from <= at:
                return plan
        return None

    def waterfall(self, plan: PlanTerms) -> Waterfall:
        """The plan's ledger waterfall over its members' earnings accounts."""
        return plan.waterfall

    def accounts_wanted(self) -> set[tuple[str, str]]:
        """(chart kind, owner id) of the accounts the router looks up: the batch's series'
        pools (each plan's waterfall holds its members' accounts already). To prefetch."""
        return {("series_pool", str(series_id)) for series_id in self.plans}

    def pool_account_id(self, series_id: int) -> int:
        """The series' pool account in the partner's currency."""
        return self.account_id("series_pool", series_id)

    def first_stage(self, event: AllocationEvent, plan: PlanTerms) -> AllocationEvent:
        """The event split among the partner, the platform and the series' pool."""
        found = self._first.get((plan.id, event.bucket_key))
        if found is None:
            pool = self.pool_account_id(plan.series_id)
            weight = sum(p.weight for p in event.parties if p.held)
            fixed = [p for p in event.parties if not p.held]
            parties = canonical_parties([*fixed, Party(pool, weight, held=False)])
            key = f"{event.bucket_key}|plan:{plan.id}"
            self._positions[key] = next(i for i, p in enumerate(parties) if p.account_id == pool)
            found = self._first[plan.id, event.bucket_key] = (key, parties)
        key, parties = found
        return AllocationEvent(
            event.ref,
            key,
            event.currency,
            event.debit_account_id,
            parties,
            event.gross,
            event.effective_at,
            event.available_at,
            event.attributes,
            event.reverses,
        )

    def second_stage(
        self,
        staged: Sequence[tuple[AllocationEvent, PlanTerms, AllocationResult]],
    ) -> list[AllocationEvent]:
        """The first-stage events' pool money as events of their plans' waterfall buckets:
        summed per plan, effective UTC hour, availability hour and kind, unlocks and pool
        shares before refunds (a sum of zero posts nothing). Each sum's ref is its first
        event's (refs stay unique in the bucket: each event is posted once)."""
        sums: dict[tuple[int, int, int, Any], list[Any]] = {}
        for event, plan, result in staged:
            amount = result.amounts[self._positions[event.bucket_key]]
            if amount == 0:
                continue
            available = event.available_at
            key = (
                plan.id,
                int(event.effective_at.timestamp() // 3600),
                -1 if available is None else -int(-available.timestamp() // 3600),
                event.attributes.get("kind"),
            )
            found = sums.get(key)
            if found is None:
                sums[key] = [event, plan, amount, event.effective_at, available]
                continue
            found[2] += amount
            found[3] = max(found[3], event.effective_at)
            if available is not None:
                found[4] = max(found[4], available)
        refunds_last = sorted(sums.values(), key=lambda s: s[0].attributes.get("kind") == "refund")
        return [self._waterfall_event(*found) for found in refunds_last if found[2]]

    def _waterfall_event(
        self,
        first: AllocationEvent,
        plan: PlanTerms,
        amount: int,
        effective_at: datetime,
        available_at: datetime | None,
    ) -> AllocationEvent:
        attributes: dict[str, Any] = {
            field: first.attributes[field]
            for field in ("kind", "series_id", "partner_id")
            if field in first.attributes
        }
        waterfall = plan.waterfall
        parties = self._waterfall_parties.get(plan.id)
        if parties is None:
            parties = self._waterfall_parties[plan.id] = waterfall.parties()
        return AllocationEvent(
            first.ref,
            waterfall_bucket_key(plan.series_id, plan.currency, plan.id),
            plan.currency,
            self.pool_account_id(plan.series_id),
            parties,
            amount,
            effective_at,
            available_at,
            attributes,
            None,
            waterfall,
        )
