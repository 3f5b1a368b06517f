"""The poster's side of coin unlocks, bundles and purchases: the ledger events of their event
log rows (ingest/poster.py reads the rows; this decides bucket, money and split).

- coins: the money is the change of the coin position's floor (ingest/coin_values.py), in
  the series' coin bucket of the split version and coin rate decided at acceptance;
- bundle: the price, in the series' bucket, like an unlock without an episode;
- purchase: the platform's commission, in the series' commerce split's bucket if it had one
  at acceptance, else in a commerce bucket of its main split; the partner app takes no share
  (the commission is already the platform's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from marketplace.ingest.kinds.coin_values import CoinEvent, advance_positions, coin_bucket
from marketplace.ingest.revenue import (
    RevenueFacts,
    ShareTerms,
    VersionTerms,
    bucket_key,
    with_contract,
)
from marketplace.partners.models import PartnerApp
from marketplace.splits.terms.commerce import commerce_splits_by_series

SALE_KINDS = frozenset({"coins", "bundle", "purchase"})


def commerce_bucket(series_id: int, partner_id: int, currency: str, split_id: int) -> str:
    """The ledger bucket of a series' commissions under one commerce split version."""
    return f"series:{series_id}|partner:{partner_id}|{currency}|commerce:{split_id}"


def details_of(value: Any) -> dict[str, Any]:
    """An event row's details as a dict (JSON text on some drivers)."""
    if isinstance(value, dict):
        return value
    loaded: dict[str, Any] = json.loads(value) if value else {}
    return loaded


@dataclass
class SaleContext:
    """What a batch's sale rows need: partner currencies, each coin event's money, the
    commerce splits named (as VersionTerms)."""

    currency: dict[int, str] = field(default_factory=dict)
    coin_money: dict[int, int] = field(default_factory=dict)
    commerce: dict[int, VersionTerms] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, rows: Sequence[Row[Any]]) -> SaleContext:
        """Advance the coin positions over the batch's coin rows and load commerce splits."""
        context = cls()
        sales = [row for row in rows if row.kind in SALE_KINDS]
        if not sales:
            return context
        partners = {row.partner_id for row in sales}
        context.currency = {
            partner_id: currency
            for partner_id, currency in session.execute(
                select(PartnerApp.id, PartnerApp.currency).where(PartnerApp.id.in_(partners))
            )
        }
        coins = []
        wanted: set[int] = set()
        for row in sales:
            details = details_of(row.details)
            if row.kind == "coins":
                bucket = coin_bucket(
                    row.series_id,
                    row.partner_id,
                    context.currency[row.partner_id],
                    row.split_version_id,
                    details["rate"],
                )
                coins.append(
                    CoinEvent(
                        row.id, bucket, details["rate"], details["coins"], details["bonus_coins"]
                    )
                )
            elif row.kind == "purchase" and details.get("commerce_split"):
                wanted.add(row.series_id)
        context.coin_money = advance_positions(session, coins)
        for splits in commerce_splits_by_series(session, wanted).values():
            for split_id, series_id, start, fee, shares in splits:
                context.commerce[split_id] = VersionTerms(
                    split_id, series_id, 0, start, fee, tuple(ShareTerms(*s) for s in shares)
                )
        return context


def sale_facts(
    row: Row[Any], context: SaleContext
) -> Iterator[tuple[RevenueFacts, int | VersionTerms | None]]:
    """The ledger event of one coin unlock, bundle or purchase row, with its version."""
    (
        ref,
        partner_id,
        kind,
        series_id,
        episode,
        amount,
        occurred_at,
        country,
        _,
        version,
        available_at,
        details,
        _,
        _,
    ) = row
    currency = context.currency[partner_id]
    if kind == "coins":
        money = context.coin_money.get(ref, 0)
        if money > 0:
            detail = details_of(details)
            bucket = coin_bucket(series_id, partner_id, currency, version, detail["rate"])
            yield (
                RevenueFacts(
                    ref,
                    series_id,
                    money,
                    occurred_at,
                    episode,
                    country,
                    kind,
                    available_at,
                    bucket=bucket,
                ),
                version,
            )
    elif kind == "bundle":
        if amount > 0:
            yield (
                RevenueFacts(
                    ref, series_id, amount, occurred_at, None, country, kind, available_at
                ),
                version,
            )
    elif kind == "purchase" and amount > 0:
        split_id = details_of(details).get("commerce_split")
        if split_id:
            terms = context.commerce[split_id]
            bucket = commerce_bucket(series_id, partner_id, currency, split_id)
            yield (
                RevenueFacts(
                    ref,
                    series_id,
                    amount,
                    occurred_at,
                    episode,
                    country,
                    kind,
                    available_at,
                    bucket=bucket,
                    partner_cut=False,
                ),
                terms,
            )
        else:
            bucket = f"{bucket_key(series_id, partner_id, currency, version)}|commerce"
            yield (
                RevenueFacts(
                    ref,
                    series_id,
                    amount,
                    occurred_at,
                    episode,
                    country,
                    kind,
                    available_at,
                    bucket=bucket,
                    partner_cut=False,
                ),
                version,
            )


def sale_bucket_keys(event: Any, currency: str, contract: int = 1) -> list[str]:
    """The ledger bucket keys a posted sale event's money is in, under the partner's contract
    version in force at it (GET /events/{id})."""
    details = details_of(event.details)
    version = event.split_version_id
    if event.kind == "coins":
        key = coin_bucket(event.series_id, event.partner_id, currency, version, details["rate"])
    elif event.kind == "purchase" and details.get("commerce_split"):
        key = commerce_bucket(
            event.series_id, event.partner_id, currency, details["commerce_split"]
        )
    elif event.kind == "purchase":
        key = f"{bucket_key(event.series_id, event.partner_id, currency, version)}|commerce"
    else:
        return [bucket_key(event.series_id, event.partner_id, currency, version, contract)]
    return [with_contract(key, contract)]
