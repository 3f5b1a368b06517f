"""The coins behind a participant's coin-unlock earnings: for each statement line of kind
"coins", the coin unlocks of the period with the line's series (episode, partner app and
country, where the line has them), their paid coins and bonus coins, as partner apps reported
them (a coin unlock whose coins added less than a minor unit is counted too: its coins are
behind the money all the same). One query, through a partial index on coin unlocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.ingest.models import PartnerEvent

COIN_FIELDS = ("series_id", "episode", "partner_id", "country")
"""The event attributes a coin count can be grouped by (a statement line's, without kind)."""

CoinKey = tuple[tuple[str, Any], ...]
"""A coins line's group without its kind: ((field, value), ...)."""


@dataclass(frozen=True)
class Coins:
    """Coin unlocks behind a line: how many, their paid coins and their bonus coins."""

    unlocks: int = 0
    coins: int = 0
    bonus_coins: int = 0

    def __add__(self, other: Coins) -> Coins:
        return Coins(
            self.unlocks + other.unlocks,
            self.coins + other.coins,
            self.bonus_coins + other.bonus_coins,
        )


def coin_key(group: Any) -> CoinKey:
    """The key of a statement line's group (its items other than kind)."""
    return tuple((name, value) for name, value in group if name in COIN_FIELDS)


def coins_behind(
    session: Session, groups: list[Any], start: datetime, end: datetime
) -> dict[CoinKey, Coins]:
    """The coins of [start, end) behind each of these coins lines' groups, by coin_key."""
    keys = {coin_key(group) for group in groups}
    series_ids = {dict(key).get("series_id") for key in keys} - {None}
    if not series_ids:
        return {}
    fields = [name for name in COIN_FIELDS if any(name in dict(key) for key in keys)]
    columns = [getattr(PartnerEvent, name) for name in fields]
    query = (
        select(
            *columns,
            func.count(),
            func.sum(PartnerEvent.details["coins"].as_integer()),
            func.sum(PartnerEvent.details["bonus_coins"].as_integer()),
        )
        .where(
            PartnerEvent.kind == "coins",
            PartnerEvent.series_id.in_(series_ids),
            PartnerEvent.occurred_at >= start,
            PartnerEvent.occurred_at < end,
        )
        .group_by(*columns)
    )
    found: dict[CoinKey, Coins] = {}
    for row in session.execute(query):
        values = dict(zip(fields, row[: len(fields)], strict=True))
        key = tuple((name, values[name]) for name in fields)
        if key in keys:
            count, coins, bonus = row[len(fields) :]
            found[key] = found.get(key, Coins()) + Coins(
                int(count), int(coins or 0), int(bonus or 0)
            )
    return found


__all__ = ["Coins", "coin_key", "coins_behind"]
