"""How a series with a revenue plan in force reaches the ledger: in two allocations.

1. The unlock's gross is split, in the bucket of (series, partner, currency, split version,
   plan), among the partner's commission, the platform's fee and the series' pool account
   (chart kind "series_pool", available at once): exactly as a split without a plan, with
   the whole participants' share going to the pool.
2. The pool's part of each event is allocated from the pool account in the waterfall bucket
   of (series, currency, plan): one cumulative waterfall across every partner app, so the
   budget is recouped once (ledger.allocation.waterfall). Its parties are the plan's
   members' earnings accounts, held like any participant's share.
Both are posted in the poster's transaction, so the pool account nets to zero after every
batch. A refund goes to its unlock's plan (the plan in force when the unlock happened) and
walks the waterfall back. Events in another currency than the plan's, and series without a
plan in force, are split as before (marketplace.ingest.revenue).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

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


class PlanRouter:
    """For one partner's batch: which facts go through a plan, and their two stages."""

    def __init__(
        self,
        session: Session,
        account_id: AccountIds,
        plans: dict[int, list[RevenuePlan]],
    ):
        self.session = session
        self.account_id = account_id
        self.plans = plans
        self._waterfalls: dict[int, Waterfall] = {}
        self._parties: dict[tuple[int, str], tuple[Party, ...]] = {}
        self._unlocks: dict[int, datetime] = {}
        self._waterfall_parties: dict[int, tuple[Party, ...]] = {}

    @classmethod
    def load(
        cls,
        session: Session,
        currency: str,
        account_id: AccountIds,
        facts: Sequence[RevenueFacts],
    ) -> PlanRouter | None:
        """The batch's plan router, or None when no series of the batch has a plan in the
        partner's currency (the hot path: one query)."""
        found = plans_by_series(session, {fact.series_id for fact in facts})
        plans = {
            sid: [p for p in versions if p.currency == currency]
            for sid, versions in found.items()
            if any(p.currency == currency for p in versions)
        }
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
    ) -> RevenuePlan | None:
        """The plan an event goes through: in force when it (a refund: its unlock) happened."""
        plans = self.plans.get(series_id)
        if not plans:
            return None
        at = self._unlocks.get(reverses, occurred_at) if reverses is not None else occurred_at
        return next((p for p in plans if p.effective_from <= at), None)

    def waterfall(self, plan: RevenuePlan) -> Waterfall:
        """The plan's ledger waterfall over its members' earnings accounts (cached)."""
        found = self._waterfalls.get(plan.id)
        if found is None:
            members = {h.member_id for t in plan.tiers for h in t.holders}
            members.update(s.member_id for s in plan.shares)
            members.update(a.recipient_id for a in plan.advances)
            members.update(a.payer_id for a in plan.advances)
            members.update(r.member_id for r in plan.royalties)  # a remake's original parties
            accounts = {m: self.account_id("member_earnings", m) for m in sorted(members)}
            found = self._waterfalls[plan.id] = plan_waterfall(plan, accounts)
        return found

    def accounts_wanted(self) -> set[tuple[str, str]]:
        """(chart kind, owner id) of every account the batch's plans move: to prefetch."""
        wanted = {("series_pool", str(series_id)) for series_id in self.plans}
        for plans in self.plans.values():
            for plan in plans:
                wanted.update(("member_earnings", str(s.member_id)) for s in plan.shares)
                wanted.update(
                    ("member_earnings", str(h.member_id)) for t in plan.tiers for h in t.holders
                )
                for advance in plan.advances:
                    wanted.add(("member_earnings", str(advance.recipient_id)))
                    wanted.add(("member_earnings", str(advance.payer_id)))
                wanted.update(("member_earnings", str(r.member_id)) for r in plan.royalties)
        return wanted

    def pool_account_id(self, series_id: int) -> int:
        """The series' pool account in the partner's currency."""
        return self.account_id("series_pool", series_id)

    def first_stage(self, event: AllocationEvent, plan: RevenuePlan) -> AllocationEvent:
        """The event split among the partner, the platform and the series' pool."""
        series_id = int(event.attributes["series_id"])
        cache = (plan.id, event.bucket_key)
        parties = self._parties.get(cache)
        if parties is None:
            pool = self.pool_account_id(series_id)
            weight = sum(p.weight for p in event.parties if p.held)
            fixed = [p for p in event.parties if not p.held]
            parties = self._parties[cache] = canonical_parties(
                [*fixed, Party(pool, weight, held=False)]
            )
        return replace(event, bucket_key=f"{event.bucket_key}|plan:{plan.id}", parties=parties)

    def second_stage(
        self,
        staged: Sequence[tuple[AllocationEvent, RevenuePlan, AllocationResult]],
    ) -> list[AllocationEvent]:
        """Each first-stage event's pool money as an event of its plan's waterfall bucket
        (none when the pool got nothing: its refund gets nothing back either)."""
        events = []
        for event, plan, result in staged:
            series_id = int(event.attributes["series_id"])
            pool = self.pool_account_id(series_id)
            position = next(i for i, p in enumerate(event.parties) if p.account_id == pool)
            amount = result.amounts[position]
            if amount == 0:
                continue
            waterfall = self.waterfall(plan)
            events.append(
                AllocationEvent(
                    event.ref,
                    waterfall_bucket_key(series_id, event.currency, plan.id),
                    event.currency,
                    pool,
                    self._waterfall_parties.setdefault(plan.id, waterfall.parties()),
                    amount,
                    event.effective_at,
                    event.available_at,
                    event.attributes,
                    event.reverses,
                    waterfall,
                )
            )
        return events
