"""Views in: starts and completions per episode, UTC day and country, as a partner app counted
them. No money, no event log, no ledger, no row per view: a batch is checked and upserted into
episode_views (a report replaces the day's counts, so a repeat changes nothing), and the day
totals without the country (episode_view_days, what analytics reads) move by the change.
Cheap by design: a day of 10M views is a few thousand rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from ledger.journal import int_array, is_postgresql
from marketplace.ingest.event_log import Result, log_outcomes
from marketplace.ingest.models import EpisodeViewDays, EpisodeViews
from marketplace.ingest.unlocks import COUNTRIES, EpisodeNumbers, live_windows, rejected
from marketplace.partners.models import PartnerApp


@dataclass(slots=True)
class ViewCountIn:
    """A schema-valid view count row (counts may still be negative: refused here)."""

    series_id: int
    episode: int
    day: date
    country: str | None
    starts: int
    completions: int


_PG_ROWS = (
    "SELECT s, e, d, c, st, co FROM unnest("
    " CAST(:series AS int[]), CAST(:episodes AS int[]), CAST(:days AS date[]),"
    " CAST(:countries AS text[]), CAST(:starts AS bigint[]), CAST(:completions AS bigint[]))"
    " AS v(s, e, d, c, st, co)"
)

# First the day totals the batch changes are locked (created at 0 if new), in key order: a
# concurrent report of the same episode and day waits for this one to commit, so the old
# counts read next are the latest (the deltas add up exactly, never counted twice).
_PG_LOCK_DAYS = text(
    "INSERT INTO episode_view_days AS t"  # noqa: S608 (constants)
    " (series_id, day, episode, partner_id, starts, completions)"
    f" SELECT DISTINCT s, d, e, :partner, 0, 0 FROM ({_PG_ROWS}) AS v ORDER BY 1, 2, 3"
    " ON CONFLICT (series_id, day, episode, partner_id) DO UPDATE SET starts = t.starts"
)

# Then in one statement: the rows are upserted and each day total moves by the change of its
# countries' counts (new minus old).
_PG_UPSERT = text(
    f"WITH v AS ({_PG_ROWS}),"  # noqa: S608 (constants)
    " old AS (SELECT v.s, v.e, v.d, v.st - coalesce(x.starts, 0) AS ds,"
    "  v.co - coalesce(x.completions, 0) AS dc FROM v LEFT JOIN episode_views AS x"
    "  ON x.partner_id = :partner AND x.series_id = v.s AND x.episode = v.e AND x.day = v.d"
    "  AND x.country = v.c),"
    " up AS (INSERT INTO episode_views"
    "  (partner_id, series_id, episode, day, country, starts, completions, updated_at)"
    "  SELECT :partner, s, e, d, c, st, co, :now FROM v"
    "  ON CONFLICT (partner_id, series_id, episode, day, country) DO UPDATE SET"
    "  starts = excluded.starts, completions = excluded.completions,"
    "  updated_at = excluded.updated_at)"
    " UPDATE episode_view_days AS t SET starts = t.starts + o.ds,"
    "  completions = t.completions + o.dc"
    " FROM (SELECT s, e, d, sum(ds) AS ds, sum(dc) AS dc FROM old GROUP BY s, e, d) AS o"
    " WHERE t.series_id = o.s AND t.day = o.d AND t.episode = o.e AND t.partner_id = :partner"
)


def _check(item: ViewCountIn, window, episodes, today: date) -> Result | None:
    if item.starts < 0 or item.completions < 0:
        field = "starts" if item.starts < 0 else "completions"
        return rejected(None, "negative_count", "View counts are zero or more.", field)
    if item.day > today:
        return rejected(None, "occurred_in_future", "day is after today (UTC).", "day")
    if item.country is not None and item.country not in COUNTRIES:
        return rejected(None, "invalid_country", "Unknown ISO 3166 country.", "country")
    listing = window.get(item.series_id)
    start = datetime.combine(item.day, time(), UTC)
    if listing is None or not listing.live_during(start, start + timedelta(days=1)):
        return rejected(
            None,
            "series_not_live",
            "This series was not live on your app that day.",
            "series_id",
        )
    if (item.series_id, item.episode) not in episodes:
        return rejected(None, "unknown_episode", "The series has no such episode.", "episode")
    return None


def ingest_views(
    session: Session, partner: PartnerApp, items: list, now: datetime | None = None
) -> list[Result]:
    """Check a batch of view counts and upsert the good ones (one statement); one result per
    item, in order (id null); commits."""
    now = now or datetime.now(UTC)
    counts = [item for item in items if not isinstance(item, dict)]
    window = live_windows(session, partner.id, {item.series_id for item in counts})
    episodes = EpisodeNumbers(session, set(window))
    results: list[Result] = []
    rows: dict[tuple[int, int, date, str], tuple[int, int]] = {}
    for item in items:
        if isinstance(item, dict):
            results.append(item)
            continue
        problem = _check(item, window, episodes, now.date())
        results.append(problem or {"id": None, "status": "accepted"})
        if problem is None:  # a key twice in a batch: the later count wins
            rows[item.series_id, item.episode, item.day, item.country or ""] = (
                item.starts,
                item.completions,
            )
    # Read before the commit expires it (a reload would be one more query per batch).
    who = SimpleNamespace(id=partner.id, name=partner.name)
    if rows:
        _upsert(session, partner.id, sorted(rows.items()), now)
    session.commit()
    log_outcomes(who, "views", results)  # type: ignore[arg-type]
    return results


def _upsert(session: Session, partner_id: int, rows: list, now: datetime) -> None:
    """Upsert the batch's rows (in key order: concurrent batches never deadlock) and move their
    day totals (episode_view_days) by the change."""
    if is_postgresql(session):
        params = {
            "partner": partner_id,
            "now": now,
            "series": int_array(key[0] for key, _ in rows),
            "episodes": int_array(key[1] for key, _ in rows),
            # ISO dates and country codes need no quoting in an array literal; "" does.
            "days": "{" + ",".join([key[2].isoformat() for key, _ in rows]) + "}",
            "countries": "{" + ",".join([key[3] or '""' for key, _ in rows]) + "}",
            "starts": int_array(value[0] for _, value in rows),
            "completions": int_array(value[1] for _, value in rows),
        }
        session.execute(_PG_LOCK_DAYS, params)
        session.execute(_PG_UPSERT, params)
        return
    _upsert_sqlite(session, partner_id, rows, now)


def _upsert_sqlite(session: Session, partner_id: int, rows: list, now: datetime) -> None:
    """SQLite (one writer at a time): read the old counts, upsert, add the changes."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    table = EpisodeViews.__table__
    old: dict[tuple, tuple[int, int]] = {}
    for s, e, d, c, st, co in session.execute(
        select(
            table.c.series_id, table.c.episode, table.c.day, table.c.country,
            table.c.starts, table.c.completions,
        ).where(
            table.c.partner_id == partner_id,
            tuple_(table.c.series_id, table.c.episode, table.c.day, table.c.country).in_(
                [key for key, _ in rows]
            ),
        )
    ):  # fmt: skip
        old[s, e, d, c] = (st, co)
    statement = sqlite_insert(table)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["partner_id", "series_id", "episode", "day", "country"],
            set_={
                "starts": statement.excluded.starts,
                "completions": statement.excluded.completions,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        [
            {
                "partner_id": partner_id,
                "series_id": s,
                "episode": e,
                "day": d,
                "country": c,
                "starts": st,
                "completions": co,
                "updated_at": now,
            }
            for (s, e, d, c), (st, co) in rows
        ],
    )
    changes: dict[tuple[int, date, int], list[int]] = {}
    for key, (st, co) in rows:
        before = old.get(key, (0, 0))
        change = changes.setdefault((key[0], key[2], key[1]), [0, 0])
        change[0] += st - before[0]
        change[1] += co - before[1]
    days = sqlite_insert(EpisodeViewDays.__table__)
    session.execute(
        days.on_conflict_do_update(
            index_elements=["series_id", "day", "episode", "partner_id"],
            set_={
                "starts": EpisodeViewDays.__table__.c.starts + days.excluded.starts,
                "completions": EpisodeViewDays.__table__.c.completions + days.excluded.completions,
            },
        ),
        [
            {
                "series_id": s,
                "day": d,
                "episode": e,
                "partner_id": partner_id,
                "starts": ds,
                "completions": dc,
            }
            for (s, d, e), (ds, dc) in sorted(changes.items())
        ],
    )


__all__ = ["ViewCountIn", "ingest_views"]
