"""A creator's analytics of one series: the funnel (episode-1 viewers, free episodes completed,
first paid unlock, unlocks of each episode), retention as a share of episode-1 viewers, revenue
per 1,000 viewers and by revenue type, the same figures for the series' other language versions,
and the change from the previous period of the same length; by partner app and country.

Reads pre-aggregated rows only: episode_view_days (one row per app, episode and day, kept by
the views ingestion) or, for a country, episode_views (per country too, index on (series_id,
country, day)), the series' daily money (series_revenue_days, kept by the ledger poster: events
and gross per day, episode, app, kind and currency) or, for a country, the ledger's daily
statement rollups of the series' buckets (per country too), and the bundles and pools of the
period (their per-episode attribution, a partial index on kind and time): never a row per view
or unlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, text
from sqlalchemy.orm import Session

from ledger.journal import is_postgresql
from ledger.rollups import ROUNDING, day_of
from ledger.schema import AllocationBucket, UTCDateTime
from marketplace.ingest.models import (
    REVENUE_TYPES,
    EpisodeViewDays,
    EpisodeViews,
    PartnerEvent,
    SeriesRevenueDays,
)
from marketplace.studio.models import Series

UNLOCK_KINDS = ("unlock", "coins")


@dataclass(frozen=True)
class Filters:
    """Which slice of the figures: a partner app, a country (ISO alpha-2), or all."""

    partner_id: int | None = None
    country: str | None = None


@dataclass
class Figures:
    """One series' figures over one period: per episode starts, completions, unlocks (net of
    refunds) and attributed revenue per currency; revenue per type and currency."""

    free_episodes: int
    starts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    completions: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    unlocks: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    episode_revenue: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    by_type: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    @property
    def viewers(self) -> int:
        """Episode-1 viewers (its starts)."""
        return self.starts.get(1, 0)

    @property
    def free_completed(self) -> int | None:
        """Completions of the last free episode (None: the series has no free episode)."""
        return self.completions.get(self.free_episodes, 0) if self.free_episodes else None

    @property
    def first_paid(self) -> int:
        """Unlocks of the first paid episode."""
        return self.unlocks.get(self.free_episodes + 1, 0)

    @property
    def revenue(self) -> dict[str, int]:
        """Total revenue per currency (every type, refunds netted)."""
        totals: dict[str, int] = defaultdict(int)
        for (_, currency), gross in self.by_type.items():
            totals[currency] += gross
        return dict(sorted(totals.items()))

    def per_thousand(self) -> dict[str, int]:
        """Revenue per 1,000 episode-1 viewers, per currency (minor units, floor)."""
        if not self.viewers:
            return {}
        return {c: g * 1000 // self.viewers for c, g in self.revenue.items()}

    def episodes(self) -> list[int]:
        """Every episode with a figure, in order."""
        numbers = set(self.starts) | set(self.unlocks) | {e for e, _ in self.episode_revenue}
        return sorted(numbers)


def share(part: int | None, whole: int) -> str:
    """part / whole as a percentage with one decimal, from integers ("-" when undefined)."""
    if part is None or whole <= 0:
        return "-"
    tenths = (part * 1000 + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10} %"


def delta(now: int | None, before: int | None) -> str:
    """The change from the previous period, as a signed percentage ("new", "-")."""
    if now is None or before is None:
        return "-"
    if before == 0:
        return "-" if now == 0 else "new"
    tenths = (abs(now - before) * 1000 + before // 2) // before
    sign = "+" if now >= before else "-"
    return f"{sign}{tenths // 10}.{tenths % 10} %"


def _rollup_sql(session: Session, filters: Filters) -> Any:
    """Events and gross of the series' buckets per period (0: previous, 1: current), episode,
    kind and bucket, from the daily rollups (filtered by partner app and country)."""
    positions = {"episode": 1, "partner_id": 2, "country": 3, "kind": 4}
    if is_postgresql(session):
        # The key is a compact JSON list of flat values without commas inside (ids, ISO
        # codes, kinds): split_part reads it several times faster than a JSON cast.
        f = {
            k: f"nullif(btrim(split_part(r.line_key, ',', {i + 1}), '\"[]'), 'null')"
            for k, i in positions.items()
        }
        bucket_filter = "r.bucket_id = ANY(CAST(:buckets AS bigint[]))"
    else:
        f = {k: f"json_extract(r.line_key, '$[{i}]')" for k, i in positions.items()}
        bucket_filter = "r.bucket_id IN (SELECT value FROM json_each(:buckets))"
    where = [bucket_filter, "r.day >= :start", "r.day < :end", "r.line_key NOT LIKE :rounding"]
    if filters.partner_id is not None:
        where.append(f"CAST({f['partner_id']} AS integer) = :partner")
    if filters.country:
        where.append(f"{f['country']} = :country")
    sql = (
        "SELECT CASE WHEN r.day >= :middle THEN 1 ELSE 0 END,"  # noqa: S608 (constants)
        f" {f['episode']}, {f['kind']}, r.bucket_id,"
        " sum(CASE WHEN r.earning THEN r.events ELSE -r.events END), sum(r.gross)"
        f" FROM ledger_statement_days AS r WHERE {' AND '.join(where)} GROUP BY 1, 2, 3, 4"
    )
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime),
        bindparam("middle", type_=UTCDateTime),
        bindparam("end", type_=UTCDateTime),
    )


def series_figures(
    session: Session,
    series: Series,
    start: datetime,
    end: datetime,
    filters: Filters,
    *,
    previous: bool = True,
    funnel_only: bool = False,
) -> tuple[Figures, Figures]:
    """One series' figures over [start, end) (whole UTC days from start's) and over the
    period of the same length before it (empty unless `previous`), in one scan of each table.
    funnel_only: the views of episode 1 and the last free episode only, no attribution."""
    figures = (Figures(series.free_episodes), Figures(series.free_episodes))
    middle = day_of(start)
    first = day_of(middle - (end - start)) if previous else middle
    funnel = {1, max(1, series.free_episodes)}
    # The current period per episode; the previous one (deltas) and other versions only for
    # the funnel's episodes.
    # (which figures, first day, day after the last, episodes or all)
    spans = [(1, middle.date(), end.date() + timedelta(days=1), funnel if funnel_only else None)]
    if previous:
        spans.append((0, first.date(), middle.date(), funnel))
    # No country: the day totals (episode_view_days, a tenth of the rows or less); a country:
    # its rows of episode_views, through the (series_id, country, day) index.
    table = EpisodeViews if filters.country else EpisodeViewDays
    for into, first_day, after_last, episodes in spans:
        views = select(
            table.episode,
            func.sum(table.starts),
            func.sum(table.completions),
        ).where(
            table.series_id == series.id,
            table.day >= first_day,
            table.day < after_last,
        )
        if episodes is not None:
            views = views.where(table.episode.in_(episodes))
        if filters.partner_id is not None:
            views = views.where(table.partner_id == filters.partner_id)
        if filters.country:
            views = views.where(EpisodeViews.country == filters.country)
        for episode, starts, completions in session.execute(views.group_by(table.episode)):
            figures[into].starts[episode] = int(starts)
            figures[into].completions[episode] = int(completions)
    money = (
        _money_by_country(session, series, first, middle, end, filters)
        if filters.country
        else _money(session, series, first.date(), middle.date(), end.date(), filters)
    )
    for period, episode, kind, currency, events, gross in money:
        target = figures[int(period)]
        target.by_type[str(kind), currency] += int(gross)
        if episode:
            if kind in UNLOCK_KINDS:
                target.unlocks[int(episode)] += int(events)
            target.episode_revenue[int(episode), currency] += int(gross)
    if not funnel_only:
        _attributed(session, series, middle, end, filters, figures[1])
    return figures[1], figures[0]


def _money(
    session: Session, series: Series, first: date, middle: date, last: date, filters: Filters
) -> Iterable[tuple[int, int, str, str, int, int]]:
    """(period, episode or 0, kind, currency, events, gross) of the series' money per UTC day
    from first to last (inclusive; period 1 from middle on), from its daily rollup (every
    country together)."""
    table = SeriesRevenueDays
    query = select(
        case((table.day >= middle, 1), else_=0),
        table.episode,
        table.kind,
        table.currency,
        func.sum(table.events),
        func.sum(table.gross),
    ).where(table.series_id == series.id, table.day >= first, table.day <= last)
    if filters.partner_id is not None:
        query = query.where(table.partner_id == filters.partner_id)
    return session.execute(query.group_by(*query.selected_columns[:4])).tuples()


def _money_by_country(
    session: Session,
    series: Series,
    first: datetime,
    middle: datetime,
    end: datetime,
    filters: Filters,
) -> Iterable[tuple[int, int, str, str, int, int]]:
    """As _money, in one country: from the ledger's daily statement rollups of the series'
    buckets (their lines carry the country)."""
    buckets = dict(
        session.execute(
            select(AllocationBucket.id, AllocationBucket.currency).where(
                AllocationBucket.key.like(f"series:{series.id}|%")
            )
        )
        .tuples()
        .all()
    )
    if not buckets:
        return []
    ids = ",".join(map(str, buckets))
    params: dict[str, Any] = {
        "buckets": f"{{{ids}}}" if is_postgresql(session) else f"[{ids}]",
        "start": first,
        "middle": middle,
        "end": end,
        "rounding": f'%"{ROUNDING}"]',
        "partner": filters.partner_id,
        "country": filters.country,
    }
    return [
        (period, int(episode or 0), kind, buckets[bucket_id], events, gross)
        for period, episode, kind, bucket_id, events, gross in session.execute(
            _rollup_sql(session, filters), params
        )
    ]


def _attributed(
    session: Session,
    series: Series,
    start: datetime,
    end: datetime,
    filters: Filters,
    figures: Figures,
) -> None:
    """Add the per-episode attribution of the period's bundles and pools to the figures."""
    query = select(
        PartnerEvent.kind, PartnerEvent.series_id, PartnerEvent.currency, PartnerEvent.details
    ).where(
        PartnerEvent.kind.in_(("bundle", "pool")),
        PartnerEvent.occurred_at >= start,
        PartnerEvent.occurred_at < end,
        or_(PartnerEvent.series_id == series.id, PartnerEvent.series_id.is_(None)),
    )
    if filters.partner_id is not None:
        query = query.where(PartnerEvent.partner_id == filters.partner_id)
    if filters.country:  # pools have no country
        query = query.where(PartnerEvent.country == filters.country)
    for kind, _, currency, details in session.execute(query):
        if not details:
            continue
        if kind == "bundle":
            for offset, amount in enumerate(details.get("attributed", [])):
                figures.episode_revenue[details["first"] + offset, currency] += amount
        else:
            for episode, amount in details.get("episodes", {}).get(str(series.id), []):
                figures.episode_revenue[episode, currency] += amount


def versions_of(session: Session, series: Series) -> list[Series]:
    """The series' language versions owned by the same creator: the original first, then the
    localized ones by id."""
    root = series.original_series_id or series.id
    found = session.scalars(
        select(Series)
        .where(
            or_(Series.id == root, Series.original_series_id == root),
            Series.owner_id == series.owner_id,
        )
        .order_by(Series.id)
    ).all()
    return sorted(found, key=lambda s: (s.id != root, s.id))


@dataclass
class Analytics:
    """The analytics page: this series' figures now and in the previous period, its versions'
    figures, and the one compared with it (if any)."""

    series: Series
    start: datetime
    end: datetime
    filters: Filters
    now: Figures
    before: Figures
    versions: list[tuple[Series, Figures]]
    compared: tuple[Series, Figures] | None


def series_analytics(
    session: Session,
    series: Series,
    now: datetime,
    days: int,
    filters: Filters,
    compare_id: int | None = None,
) -> Analytics:
    """The analytics of a series over the last `days` days (and the `days` before)."""
    start = now - timedelta(days=days)
    figures, before = series_figures(session, series, start, now, filters)
    versions = [
        (
            v,
            figures
            if v.id == series.id
            else series_figures(
                session, v, start, now, filters, previous=False, funnel_only=v.id != compare_id
            )[0],
        )
        for v in versions_of(session, series)
    ]
    compared = next(((v, f) for v, f in versions if v.id == compare_id and v.id != series.id), None)
    return Analytics(series, start, now, filters, figures, before, versions, compared)


__all__ = ["REVENUE_TYPES", "Analytics", "Figures", "Filters", "series_analytics"]


def analytics_csv_rows(analytics: Analytics) -> list[list[Any]]:
    """The page's figures as CSV rows: one per episode, then revenue by type (minor units)."""
    figures = analytics.now
    currencies = sorted({c for _, c in figures.episode_revenue})
    rows: list[list[Any]] = [
        ["episode", "starts", "retention", "completions", "unlocks"]
        + [f"revenue_{c}_minor" for c in currencies]
    ]
    for episode in figures.episodes():
        rows.append(
            [
                episode,
                figures.starts.get(episode, 0),
                share(figures.starts.get(episode, 0), figures.viewers),
                figures.completions.get(episode, 0),
                figures.unlocks.get(episode, 0),
                *(figures.episode_revenue.get((episode, c), 0) for c in currencies),
            ]
        )
    rows.append([])
    rows.append(["revenue_type", "currency", "gross_minor"])
    for (kind, currency), gross in sorted(figures.by_type.items()):
        rows.append([kind, currency, gross])
    return rows
