"""A creator's per-series dashboard: unlocks per episode (the drop-off curve), revenue by
partner app and country over time, and the team's money (escrow for pending invitations) and
payout readiness. Reads the series' own buckets' events over a bounded period (index on
(bucket_id, effective_at)) and the team's balance rows: never a whole-table scan.

Team members' money on this series is the creator's business (it is the series' split); their
payouts cover all their series, so only readiness and the last payout date are shown, never
amounts from other series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from ledger.balances import get_balances
from ledger.journal import is_postgresql
from ledger.rollups import ROUNDING, day_of
from ledger.schema import Account, AllocationBucket, UTCDateTime
from marketplace.partners.models import PartnerApp
from marketplace.payouts.models import PayoutAccount, PayoutLine
from marketplace.splits.models import TeamMember
from marketplace.splits.services import current_split
from marketplace.studio.models import Listing, Series


@dataclass
class TeamLine:
    """One team member: who, share, and their money on this series per currency."""

    member: TeamMember
    bps: int | None
    balances: list[tuple[str, int, int]]  # (currency, posted, available)
    escrow: bool
    payout_ready: bool
    last_paid_at: datetime | None


@dataclass
class SeriesDashboard:
    """Figures for one series over [start, end)."""

    series: Series
    start: datetime
    end: datetime
    episodes: list[tuple[Any, int]]  # (episode number, unlocks net of refunds)
    by_partner_country: list[tuple[str, str, str, int]]  # (partner, country, currency, gross)
    charts: list[dict[str, Any]]  # revenue per day by partner app, one chart per currency
    team: list[TeamLine]
    currencies: dict[int, str]  # the series' buckets' currencies


def _events_sql(session: Session, columns: str, group: str) -> Any:
    """A query over the series' buckets' daily statement rollups (one row per day and line:
    episode, partner app, country, kind), never over single events."""
    positions = {"episode": 1, "partner_id": 2, "country": 3, "kind": 4}
    if is_postgresql(session):
        field = {f: f"(CAST(r.line_key AS json) ->> {i})" for f, i in positions.items()}
        day = "to_char(r.day AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        bucket_filter = "r.bucket_id = ANY(CAST(:buckets AS bigint[]))"
    else:
        field = {f: f"json_extract(r.line_key, '$[{i}]')" for f, i in positions.items()}
        day = "substr(r.day, 1, 10)"
        bucket_filter = "r.bucket_id IN (SELECT value FROM json_each(:buckets))"
    sql = (
        f"SELECT {columns.format(day=day, **field)}"  # noqa: S608 (constants)
        f" FROM ledger_statement_days AS r WHERE {bucket_filter}"
        " AND r.day >= :start AND r.day < :end AND r.line_key NOT LIKE :rounding"
        f" GROUP BY {group}"
    )
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime), bindparam("end", type_=UTCDateTime)
    )


def series_bucket_ids(session: Session, series_id: int) -> list[int]:
    """The ledger buckets of a series (one per partner app, currency and split version)."""
    return list(
        session.scalars(
            select(AllocationBucket.id).where(AllocationBucket.key.like(f"series:{series_id}|%"))
        )
    )


def series_dashboard(
    session: Session,
    series: Series,
    now: datetime,
    days: int = 90,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
):
    """The dashboard of one series over the last `days` days (or over [start, end))."""
    end = end or now
    start = start or now - timedelta(days=days)
    buckets = series_bucket_ids(session, series.id)
    if is_postgresql(session):
        params: dict[str, Any] = {"buckets": "{" + ",".join(map(str, buckets)) + "}"}
    else:
        params = {"buckets": "[" + ",".join(map(str, buckets)) + "]"}
    # Whole UTC days: the rollups' grain (the first day partly, as the chart's labels do).
    params.update(start=day_of(start), end=end, rounding=f'%"{ROUNDING}"]')
    episodes: dict[Any, int] = defaultdict(int)
    partners = dict(session.execute(select(PartnerApp.id, PartnerApp.name)).tuples().all())
    # Money is in each bucket's currency (the partner app's contract), not the series'.
    currencies = dict(
        session.execute(
            select(AllocationBucket.id, AllocationBucket.currency).where(
                AllocationBucket.id.in_(buckets)
            )
        )
        .tuples()
        .all()
    )
    by_pc: dict[tuple, int] = defaultdict(int)
    daily: dict[tuple[str, str, str], int] = defaultdict(int)
    if buckets:
        query = _events_sql(
            session,
            "{episode}, sum(CASE WHEN r.earning THEN r.events ELSE -r.events END)",
            "1",
        )
        for episode, count in session.execute(query, {**params}):
            if episode is not None:
                episodes[int(episode)] += int(count)
        query = _events_sql(
            session,
            "{partner_id}, {country}, {day}, r.bucket_id, sum(r.gross)",
            "1, 2, 3, 4",
        )
        for partner_id, country, day, bucket_id, gross in session.execute(query, params):
            name = partners.get(int(partner_id), f"Partner {partner_id}") if partner_id else "-"
            currency = currencies[bucket_id]
            by_pc[name, country or "-", currency] += int(gross)
            daily[day, name, currency] += int(gross)
    # Whole days after a partial first one (a rolling period), else from the first day.
    first_label = day_of(start) if start == day_of(start) else day_of(start) + timedelta(days=1)
    labels = []
    while first_label < end:
        labels.append(first_label.date().isoformat())
        first_label += timedelta(days=1)
    charts = [
        {
            "currency": currency,
            "labels": labels,
            "type": "line",
            "datasets": [
                {"label": name, "data": [daily.get((d, name, currency), 0) for d in labels]}
                for name in sorted({n for _, n, c in daily if c == currency})
            ],
        }
        for currency in sorted({c for _, _, c in daily} or {series.currency})
    ]
    return SeriesDashboard(
        series=series,
        start=start,
        end=end,
        episodes=sorted(episodes.items()),
        by_partner_country=sorted(
            ((p, c, cur, g) for (p, c, cur), g in by_pc.items()), key=lambda x: (x[2], -x[3])
        ),
        charts=charts,
        team=team_lines(session, series, now),
        currencies=currencies,
    )


def listed_partners(session: Session, series_id: int) -> list[tuple[int, str]]:
    """(id, name) of the partner apps the series is or was listed on, by name."""
    return [
        (partner_id, name)
        for partner_id, name in session.execute(
            select(PartnerApp.id, PartnerApp.name)
            .join(Listing, Listing.partner_id == PartnerApp.id)
            .where(Listing.series_id == series_id)
            .order_by(PartnerApp.name)
        )
    ]


def team_lines(session: Session, series: Series, now: datetime) -> list[TeamLine]:
    """The team with each membership's balance on this series and payout readiness."""
    members = list(
        session.scalars(
            select(TeamMember).where(TeamMember.series_id == series.id).order_by(TeamMember.id)
        )
    )
    version = current_split(session, series)
    shares = {s.member_id: s.bps for s in version.shares} if version else {}
    accounts = session.execute(
        select(Account.id, Account.owner_id, Account.currency).where(
            Account.owner_type == "member",
            Account.purpose == "earnings",
            Account.owner_id.in_([str(m.id) for m in members]),
        )
    ).all()
    balances = get_balances(session, [a[0] for a in accounts], now) if accounts else {}
    by_member: dict[str, list] = defaultdict(list)
    for account_id, owner_id, currency in accounts:
        b = balances[account_id]
        by_member[owner_id].append((currency, b.posted, b.available))
    user_ids = [m.user_id for m in members if m.user_id]
    ready = set(
        session.scalars(
            select(PayoutAccount.user_id).where(
                PayoutAccount.user_id.in_(user_ids), PayoutAccount.payouts_enabled.is_(True)
            )
        )
    )
    paid = dict(
        session.execute(
            select(PayoutLine.user_id, func.max(PayoutLine.settled_at))
            .where(PayoutLine.user_id.in_(user_ids), PayoutLine.status == "paid")
            .group_by(PayoutLine.user_id)
        )
        .tuples()
        .all()
    )
    return [
        TeamLine(
            member=m,
            bps=shares.get(m.id),
            balances=sorted(by_member.get(str(m.id), [])),
            escrow=not m.accepted,
            payout_ready=m.user_id in ready,
            last_paid_at=paid.get(m.user_id),
        )
        for m in members
    ]


__all__ = [
    "SeriesDashboard",
    "TeamLine",
    "listed_partners",
    "series_bucket_ids",
    "series_dashboard",
    "team_lines",
]
