"""The headline of a creator's series dashboard: revenue paid by viewers, net to the series'
team, unlocks, each against the previous period of the same length; and the dashboard's period
from the query string (a preset number of days, or a custom range of whole UTC days).

Reads the ledger's daily statement rollups of the series' buckets (gross, events and each
party's amount per day and line): never a row per unlock.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ledger.rollups import DAY, ROUNDING, day_of, rollup_lines
from ledger.schema import Account, StatementDay
from marketplace.dashboard.analytics import UNLOCK_KINDS, delta
from marketplace.errors import ValidationFailed
from marketplace.splits.models import TeamMember
from marketplace.studio.models import Series

PRESET_DAYS = (30, 90, 365)
MAX_CUSTOM_DAYS = 731


@dataclass(frozen=True)
class Period:
    """The dashboard's period [start, end): `days` long; custom ranges carry their first and
    last day (UTC dates, inclusive); presets have neither."""

    start: datetime
    end: datetime
    days: int
    first: date | None = None
    last: date | None = None

    @property
    def custom(self) -> bool:
        """Whether a person chose the dates (not a preset)."""
        return self.first is not None


def preset_period(now: datetime, days: int) -> Period:
    """The last `days` days up to now."""
    return Period(start=now - timedelta(days=days), end=now, days=days)


def custom_period(now: datetime, first_text: str, last_text: str) -> Period:
    """The whole UTC days from `first_text` to `last_text` (YYYY-MM-DD, inclusive), up to now;
    ValidationFailed names each field that is wrong and why."""
    problems: list[tuple[str, str]] = []
    dates: dict[str, date] = {}
    wrong_format = {
        "from": _("Enter the from date as YYYY-MM-DD (e.g. 2026-01-31)."),
        "to": _("Enter the to date as YYYY-MM-DD (e.g. 2026-01-31)."),
    }
    for name, text in (("from", first_text), ("to", last_text)):
        try:
            dates[name] = date.fromisoformat((text or "").strip())
        except ValueError:
            problems.append((name, wrong_format[name]))
    today = now.astimezone(UTC).date()
    if not problems:
        first, last = dates["from"], dates["to"]
        if first > last:
            problems.append(("from", _("The from date must be on or before the to date.")))
        elif first > today:
            problems.append(
                ("from", _("The from date is in the future: there are no figures yet."))
            )
        elif (last - first).days + 1 > MAX_CUSTOM_DAYS:
            problems.append(("to", _("A range is at most %(days)s days.", days=MAX_CUSTOM_DAYS)))
    if problems:
        raise ValidationFailed(problems)
    first, last = dates["from"], min(dates["to"], today)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = min(datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1), now)
    return Period(start=start, end=end, days=(last - first).days + 1, first=first, last=last)


@dataclass
class Headline:
    """Figures of a period and of the one before it (same length). Money per currency in
    minor units: revenue (paid by viewers, refunds netted) and net to the team (what the
    series' members were credited); unlocks net of refunds."""

    revenue: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    revenue_before: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    net: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    net_before: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unlocks: int = 0
    unlocks_before: int = 0

    def currencies(self) -> list[str]:
        """Every currency with a figure in either period."""
        return sorted(set(self.revenue) | set(self.revenue_before) | set(self.net))

    @staticmethod
    def change(now: int, before: int) -> str:
        """The change from the previous period as a signed percentage ("new", "-")."""
        return delta(now, before)


def _member_accounts(session: Session, series_id: int) -> dict[str, list[int]]:
    """The series' team members' earnings accounts, per currency."""
    members = [
        str(m)
        for m in session.scalars(select(TeamMember.id).where(TeamMember.series_id == series_id))
    ]
    by_currency: dict[str, list[int]] = defaultdict(list)
    if members:
        for account_id, currency in session.execute(
            select(Account.id, Account.currency).where(
                Account.owner_type == "member",
                Account.purpose == "earnings",
                Account.owner_id.in_(members),
            )
        ):
            by_currency[currency].append(account_id)
    return by_currency


def series_headline(
    session: Session, series: Series, period: Period, bucket_currency: dict[int, str]
) -> Headline:
    """Revenue, net to the team and unlocks of the period and of the previous one.

    `bucket_currency` maps the series' buckets to their currency (the revenue rows' currency).
    """
    headline = Headline()
    before_start = period.start - (period.end - period.start)
    spans = (
        (day_of(period.start), period.end, True),
        (day_of(before_start), day_of(period.start), False),
    )
    if bucket_currency:
        for first, end, current in spans:
            for currency, events, gross in _bucket_totals(
                session, list(bucket_currency), bucket_currency, first, end
            ):
                (headline.revenue if current else headline.revenue_before)[currency] += gross
                if current:
                    headline.unlocks += events
                else:
                    headline.unlocks_before += events
    for currency, accounts in _member_accounts(session, series.id).items():
        for first, end, current in spans:
            credited = 0
            for _kind, key, amount, _events in rollup_lines(
                session, accounts, first, end, fields=("series_id",), span=DAY
            ):
                if json.loads(key) == [series.id]:
                    credited -= amount  # postings are debit-positive: a credit is negative
            if credited:
                (headline.net if current else headline.net_before)[currency] += credited
    return headline


def _bucket_totals(
    session: Session,
    buckets: list[int],
    bucket_currency: dict[int, str],
    first: datetime,
    end: datetime,
) -> list[tuple[str, int, int]]:
    """(currency, unlocks net of refunds, gross) of each bucket over [first, end)."""
    is_unlock = or_(*(StatementDay.line_key.like(f'%"{kind}"]') for kind in UNLOCK_KINDS))
    signed = case((StatementDay.earning, StatementDay.events), else_=-StatementDay.events)
    rows = session.execute(
        select(
            StatementDay.bucket_id,
            func.sum(case((is_unlock, signed), else_=0)),
            func.sum(StatementDay.gross),
        )
        .where(
            StatementDay.bucket_id.in_(buckets),
            StatementDay.day >= first,
            StatementDay.day < end,
            StatementDay.line_key.not_like(f'%"{ROUNDING}"]'),
        )
        .group_by(StatementDay.bucket_id)
    )
    return [(bucket_currency[b], int(e or 0), int(g or 0)) for b, e, g in rows]
