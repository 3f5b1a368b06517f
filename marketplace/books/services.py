"""Admins' views of the ledger: trial balance per currency, accounts with point-in-time
balances, entries with their source events, the audit log, partner apps at a glance.

Everything reads maintained rows (ledger_balances, one per account) or index ranges (an
account's postings, an entry's postings and events): no request sums the postings table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger.allocation.store import unpack_run
from ledger.balances import balance_as_of, get_balance
from ledger.rollups import LINE_FIELDS
from ledger.schema import (
    Account,
    AllocationBucket,
    AllocationRun,
    BalanceRow,
    Entry,
    Posting,
)
from marketplace.accounts.models import User
from marketplace.audit import AuditEvent
from marketplace.books.names import account_names
from marketplace.errors import NotFound
from marketplace.ingest.models import PartnerEvent
from marketplace.partners.models import PartnerApiKey, PartnerApp
from marketplace.studio.models import Listing

PAGE = 100


@dataclass
class TrialBalance:
    """One currency: per account type, debit and credit balances; debits equal credits."""

    currency: str
    rows: list[tuple[str, int, int]] = field(default_factory=list)  # (type, debit, credit)

    @property
    def debits(self) -> int:
        """Sum of debit balances."""
        return sum(r[1] for r in self.rows)

    @property
    def credits(self) -> int:
        """Sum of credit balances."""
        return sum(r[2] for r in self.rows)

    @property
    def balanced(self) -> bool:
        """Whether debits equal credits (they must, the ledger guarantees every entry)."""
        return self.debits == self.credits


def trial_balance(session: Session) -> list[TrialBalance]:
    """The trial balance per currency from the maintained balance rows."""
    signed = case((Account.normal_side == "debit", BalanceRow.posted), else_=-BalanceRow.posted)
    rows = session.execute(
        select(
            Account.currency,
            Account.type,
            func.coalesce(func.sum(case((signed > 0, signed), else_=0)), 0),
            func.coalesce(func.sum(case((signed < 0, -signed), else_=0)), 0),
        )
        .join(BalanceRow, BalanceRow.account_id == Account.id)
        .group_by(Account.currency, Account.type)
        .order_by(Account.currency, Account.type)
    ).all()
    result: dict[str, TrialBalance] = {}
    for currency, account_type, debit, credit in rows:
        result.setdefault(currency, TrialBalance(currency)).rows.append(
            (account_type, int(debit), int(credit))
        )
    return list(result.values())


def list_accounts(
    session: Session, *, owner_type: str = "", currency: str = "", page: int = 0
) -> list[tuple[Account, int]]:
    """Accounts (filtered by owner type and currency) with their posted balance, by id."""
    query = select(Account, BalanceRow.posted).join(BalanceRow, BalanceRow.account_id == Account.id)
    if owner_type:
        query = query.where(Account.owner_type == owner_type)
    if currency:
        query = query.where(Account.currency == currency.upper())
    rows = session.execute(query.order_by(Account.id).limit(PAGE).offset(page * PAGE)).all()
    return [(account, int(posted)) for account, posted in rows]


@dataclass
class AccountView:
    """One account: current balance, balance as of `at`, and its postings up to `at`."""

    account: Account
    name: str
    at: datetime
    balance_at: int
    posted: int
    available: int
    pending: int
    postings: list[tuple[Posting, str]]


def account_view(session: Session, account_id: int, at: datetime, now: datetime) -> AccountView:
    """An account's point-in-time balance and its latest postings effective by `at`."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    rows = session.execute(
        select(Posting, Entry.description)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Posting.account_id == account_id, Posting.effective_at <= at)
        .order_by(Posting.effective_at.desc(), Posting.id.desc())
        .limit(PAGE)
    ).all()
    balance = get_balance(session, account_id, now)
    return AccountView(
        account=account,
        name=account_names(session, [account])[account.id],
        at=at,
        balance_at=balance_as_of(session, account_id, at),
        posted=balance.posted,
        available=balance.available,
        pending=balance.pending,
        postings=[(posting, description) for posting, description in rows],
    )


@dataclass(frozen=True)
class EntryEvent:
    """One event of an allocation entry: its source (the partner event it came from), effective
    time, gross, statement line facts and money per party."""

    ref: int
    source: str
    effective_at: datetime
    gross: int
    attributes: dict[str, Any]
    party_amounts: list[int]


@dataclass
class EntryView:
    """An entry, its legs (with account names), the entry it reverses / that reverses it,
    and its allocation events (from its run: each with its source event and per-party money)."""

    entry: Entry
    legs: list[tuple[Posting, str]]
    reversed_by: int | None
    events: list[EntryEvent]
    event_count: int
    bucket: AllocationBucket | None
    party_names: list[str]


def entry_view(session: Session, entry_id: int, limit: int = 200) -> EntryView:
    """One entry with everything it links to."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound("No such entry.")
    legs = session.execute(
        select(Posting, Account)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id)
        .order_by(Posting.id)
    ).all()
    run = session.scalars(select(AllocationRun).where(AllocationRun.entry_id == entry_id)).first()
    unpacked = unpack_run(run) if run is not None else []
    sources = {
        row_id: f"{kind} {external_id}"
        for row_id, kind, external_id in session.execute(
            select(PartnerEvent.id, PartnerEvent.kind, PartnerEvent.external_id).where(
                PartnerEvent.id.in_([e.ref for e in unpacked[:limit]])
            )
        )
    }
    events = [
        EntryEvent(
            e.ref,
            sources.get(e.ref, f"event {e.ref}"),
            e.effective_at,
            e.gross,
            dict(zip(LINE_FIELDS, e.line, strict=True)),
            e.amounts,
        )
        for e in unpacked[:limit]
    ]
    count = len(unpacked)
    bucket = session.get(AllocationBucket, run.bucket_id) if run is not None else None
    names = []
    if bucket is not None:
        ids = [int(p[0]) for p in bucket.parties]
        parties = list(session.scalars(select(Account).where(Account.id.in_(ids))))
        accounts = account_names(session, parties)
        names = [accounts.get(i, str(i)) for i in ids]
    leg_names = account_names(session, [account for _, account in legs])
    return EntryView(
        entry=entry,
        legs=[(posting, leg_names[account.id]) for posting, account in legs],
        reversed_by=session.scalar(select(Entry.id).where(Entry.reverses_entry_id == entry_id)),
        events=events,
        event_count=int(count or 0),
        bucket=bucket,
        party_names=names,
    )


def audit_log(session: Session, action: str = "", page: int = 0) -> list[tuple[AuditEvent, str]]:
    """Audit events, newest first, optionally those whose action starts with `action`."""
    query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    rows = session.execute(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(PAGE)
        .offset(page * PAGE)
    ).all()
    return [(event, email or "system") for event, email in rows]


def partners_overview(session: Session) -> list[dict[str, Any]]:
    """Each partner app: terms, live listings, active keys, receivable and commission."""
    partners = list(session.scalars(select(PartnerApp).order_by(PartnerApp.name)))
    listings = dict(
        session.execute(
            select(Listing.partner_id, func.count())
            .where(Listing.status == "live")
            .group_by(Listing.partner_id)
        )
        .tuples()
        .all()
    )
    keys = dict(
        session.execute(
            select(PartnerApiKey.partner_id, func.count())
            .where(PartnerApiKey.revoked_at.is_(None))
            .group_by(PartnerApiKey.partner_id)
        )
        .tuples()
        .all()
    )
    balances: dict[tuple[str, str], list] = defaultdict(list)
    for owner_id, purpose, currency, posted in session.execute(
        select(Account.owner_id, Account.purpose, Account.currency, BalanceRow.posted)
        .join(BalanceRow, BalanceRow.account_id == Account.id)
        .where(
            Account.owner_type == "partner",
            Account.owner_id.in_([str(p.id) for p in partners]),
        )
    ):
        balances[owner_id, purpose].append((currency, int(posted)))
    return [
        {
            "partner": p,
            "listings": listings.get(p.id, 0),
            "keys": keys.get(p.id, 0),
            "receivable": balances.get((str(p.id), "receivable"), []),
            "commission": balances.get((str(p.id), "commission"), []),
        }
        for p in partners
    ]
