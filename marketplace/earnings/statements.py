"""Participants' statements: a person's money is the earnings accounts of their accepted team
memberships, per currency; nothing here ever reads another person's accounts.

A statement for [start, end) (UTC, whole days) is ledger.reports.statements.accounts_statement over
those accounts, laid out for people: earnings by series, then episode, partner app and
country; refunds; revenue pools; payouts; other movements (adjustments). opening + every
section == closing, to the minor unit, and each event line drills down to its unlocks.

The web page asks for lines by series and episode (PAGE_FIELDS: the database sums the partner
apps and countries, so a month is ~100 lines, not ~1,600); each line's drill-down shows its
partner app x country breakdown and its unlocks. Downloads ask for every field (EVENT_FIELDS).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from flask_babel import gettext
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from ledger.reports.statements import (
    EVENT_FIELDS,
    Statement,
    StatementEvent,
    StatementLine,
    accounts_statement,
    statement_events,
)
from ledger.schema import Account
from marketplace.earnings.coin_counts import CoinKey, Coins, coin_key, coins_behind
from marketplace.earnings.withholding import show_withholding
from marketplace.errors import NotFound, ServiceError
from marketplace.ingest.models import REVENUE_TYPES, PartnerEvent
from marketplace.partners.contracts import COLLECTED_BASE
from marketplace.partners.models import PartnerApp
from marketplace.payouts.models import PayoutLine
from marketplace.splits.models import TeamMember
from marketplace.studio.models import Series

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_RANGE_DAYS = 366
DRILL_SHOWN = 1000
INT_FIELDS = ("series_id", "episode", "partner_id")
PAGE_FIELDS = ("series_id", "episode", "kind")
"""The event fields the statement page groups by (partner app and country: one click away)."""


def user_accounts(session: Session, user_id: int) -> dict[str, list[int]]:
    """The user's earnings account ids per currency (accepted memberships only)."""
    rows = session.execute(
        select(Account.currency, Account.id)
        .join(
            TeamMember,
            (Account.owner_type == "member")
            & (Account.purpose == "earnings")
            & (Account.owner_id == cast(TeamMember.id, String)),
        )
        .where(TeamMember.user_id == user_id, TeamMember.accepted_at.is_not(None))
        .order_by(Account.currency, Account.id)
    ).all()
    accounts: dict[str, list[int]] = defaultdict(list)
    for currency, account_id in rows:
        accounts[currency].append(account_id)
    return dict(accounts)


def parse_period(
    month: str | None, start: str | None, end: str | None, today: date
) -> tuple[datetime, datetime]:
    """The statement period as aware UTC [start, end): a month "YYYY-MM", or an inclusive
    date range "YYYY-MM-DD".."YYYY-MM-DD", or else the current month."""
    try:
        if start or end:
            first = date.fromisoformat(start or "")
            last = date.fromisoformat(end or "")
            if last < first:
                raise ServiceError("The end date is before the start date.", field="end")
            if (last - first).days >= MAX_RANGE_DAYS:
                raise ServiceError("Choose a range of at most a year.", field="end")
            return _midnight(first), _midnight(last + timedelta(days=1))
        if month:
            found = MONTH.match(month)
            if not found:
                raise ValueError(month)
            first = date(int(found[1]), int(found[2]), 1)
        else:
            first = today.replace(day=1)
    except ValueError as error:
        raise ServiceError("Use a month (YYYY-MM) or dates (YYYY-MM-DD).", field="month") from error
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return _midnight(first), _midnight(following)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class LineView:
    """One statement line for people: labels, amount, count and its drill-down arguments."""

    kind: str
    amount: int
    count: int
    series: str = ""
    episode: Any = None
    partner: str = ""
    country: str = ""
    label: str = ""
    drill: dict[str, Any] | None = None
    entry_ids: list[int] = field(default_factory=list)
    coins: Coins | None = None

    def drill_query(self, base: str) -> str:
        """The drill-down link's query string: the period's (already encoded), then this
        line's (url_for per line was most of a big statement's render)."""
        return base + "&" + urlencode(self.drill or {})

    @property
    def place(self) -> str:
        """Where an event line's money came from: series · episode · partner app · country
        (the parts the line is grouped by)."""
        episode = "" if self.episode is None else f"episode {self.episode}"
        return " · ".join(
            part for part in (self.series, episode, self.partner, self.country) if part
        )


@dataclass
class SeriesSection:
    """A series' earnings lines and their subtotal."""

    title: str
    lines: list[LineView] = field(default_factory=list)

    @property
    def total(self) -> int:
        """The series' earnings in the period."""
        return sum(line.amount for line in self.lines)


@dataclass
class StatementView:
    """A person's statement in one currency, in sections; opening + sections == closing."""

    currency: str
    start: datetime
    end: datetime
    statement: Statement
    earnings: list[SeriesSection]
    refunds: list[LineView]
    pools: list[LineView]
    payouts: list[LineView]
    other: list[LineView]
    coins: dict[CoinKey, Coins] = field(default_factory=dict)

    @property
    def last_day(self) -> date:
        """The period's last day (end is exclusive)."""
        return (self.end - timedelta(days=1)).date()

    def section_total(self, name: str) -> int:
        """The total of one section ("earnings", "refunds", "pools", "payouts", "other")."""
        if name == "earnings":
            return sum(s.total for s in self.earnings)
        return sum(line.amount for line in getattr(self, name))

    def by_type(self) -> list[tuple[str, int, int, Coins | None]]:
        """(revenue type's name, events, amount, coins behind it: coin unlocks only) of the
        earnings and refunds, by type."""
        totals: dict[str, list[int]] = {}
        for line in self.statement.lines:
            if line.kind in ("earning", "refund"):
                kind = "refund" if line.kind == "refund" else dict(line.group).get("kind")
                total = totals.setdefault(str(kind or "unlock"), [0, 0])
                total[0] += line.count
                total[1] += line.amount
        coins = sum(self.coins.values(), Coins()) if self.coins else None
        return [
            (
                gettext(REVENUE_TYPES[kind]) if kind in REVENUE_TYPES else kind,
                count,
                amount,
                coins if kind == "coins" else None,
            )
            for kind, (count, amount) in sorted(totals.items())
        ]

    def all_lines(self) -> list[LineView]:
        """Every line, in the statement's order (for downloads)."""
        lines = [line for section in self.earnings for line in section.lines]
        return lines + self.refunds + self.pools + self.payouts + self.other


def participant_statement(
    session: Session,
    user_id: int,
    currency: str,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    fields: Sequence[str] = EVENT_FIELDS,
) -> StatementView:
    """The user's statement in one currency over [start, end) (their accepted memberships),
    its event lines grouped by `fields` (every field by default; PAGE_FIELDS for the page)."""
    accounts = user_accounts(session, user_id).get(currency)
    if not accounts:
        raise NotFound("You have no earnings in that currency.")
    return statement_view(session, accounts, start, end, now, fields=fields)


def statement_view(
    session: Session,
    accounts: list[int],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    fields: Sequence[str] = EVENT_FIELDS,
) -> StatementView:
    """Lay out the statement of these accounts (same currency) in sections."""
    st = accounts_statement(session, accounts, start, end, now, fields=fields)
    names = _names(session, st.lines)
    earnings: dict[Any, SeriesSection] = {}
    payout_lines: dict[int, LineView] = {}
    view = StatementView(st.currency, start, end, st, [], [], [], [], [])
    for line in st.lines:
        if line.kind in ("earning", "refund"):
            item = _event_line(line, names)
            if line.kind == "refund":
                view.refunds.append(item)
            elif dict(line.group).get("kind") == "pool":
                view.pools.append(item)
            else:
                key = dict(line.group).get("series_id")
                section = earnings.setdefault(key, SeriesSection(item.series))
                section.lines.append(item)
        else:
            meta = dict(line.group)
            label = (
                "Rounding after refunds (your share back to the exact split)"
                if line.kind == "rounding"
                else _entry_label(meta)
            )
            item = LineView(
                line.kind, line.amount, line.count, label=label, entry_ids=list(line.entry_ids)
            )
            (view.payouts if line.kind == "payout" else view.other).append(item)
            if line.kind == "payout" and isinstance(meta.get("line_id"), int):
                payout_lines[meta["line_id"]] = item
    show_withholding(session, payout_lines)
    view.earnings = sorted(earnings.values(), key=lambda s: s.title)
    _add_coins(session, view)
    for section in view.earnings:
        section.lines.sort(key=lambda x: (_sortable(x.episode), x.partner, x.country))
    # Episodes by number (13 after 7), as in the earnings above.
    view.refunds.sort(key=lambda x: (x.series, _sortable(x.episode), x.partner, x.country))
    return view


def _add_coins(session: Session, view: StatementView) -> None:
    """The coins behind the view's coin-unlock earning lines (one query, none without)."""
    lines = [
        line
        for section in view.earnings
        for line in section.lines
        if line.kind == "earning" and line.label == "coins"
    ]
    if not lines:
        return
    groups = [
        tuple((k, None if v == "" else v) for k, v in (line.drill or {}).items()) for line in lines
    ]
    view.coins = coins_behind(session, groups, view.start, view.end)
    for line, group in zip(lines, groups, strict=True):
        line.coins = view.coins.get(coin_key(group), Coins())


def _sortable(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value or ""))


def _names(session: Session, lines: tuple[StatementLine, ...]) -> dict[str, dict]:
    series_ids, partner_ids = set(), set()
    for line in lines:
        group = dict(line.group)
        if isinstance(group.get("series_id"), int):
            series_ids.add(group["series_id"])
        if isinstance(group.get("partner_id"), int):
            partner_ids.add(group["partner_id"])
    series = (
        session.execute(select(Series.id, Series.title).where(Series.id.in_(series_ids)))
        .tuples()
        .all()
    )
    partners = (  # page lines have no partner app: no query
        session.execute(
            select(PartnerApp.id, PartnerApp.name).where(PartnerApp.id.in_(partner_ids))
        )
        .tuples()
        .all()
        if partner_ids
        else []
    )
    return {"series": dict(series), "partners": dict(partners)}


def _event_line(line: StatementLine, names: dict[str, dict]) -> LineView:
    """An event line for people; its drill-down filters on exactly the line's own fields (an
    absent field, e.g. the country of a page line, is not filtered)."""
    group = dict(line.group)
    series_id, partner_id = group.get("series_id"), group.get("partner_id")
    drill = {"line": line.kind, **group}
    return LineView(
        kind=line.kind,
        amount=line.amount,
        count=line.count,
        series=names["series"].get(series_id, f"Series {series_id}"),
        episode=group.get("episode"),
        partner=(
            names["partners"].get(partner_id, f"Partner {partner_id}")
            if "partner_id" in group
            else ""
        ),
        country=group.get("country") or "",
        label=str(group.get("kind") or ""),
        drill={k: ("" if v is None else v) for k, v in drill.items()},
    )


def _entry_label(meta: dict[str, Any]) -> str:
    kind = meta.get("kind") or "entry"
    if kind == "payout":
        return f"Payout (batch {meta.get('batch_id', '?')})"
    if kind == "reversal":
        return f"Reversal of a {meta.get('reverses_kind') or 'previous'} entry"
    if kind == "adjustment":
        return f"Adjustment: {meta.get('reason', '')}".strip()
    return str(kind).replace("_", " ").capitalize()


def parse_drill(args: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Read a drill-down's line from query arguments (line: earning or refund; series_id,
    episode, partner_id, country, kind: the event's attributes, empty when missing)."""
    kind = args.get("line", "")
    if kind not in ("earning", "refund"):
        raise ServiceError("Unknown statement line.", field="line")
    group: dict[str, Any] = {}
    for name in EVENT_FIELDS:
        if name not in args:  # not part of the line: not filtered (episode lines)
            continue
        raw = args.get(name, "")
        if raw == "":
            group[name] = None
        elif name in INT_FIELDS:
            try:
                group[name] = int(raw)
            except ValueError as error:
                raise ServiceError("Unknown statement line.", field=name) from error
        else:
            group[name] = raw
    return kind, group


def participant_line_events(
    session: Session,
    user_id: int,
    currency: str,
    start: datetime,
    end: datetime,
    kind: str,
    group: dict[str, Any],
) -> list[StatementEvent]:
    """The unlocks (or refunds, pool shares) behind one line of the user's own statement,
    each with its exact money; they sum to the line."""
    accounts = user_accounts(session, user_id).get(currency)
    if not accounts:
        raise NotFound("You have no earnings in that currency.")
    return statement_events(session, accounts, start, end, kind=kind, group=group)


def event_sources(session: Session, refs: Sequence[int]) -> dict[int, str]:
    """The partner app's own id of each event behind statement lines (its event log row;
    events posted without one, e.g. by the demo's tools, show their ledger ref)."""
    found: dict[int, str] = {ref: f"#{ref}" for ref in refs}
    wanted = sorted(set(refs))
    for chunk in (wanted[i : i + 1000] for i in range(0, len(wanted), 1000)):
        for row_id, external_id in session.execute(
            select(PartnerEvent.id, PartnerEvent.external_id).where(PartnerEvent.id.in_(chunk))
        ):
            found[row_id] = external_id
    return found


def line_breakdown(session: Session, events: list[StatementEvent]) -> list[LineView]:
    """A drill-down's events summed per partner app and country (an episode line's detail)."""
    partner_ids = {event.attributes.get("partner_id") for event in events}
    partners: dict[int | None, str] = dict(
        session.execute(
            select(PartnerApp.id, PartnerApp.name).where(
                PartnerApp.id.in_([i for i in partner_ids if isinstance(i, int)])
            )
        )
        .tuples()
        .all()
    )
    merged: dict[tuple, LineView] = {}
    for event in events:
        partner_id = event.attributes.get("partner_id")
        country = event.attributes.get("country") or ""
        line = merged.get((partner_id, country))
        if line is None:
            name = partners.get(partner_id, f"Partner {partner_id}")
            line = merged[partner_id, country] = LineView("earning", 0, 0, partner=name,
                                                          country=country)  # fmt: skip
        line.amount += event.amount
        line.count += 1
    return sorted(merged.values(), key=lambda x: (x.partner, x.country))


@dataclass
class CurrencyBalance:
    """A person's money in one currency: available now, pending (by the day it becomes
    available), paid out (the bank got it) and on its way (in a payout batch)."""

    currency: str
    available: int
    pending: int
    pending_by_day: list[tuple[date, int]]
    paid: int
    in_payout: int
    chart: dict[str, Any]


def participant_dashboard(
    session: Session, user_id: int, now: datetime, days: int = 90, zone: tzinfo = UTC
) -> list[CurrencyBalance]:
    """The user's balances per currency and daily earnings over the last `days` days; pending
    money by the day (in `zone`, the reader's time zone) it becomes available. Reads
    ledger_balances, ledger_pending and the accounts' own postings (indexed), never scans."""
    from ledger.balances import get_balances
    from ledger.schema import Entry, PendingRow, Posting

    result = []
    payouts: dict[tuple[str, str], int] = defaultdict(int)
    for currency, status, amount in session.execute(
        # What left the balance: the transfer and the tax withheld from it.
        select(
            PayoutLine.currency, PayoutLine.status, PayoutLine.amount + PayoutLine.withheld
        ).where(
            PayoutLine.user_id == user_id,
            PayoutLine.status.in_(("proposed", "approved", "sending", "sent", "paid")),
        )
    ):
        payouts[currency, "paid" if status == "paid" else "open"] += amount
    since = _midnight((now - timedelta(days=days - 1)).date())
    for currency, accounts in sorted(user_accounts(session, user_id).items()):
        balances = get_balances(session, accounts, now)
        pending: dict[date, int] = defaultdict(int)
        for available_at, amount in session.execute(
            select(PendingRow.available_at, PendingRow.amount).where(
                PendingRow.account_id.in_(accounts), PendingRow.available_at > now
            )
        ):
            if available_at.tzinfo is None:  # SQLite hands back naive UTC
                available_at = available_at.replace(tzinfo=UTC)
            if available_at.year < COLLECTED_BASE.year:  # not a collected-money placeholder
                available_at = available_at.astimezone(zone)
            pending[available_at.date()] += amount
        daily: dict[date, int] = defaultdict(int)
        kind = Entry.meta["kind"].as_string()
        for effective_at, amount in session.execute(
            select(Posting.effective_at, Posting.amount)
            .join(Entry, Entry.id == Posting.entry_id)
            .where(
                Posting.account_id.in_(accounts),
                Posting.effective_at >= since,
                Posting.effective_at < now,
                kind == "allocation",
            )
        ):
            daily[effective_at.date()] -= amount  # credits raise a liability
        labels = [(since + timedelta(days=n)).date() for n in range(days)]
        result.append(
            CurrencyBalance(
                currency=currency,
                available=sum(b.available for b in balances.values()),
                pending=sum(b.pending for b in balances.values()),
                pending_by_day=sorted(pending.items()),
                paid=payouts[currency, "paid"],
                in_payout=payouts[currency, "open"],
                chart={
                    "currency": currency,
                    "labels": [d.isoformat() for d in labels],
                    "values": [daily.get(d, 0) for d in labels],
                },
            )
        )
    return result


def _type_name(kind: str) -> str:
    """A revenue type's name in the reader's language (an unknown kind as recorded)."""
    return gettext(REVENUE_TYPES[kind]) if kind in REVENUE_TYPES else kind
