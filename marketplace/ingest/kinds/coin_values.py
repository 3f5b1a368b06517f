"""Coin values and coin positions: what a partner app's coins are worth, and the exact money of
a coin bucket.

A partner app's paid and bonus coins are worth exact rationals of its currency's minor unit
(PartnerCoinRate, versioned, set for the future only). Coin unlocks go to a bucket of their own
per split version and coin rate; its position holds every coin posted to it, and its money is
floor(paid x paid value + bonus x bonus value) over those cumulative counts. An event's money
is the change of that floor, so no event is rounded on its own: the bucket's money is always
within one minor unit under the exact rational total, and the ledger's drift-free split of it
follows. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.journal import is_postgresql
from ledger.money import minor_unit_exponent
from marketplace.errors import ServiceError
from marketplace.ingest.models import CoinPosition, PartnerCoinRate
from marketplace.ingest.revenue import bucket_key
from marketplace.partners.models import PartnerApp


@dataclass(frozen=True, slots=True)
class CoinRate:
    """A coin rate version: id, effective_from, paid and bonus coin values (minor units)."""

    id: int
    effective_from: datetime
    paid: Fraction
    bonus: Fraction


def parse_value(text: str, unit: str, currency: str) -> Fraction:
    """A coin value "1/120" or "0.5" of the currency's major or minor unit, in minor units."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise ServiceError(f"{text!r} is not a number or a fraction.", field="value") from None
    if value < 0:
        raise ServiceError("A coin is worth zero or more.", field="value")
    if unit not in ("major", "minor"):
        raise ServiceError("unit is major or minor.", field="unit")
    return value * 10 ** minor_unit_exponent(currency) if unit == "major" else value


def set_coin_rate(
    session: Session,
    partner: PartnerApp,
    *,
    paid: Fraction,
    bonus: Fraction,
    effective_from: datetime,
    now: datetime | None = None,
) -> PartnerCoinRate:
    """Add a coin rate version effective from a future moment (never backdated); commits."""
    now = now or datetime.now(UTC)
    if effective_from < now:
        raise ServiceError("A coin rate takes effect in the future only.", field="effective_from")
    latest = session.scalar(
        select(PartnerCoinRate.effective_from)
        .where(PartnerCoinRate.partner_id == partner.id)
        .order_by(PartnerCoinRate.effective_from.desc())
        .limit(1)
    )
    if latest is not None and effective_from <= latest:
        raise ServiceError(
            "A coin rate takes effect after the latest one already set.", field="effective_from"
        )
    rate = PartnerCoinRate(
        partner_id=partner.id,
        effective_from=effective_from,
        paid_numerator=paid.numerator,
        paid_denominator=paid.denominator,
        bonus_numerator=bonus.numerator,
        bonus_denominator=bonus.denominator,
    )
    session.add(rate)
    session.commit()
    return rate


def coin_rates(session: Session, partner_id: int) -> list[CoinRate]:
    """The partner app's coin rates, newest effective first (one query)."""
    return [
        CoinRate(rate_id, start, Fraction(pn, pd), Fraction(bn, bd))
        for rate_id, start, pn, pd, bn, bd in session.execute(
            select(
                PartnerCoinRate.id,
                PartnerCoinRate.effective_from,
                PartnerCoinRate.paid_numerator,
                PartnerCoinRate.paid_denominator,
                PartnerCoinRate.bonus_numerator,
                PartnerCoinRate.bonus_denominator,
            )
            .where(PartnerCoinRate.partner_id == partner_id)
            .order_by(PartnerCoinRate.effective_from.desc())
        )
    ]


def rate_in_force(rates: Sequence[CoinRate], at: datetime) -> CoinRate | None:
    """From rates newest-first, the one in force at `at`."""
    return next((rate for rate in rates if rate.effective_from <= at), None)


def coin_bucket(series_id: int, partner_id: int, currency: str, version_id: int, rate: int) -> str:
    """The ledger bucket of a series' coin unlocks under one split version and coin rate."""
    return f"{bucket_key(series_id, partner_id, currency, version_id)}|coins:{rate}"


def coin_money(paid: int, bonus: int, rate: CoinRate) -> int:
    """floor(paid x paid value + bonus x bonus value): a coin position's money."""
    exact = paid * rate.paid + bonus * rate.bonus
    return exact.numerator // exact.denominator


@dataclass(slots=True)
class CoinEvent:
    """One coin unlock to post: its ref, bucket key, rate id, coins and bonus coins."""

    ref: int
    bucket: str
    rate_id: int
    coins: int
    bonus_coins: int


def advance_positions(session: Session, events: Sequence[CoinEvent]) -> dict[int, int]:
    """Move the coin positions over these events, in order; returns each ref's money (the
    change of its bucket's floor). One read and one upsert per batch; the poster's shard lock
    makes it the only writer of these buckets."""
    if not events:
        return {}
    keys = {event.bucket for event in events}
    positions = {
        key: [paid, bonus, money]
        for key, paid, bonus, money in session.execute(
            select(
                CoinPosition.bucket_key,
                CoinPosition.paid_coins,
                CoinPosition.bonus_coins,
                CoinPosition.money,
            ).where(CoinPosition.bucket_key.in_(keys))
        )
    }
    rates = {
        rate_id: CoinRate(rate_id, start, Fraction(pn, pd), Fraction(bn, bd))
        for rate_id, start, pn, pd, bn, bd in session.execute(
            select(
                PartnerCoinRate.id,
                PartnerCoinRate.effective_from,
                PartnerCoinRate.paid_numerator,
                PartnerCoinRate.paid_denominator,
                PartnerCoinRate.bonus_numerator,
                PartnerCoinRate.bonus_denominator,
            ).where(PartnerCoinRate.id.in_({event.rate_id for event in events}))
        )
    }
    money: dict[int, int] = {}
    for event in events:
        position = positions.setdefault(event.bucket, [0, 0, 0])
        position[0] += event.coins
        position[1] += event.bonus_coins
        after = coin_money(position[0], position[1], rates[event.rate_id])
        money[event.ref] = after - position[2]
        position[2] = after
    now = datetime.now(UTC)
    table = CoinPosition.__table__
    insert = (postgresql if is_postgresql(session) else sqlite).insert(table)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["bucket_key"],
            set_={
                "paid_coins": insert.excluded.paid_coins,
                "bonus_coins": insert.excluded.bonus_coins,
                "money": insert.excluded.money,
                "updated_at": insert.excluded.updated_at,
            },
        ),
        [
            {
                "bucket_key": key,
                "paid_coins": paid,
                "bonus_coins": bonus,
                "money": value,
                "updated_at": now,
            }
            for key, (paid, bonus, value) in sorted(positions.items())
        ],
    )
    return money
