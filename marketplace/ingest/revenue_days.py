"""The analytics' daily money rollup (series_revenue_days): the facts a post_revenue call
posts, summed per series, UTC day, episode, partner app, kind and currency, and added in one
statement to the rows (in key order, so concurrent posters never deadlock on them). Written in
the poster's transaction, with the ledger entries it sums: both commit or neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date

from sqlalchemy import text
from sqlalchemy.orm import Session

from ledger.journal import int_array, is_postgresql, pg_array
from marketplace.ingest.models import SeriesRevenueDays

DayKey = tuple[int, date, int, int, str, str]
"""(series_id, day, episode or 0, partner_id, kind, currency): one rollup row."""

_KEY = ("series_id", "day", "episode", "partner_id", "kind", "currency")

_PG_ADD = text(
    "INSERT INTO series_revenue_days AS r"
    " (series_id, day, episode, partner_id, kind, currency, events, gross)"
    " SELECT * FROM unnest(CAST(:s AS int[]), CAST(:d AS date[]), CAST(:e AS int[]),"
    " CAST(:p AS int[]), CAST(:k AS text[]), CAST(:c AS text[]), CAST(:n AS bigint[]),"
    " CAST(:g AS bigint[]))"
    " ON CONFLICT (series_id, day, episode, partner_id, kind, currency) DO UPDATE"
    " SET events = r.events + excluded.events, gross = r.gross + excluded.gross"
)


def add_revenue_days(session: Session, partner_id: int, currency: str, facts: Sequence) -> None:
    """Add posted facts (RevenueFacts of one partner app) to the daily rollup; no commit."""
    totals: dict[DayKey, list[int]] = {}
    for fact in facts:
        key = (
            fact.series_id,
            fact.occurred_at.astimezone(UTC).date(),
            fact.episode or 0,
            partner_id,
            fact.kind,
            currency,
        )
        found = totals.get(key)
        if found is None:
            found = totals[key] = [0, 0]
        found[0] += 1 if fact.reverses is None else -1
        found[1] += fact.amount
    if not totals:
        return
    rows = sorted(totals.items())
    if is_postgresql(session):
        session.execute(
            _PG_ADD,
            {
                "s": int_array([k[0] for k, _ in rows]),
                "d": "{" + ",".join([k[1].isoformat() for k, _ in rows]) + "}",
                "e": int_array([k[2] for k, _ in rows]),
                "p": int_array([k[3] for k, _ in rows]),
                "k": pg_array([k[4] for k, _ in rows]),
                "c": pg_array([k[5] for k, _ in rows]),
                "n": int_array([v[0] for _, v in rows]),
                "g": int_array([v[1] for _, v in rows]),
            },
        )
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    table = SeriesRevenueDays.__table__
    statement = sqlite_insert(table)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["series_id", "day", "episode", "partner_id", "kind", "currency"],
            set_={
                "events": table.c.events + statement.excluded.events,
                "gross": table.c.gross + statement.excluded.gross,
            },
        ),
        [
            dict(zip(_KEY, key, strict=True)) | {"events": events, "gross": gross}
            for key, (events, gross) in rows
        ],
    )


__all__ = ["add_revenue_days"]
