"""Drift-free cumulative splits: share weights over a common denominator and the largest
remainder method, in integers only.

A bucket's parties hold weights w_i summing to DENOMINATOR. At cumulative gross C, target(C)
gives each party floor(C * w_i / D) and hands the units left over one each to the largest
remainders, ties by ascending account id. An event moving C from a to b pays
target(b) - target(a), so every party's cumulative amount stays within one minor unit of its
exact share however many events there are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DENOMINATOR = 10**12
"""The common denominator D of share weights: bps x bps x bps."""

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Party:
    """One party of a split.

    Fields:
        account_id: the account credited with the party's share.
        weight: the party's share as a numerator over DENOMINATOR (weights of a bucket sum to D).
        held: whether the share waits for the event's available_at (participants) or is
            available at once (the partner's commission, the platform's fee).
    """

    account_id: int
    weight: int
    held: bool = True


def split_parties(
    *,
    partner_account_id: int,
    partner_bps: int,
    platform_account_id: int,
    platform_fee_bps: int,
    participants: Sequence[tuple[int, int]],
) -> tuple[Party, ...]:
    """Return the parties of a split: partner p bps, platform fee c bps of the rest, participants
    b_i bps (summing to 10000) of what remains; a participant listed twice has its bps added."""
    if not (0 <= partner_bps <= BPS and 0 <= platform_fee_bps <= BPS):
        raise ValueError("partner and platform shares are basis points in [0, 10000]")
    merged: dict[int, int] = {}
    for account_id, bps in participants:
        if bps < 0:
            raise ValueError("participant shares are non-negative basis points")
        merged[account_id] = merged.get(account_id, 0) + bps
    if sum(merged.values()) != BPS:
        raise ValueError("participant shares must sum to 10000 bps")
    rest = (BPS - partner_bps) * (BPS - platform_fee_bps)
    parties = [
        Party(partner_account_id, partner_bps * 10**8, held=False),
        Party(platform_account_id, (BPS - partner_bps) * platform_fee_bps * BPS, held=False),
        *(Party(account_id, rest * bps) for account_id, bps in merged.items()),
    ]
    return canonical_parties(parties)


def canonical_parties(parties: Sequence[Party]) -> tuple[Party, ...]:
    """Return the parties sorted by account id, checking distinct accounts and weights sum to D."""
    ordered = tuple(sorted(parties, key=lambda p: p.account_id))
    ids = [p.account_id for p in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a split names an account twice: {ids}")
    if any(type(p.weight) is not int or p.weight < 0 for p in ordered):
        raise ValueError("party weights are non-negative ints")
    if sum(p.weight for p in ordered) != DENOMINATOR:
        raise ValueError(f"party weights must sum to {DENOMINATOR}")
    return ordered


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split an integer total in proportion to weights: floors, then one unit each to the
    largest remainders; ties go to the earlier weight (callers order parties by account id)."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must have a positive sum")
    shares = []
    remainders = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, whole)
        shares.append(share)
        remainders.append((-remainder, index))
    left = total - sum(shares)
    for _, index in sorted(remainders)[:left]:
        shares[index] += 1
    return shares


def target(parties: tuple[Party, ...], cumulative: int) -> list[int]:
    """Return each canonical party's money at cumulative gross C (largest remainder of C)."""
    return target_of_weights(tuple(p.weight for p in parties), cumulative)


def target_of_weights(weights: tuple[int, ...], cumulative: int) -> list[int]:
    """target() for canonical weights (summing to DENOMINATOR): the hot path of allocation,
    once per event. Same result as largest_remainder(cumulative, weights)."""
    products = list(map(cumulative.__mul__, weights))
    shares = [p // DENOMINATOR for p in products]
    left = cumulative - sum(shares)
    if left:
        remainders = [p % DENOMINATOR for p in products]
        if left == 1:  # the first largest remainder: the same as the sort below picks
            shares[remainders.index(max(remainders))] += 1
            return shares
        # A stable sort, reversed: larger remainders first, ties in the weights' order.
        for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
            shares[index] += 1
    return shares


def party_amounts(parties: Sequence[Party], cumulative_before: int, gross: int) -> dict[int, int]:
    """Return one event's exact money per party account: target(before + gross) - target(before)."""
    ordered = canonical_parties(parties)
    before = target(ordered, cumulative_before)
    after = target(ordered, cumulative_before + gross)
    return {p.account_id: a - b for p, a, b in zip(ordered, after, before, strict=True)}


def parties_hash(currency: str, debit_account_id: int, parties: tuple[Party, ...]) -> str:
    """Return the hash that pins a bucket's currency, debit account and parties."""
    content = [currency, debit_account_id, [[p.account_id, p.weight, p.held] for p in parties]]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def parties_from_json(rows: list[list[Any]]) -> tuple[Party, ...]:
    """Rebuild a bucket's parties from its stored JSON."""
    return tuple(Party(int(a), int(w), bool(h)) for a, w, h in rows)
