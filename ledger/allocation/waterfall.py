"""Revenue waterfalls: an ordered plan of recoupment tiers, advances and a profit split over a
pool, allocated drift-free in integers.

A waterfall's bucket has the pool as its cumulative gross P (a series' participants' pool:
what the partner and the platform leave). The exact rational waterfall at P:
0. royalties (a remake's royalty to parties of its original): each takes its bps of P off the
   top (together less than 10000), and what they leave goes down the waterfall;
1. recoupment tiers in order: tier k takes min(cap_k, what the earlier tiers left), where
   cap_k = (sum of its holders' amounts) x premium_bps / 10000; its holders share the take
   pari passu, in proportion to their amounts;
2. the profit split: what the tiers leave, shared by basis points (summing to 10000);
3. advances, in order: an advance of A paid to a recipient by a payer is recovered from the
   recipient's earnings of steps 1-2 (and earlier advances) before she keeps more: the payer
   takes min(A, what the recipient has earned so far), the recipient the rest.
target(P) gives each account the floor of its exact amount and hands the units left over
one each to the largest remainders (ties by ascending account id), exactly like
ledger.allocation.splits.target, so every account stays within one minor unit of its exact
waterfall amount at every P, tier crossings included. All arithmetic is in integers over a
common denominator Q = 10000^2 x lcm(tier sums), so no value is ever rounded before the end.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Any

from ledger.allocation.splits import BPS, DENOMINATOR, Party

MIN_PREMIUM_BPS = 10_000
"""The smallest premium: 100 % (the holders get their costs back, nothing more)."""
MAX_PREMIUM_BPS = 100_000
"""The largest premium: 1,000 %."""


@dataclass(frozen=True, slots=True)
class Holder:
    """One cost holder of a recoupment tier.

    Fields:
        account_id: the account repaid (the holder's earnings account).
        amount: the costs the holder carries, in minor units (> 0).
    """

    account_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class Tier:
    """A recoupment tier: its holders are repaid pari passu, by amount, before later tiers.

    Fields:
        holders: the cost holders (one account at most once).
        premium_bps: what is repaid per unit of cost, in basis points (10000 = 100 %,
            between MIN_PREMIUM_BPS and MAX_PREMIUM_BPS).
    """

    holders: tuple[Holder, ...]
    premium_bps: int = MIN_PREMIUM_BPS

    @property
    def cost(self) -> int:
        """The tier's costs: its holders' amounts summed."""
        return sum(h.amount for h in self.holders)


@dataclass(frozen=True, slots=True)
class Advance:
    """Money paid to a participant up front, recovered from her later earnings.

    Fields:
        recipient: the account whose earnings repay it.
        payer: the account repaid (who paid the advance).
        amount: minor units (> 0).
    """

    recipient: int
    payer: int
    amount: int


@dataclass(frozen=True, slots=True)
class Waterfall:
    """An ordered plan over a pool: recoupment tiers, then the profit split, with advances
    recovered from their recipients' earnings.

    Fields:
        tiers: recoupment tiers, first repaid first (may be empty).
        profit: (account_id, bps) pairs summing to 10000; one account at most once.
        advances: recovered in this order.
        royalties: (account_id, bps of the pool) pairs taken off the top before the tiers,
            summing to less than 10000; one account at most once.
    """

    tiers: tuple[Tier, ...]
    profit: tuple[tuple[int, int], ...]
    advances: tuple[Advance, ...] = ()
    royalties: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        check_waterfall(self)

    def accounts(self) -> list[int]:
        """Every account the waterfall can pay, ascending (the bucket's canonical order)."""
        found = {h.account_id for t in self.tiers for h in t.holders}
        found.update(account for account, _ in self.profit)
        found.update(a.recipient for a in self.advances)
        found.update(a.payer for a in self.advances)
        found.update(account for account, _ in self.royalties)
        return sorted(found)

    def parties(self) -> tuple[Party, ...]:
        """The bucket's parties: every account, weighted by its share once every tier is
        repaid and every advance recovered (its profit bps of what the royalties leave, plus
        its royalty; 0 for a holder or payer only); all held. Weights sum to DENOMINATOR."""
        profit = dict(self.profit)
        royalty = dict(self.royalties)
        left = BPS - sum(royalty.values())
        unit = DENOMINATOR // (BPS * BPS)
        return tuple(
            Party(account, (profit.get(account, 0) * left + royalty.get(account, 0) * BPS) * unit)
            for account in self.accounts()
        )

    def to_json(self) -> dict[str, Any]:
        """The waterfall as plain JSON (stored with its bucket; "royalties" only when there
        are some, so a waterfall without them keeps the digest it always had)."""
        data: dict[str, Any] = {
            "tiers": [
                {
                    "premium_bps": t.premium_bps,
                    "holders": [[h.account_id, h.amount] for h in t.holders],
                }
                for t in self.tiers
            ],
            "profit": [[account, bps] for account, bps in self.profit],
            "advances": [[a.recipient, a.payer, a.amount] for a in self.advances],
        }
        if self.royalties:
            data["royalties"] = [[account, bps] for account, bps in self.royalties]
        return data

    def digest(self) -> str:
        """sha256 of the JSON form: pins a bucket's waterfall."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def waterfall_from_json(data: dict[str, Any]) -> Waterfall:
    """Rebuild a waterfall from Waterfall.to_json()."""
    return Waterfall(
        tiers=tuple(
            Tier(
                tuple(Holder(int(a), int(m)) for a, m in tier["holders"]),
                int(tier["premium_bps"]),
            )
            for tier in data["tiers"]
        ),
        profit=tuple((int(a), int(b)) for a, b in data["profit"]),
        advances=tuple(Advance(int(r), int(p), int(m)) for r, p, m in data.get("advances", [])),
        royalties=tuple((int(a), int(b)) for a, b in data.get("royalties", [])),
    )


def _is_int(value: object) -> bool:
    return type(value) is int


def check_waterfall(plan: Waterfall) -> None:
    """Raise ValueError naming the first thing wrong with a waterfall's terms."""
    for index, tier in enumerate(plan.tiers, start=1):
        if not tier.holders:
            raise ValueError(f"tier {index} has no cost holder")
        if not _is_int(tier.premium_bps) or not (
            MIN_PREMIUM_BPS <= tier.premium_bps <= MAX_PREMIUM_BPS
        ):
            raise ValueError(
                f"tier {index}: the premium must be between 100 % and 1,000 %,"
                f" got {tier.premium_bps} bps"
            )
        ids = [h.account_id for h in tier.holders]
        if len(set(ids)) != len(ids):
            raise ValueError(f"tier {index} names a holder twice")
        if any(not _is_int(h.amount) or h.amount <= 0 for h in tier.holders):
            raise ValueError(f"tier {index}: costs are positive integers of minor units")
    accounts = [account for account, _ in plan.profit]
    if len(set(accounts)) != len(accounts):
        raise ValueError("the profit split names an account twice")
    if any(not _is_int(bps) or bps < 0 for _, bps in plan.profit):
        raise ValueError("profit shares are non-negative integers of basis points")
    if sum(bps for _, bps in plan.profit) != BPS:
        raise ValueError("the profit split must sum to 10000 bps")
    royalty_accounts = [account for account, _ in plan.royalties]
    if len(set(royalty_accounts)) != len(royalty_accounts):
        raise ValueError("the royalties name an account twice")
    if any(not _is_int(bps) or bps <= 0 for _, bps in plan.royalties):
        raise ValueError("royalties are positive integers of basis points")
    if sum(bps for _, bps in plan.royalties) >= BPS:
        raise ValueError("royalties must leave part of the pool: together under 10000 bps")
    for advance in plan.advances:
        if not _is_int(advance.amount) or advance.amount <= 0:
            raise ValueError("an advance is a positive integer of minor units")
        if advance.recipient == advance.payer:
            raise ValueError("an advance's payer cannot be its recipient")


def common_denominator(plan: Waterfall) -> int:
    """Q: every exact amount of the waterfall, times Q, is an integer."""
    return BPS * BPS * lcm(1, *(tier.cost for tier in plan.tiers))


def exact_numerators(plan: Waterfall, pool: int, q: int | None = None) -> dict[int, int]:
    """Each account's exact waterfall amount at cumulative pool `pool`, times Q."""
    if q is None:
        q = common_denominator(plan)
    amounts = dict.fromkeys(plan.accounts(), 0)
    left = pool * q
    for account, bps in plan.royalties:
        royalty = pool * bps * (q // BPS)  # exact: Q is a multiple of BPS^2
        amounts[account] += royalty
        left -= royalty
    for tier in plan.tiers:
        if left <= 0:
            break
        cost = tier.cost
        take = min(left, cost * tier.premium_bps * (q // BPS))
        per_unit = take // cost  # exact: take and q are multiples of lcm(costs) x BPS
        for holder in tier.holders:
            amounts[holder.account_id] += per_unit * holder.amount
        left -= take
    if left > 0:
        per_bps = left // BPS  # exact: pool x Q and every cap are multiples of BPS
        for account, bps in plan.profit:
            amounts[account] += per_bps * bps
    for advance in plan.advances:
        recovered = min(advance.amount * q, max(amounts[advance.recipient], 0))
        amounts[advance.recipient] -= recovered
        amounts[advance.payer] += recovered
    return amounts


def waterfall_target(plan: Waterfall, pool: int, q: int | None = None) -> list[int]:
    """Each account's money at cumulative pool `pool`, in ascending account order: floors of
    the exact amounts, then one unit each to the largest remainders (ties: lower account id)."""
    if not _is_int(pool) or pool < 0:
        raise ValueError(f"a waterfall's cumulative pool is a non-negative int, got {pool!r}")
    if q is None:
        q = common_denominator(plan)
    numerators = list(exact_numerators(plan, pool, q).values())  # ascending account order
    shares = [n // q for n in numerators]
    left = pool - sum(shares)
    if left:
        remainders = [n % q for n in numerators]
        for index in sorted(range(len(shares)), key=remainders.__getitem__, reverse=True)[:left]:
            shares[index] += 1
    return shares


def break_even(plan: Waterfall) -> int:
    """The cumulative pool at which every tier is repaid (the exact amount, rounded up; the
    royalties' part of the pool comes off first)."""
    caps = sum(tier.cost * tier.premium_bps for tier in plan.tiers)
    left = BPS - royalty_bps(plan)
    return -(-caps // left)


def royalty_bps(plan: Waterfall) -> int:
    """The royalties' part of the pool, in basis points."""
    return sum(bps for _, bps in plan.royalties)


def tier_positions(plan: Waterfall, pool: int) -> list[tuple[int, int]]:
    """(repaid so far, cap) per tier at cumulative pool `pool`, in minor units rounded down."""
    positions = []
    left = pool * (BPS - royalty_bps(plan))
    for tier in plan.tiers:
        cap = tier.cost * tier.premium_bps
        take = min(max(left, 0), cap)
        positions.append((take // BPS, -(-cap // BPS)))
        left -= take
    return positions


def recovered_advances(plan: Waterfall, pool: int) -> list[int]:
    """Per advance, how much of it is recovered at cumulative pool `pool` (rounded down)."""
    q = common_denominator(plan)
    amounts = dict.fromkeys(plan.accounts(), 0)
    full = exact_numerators(
        Waterfall(plan.tiers, plan.profit, royalties=plan.royalties), pool, q
    )
    amounts.update(full)
    recovered = []
    for advance in plan.advances:
        taken = min(advance.amount * q, max(amounts[advance.recipient], 0))
        amounts[advance.recipient] -= taken
        amounts[advance.payer] += taken
        recovered.append(taken // q)
    return recovered


def step(plan: Waterfall, pool_before: int, gross: int) -> dict[int, int]:
    """One event's money per account: target(before + gross) - target(before)."""
    before = waterfall_target(plan, pool_before)
    after = waterfall_target(plan, pool_before + gross)
    return {a: y - x for a, x, y in zip(plan.accounts(), before, after, strict=True)}


@dataclass(frozen=True, slots=True)
class Positions:
    """Where each party of a waterfall stands at a cumulative pool, exactly (for statements:
    the money itself is what target() posted, within one unit of these).

    Fields:
        pool: the cumulative pool.
        tiers: per tier, (repaid so far, cap).
        holders: per tier, per holder account, (repaid so far, owed in all).
        profit: per profit account, its share of the profit so far.
        advances: per advance, how much of it is recovered.
        royalties: per royalty account, its royalty so far.
    """

    pool: int
    tiers: tuple[tuple[Fraction, Fraction], ...]
    holders: tuple[dict[int, tuple[Fraction, Fraction]], ...]
    profit: dict[int, Fraction]
    advances: tuple[Fraction, ...]
    royalties: dict[int, Fraction] = field(default_factory=dict)


def positions(plan: Waterfall, pool: int) -> Positions:
    """Each party's exact position at cumulative pool `pool` (see exact_numerators)."""
    earned = dict.fromkeys(plan.accounts(), Fraction(0))
    royalties = {account: Fraction(pool * bps, BPS) for account, bps in plan.royalties}
    for account, amount in royalties.items():
        earned[account] += amount
    left = Fraction(pool) - sum(royalties.values(), Fraction(0))
    tiers, holders = [], []
    for tier in plan.tiers:
        cost = tier.cost
        cap = Fraction(cost * tier.premium_bps, BPS)
        take = max(Fraction(0), min(left, cap))
        tiers.append((take, cap))
        shares = {}
        for holder in tier.holders:
            shares[holder.account_id] = (take * holder.amount / cost, cap * holder.amount / cost)
            earned[holder.account_id] += take * holder.amount / cost
        holders.append(shares)
        left -= take
    profit = {account: max(left, Fraction(0)) * bps / BPS for account, bps in plan.profit}
    for account, amount in profit.items():
        earned[account] += amount
    recovered = []
    for advance in plan.advances:
        taken = min(Fraction(advance.amount), max(earned[advance.recipient], Fraction(0)))
        earned[advance.recipient] -= taken
        earned[advance.payer] += taken
        recovered.append(taken)
    return Positions(pool, tuple(tiers), tuple(holders), profit, tuple(recovered), royalties)
