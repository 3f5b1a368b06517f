"""A payee's year in figures, read from the ledger alone (tax imports neither payouts nor
earnings: the arrows point down).

- paid (gross): the payout movements of the payee's member earnings accounts in the year, as
  their statement counts them (ledger.reports.statements, kind "payout": reservations of
  payout lines, less lines rejected, failed or returned);
- withheld: the postings of the payee's tax_withheld liability in the year (credited by a
  reservation, debited back when its line does not go out);
- converted: the payee's payouts_converted postings in the year, per conversion entry (what
  Stripe received in one currency and paid out in another);
- earned: every other movement of the earnings accounts (unlocks, refunds, pools, other).
Effective time decides the year (UTC); a payout belongs to the year of its batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import String, cast, select, text
from sqlalchemy.orm import Session

from ledger.reports.statements import accounts_statement
from ledger.schema import NOT_ALLOCATION_SQL, Account, Entry, Posting
from marketplace.splits.models import TeamMember


@dataclass
class CurrencyYear:
    """One payee's money in one currency over a year (minor units, positive = to them)."""

    currency: str
    earned: int = 0
    paid: int = 0
    withheld: int = 0

    @property
    def net(self) -> int:
        """What was transferred: paid less withheld."""
        return self.paid - self.withheld


@dataclass
class PayeeYear:
    """A payee's year: per currency, and the conversions Stripe made for them
    ((sent currency, sent, received currency, received, rate) per conversion)."""

    user_id: int
    year: int
    currencies: dict[str, CurrencyYear] = field(default_factory=dict)
    conversions: list[tuple[str, int, str, int, str]] = field(default_factory=list)

    def of(self, currency: str) -> CurrencyYear:
        """The currency's figures (created empty)."""
        return self.currencies.setdefault(currency, CurrencyYear(currency))


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) in UTC."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def member_accounts(session: Session, user_ids: set[int] | None = None) -> dict:
    """(user_id, currency) -> earnings account ids of the user's accepted memberships."""
    query = (
        select(TeamMember.user_id, Account.currency, Account.id)
        .join(
            Account,
            (Account.owner_type == "member")
            & (Account.purpose == "earnings")
            & (Account.owner_id == cast(TeamMember.id, String)),
        )
        .where(TeamMember.user_id.is_not(None), TeamMember.accepted_at.is_not(None))
    )
    if user_ids is not None:
        query = query.where(TeamMember.user_id.in_(user_ids))
    found: dict[tuple[int, str], list[int]] = defaultdict(list)
    for user_id, currency, account_id in session.execute(query):
        found[user_id, currency].append(account_id)
    return found


def _user_postings(session: Session, purpose: str, year: int, user_ids=None):
    """(owner user id, currency, amount, entry id, entry metadata) of user-owned accounts of
    one purpose, effective in the year."""
    start, end = year_bounds(year)
    query = (
        select(Account.owner_id, Account.currency, Posting.amount, Entry.id, Entry.meta)
        .join(Posting, Posting.account_id == Account.id)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(
            Account.owner_type == "user",
            Account.purpose == purpose,
            Entry.effective_at >= start,
            Entry.effective_at < end,
        )
    )
    if user_ids is not None:
        query = query.where(Account.owner_id.in_([str(u) for u in user_ids]))
    return session.execute(query.order_by(Entry.id)).all()


def payees_paid_in(session: Session, year: int) -> set[int]:
    """Users with a payout reservation (or its undoing) effective in the year."""
    start, end = year_bounds(year)
    engine = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    metas = session.scalars(
        select(Entry.meta).where(
            Entry.effective_at >= start,
            Entry.effective_at < end,
            # Payouts are never allocations: the ledger's partial index of the others.
            text(NOT_ALLOCATION_SQL[engine]),
        )
    )
    return {int(m["user_id"]) for m in metas if m and m.get("kind") == "payout" and "user_id" in m}


def payee_years(session: Session, year: int, user_ids: set[int] | None = None) -> list[PayeeYear]:
    """The figures of every payee paid in the year (or of `user_ids`), by user id."""
    users = payees_paid_in(session, year) if user_ids is None else set(user_ids)
    start, end = year_bounds(year)
    years = {user_id: PayeeYear(user_id, year) for user_id in users}
    for (user_id, currency), accounts in member_accounts(session, users).items():
        st = accounts_statement(session, accounts, start, end)
        figures = years[user_id].of(currency)
        figures.paid = -st.total("payout")
        figures.earned = st.movements - st.total("payout")
    for owner, currency, amount, _, _ in _user_postings(session, "tax_withheld", year, users):
        years[int(owner)].of(currency).withheld -= amount  # a liability: credit-negative
    conversions: dict[int, dict[str, int]] = defaultdict(dict)
    rates: dict[int, tuple[int, str]] = {}
    for owner, currency, amount, entry_id, meta in _user_postings(
        session, "payouts_converted", year, users
    ):
        conversions[entry_id][currency] = amount
        rates[entry_id] = (int(owner), str((meta or {}).get("exchange_rate", "")))
    for entry_id, legs in conversions.items():
        owner, rate = rates[entry_id]
        sent = [(c, -a) for c, a in legs.items() if a < 0]
        got = [(c, a) for c, a in legs.items() if a > 0]
        if sent and got:  # a reversal (a returned payout) has the signs the other way round
            years[owner].conversions.append((*sent[0], *got[0], rate))
    return [years[u] for u in sorted(years)]
