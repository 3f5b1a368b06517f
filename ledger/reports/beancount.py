"""Export the ledger as a beancount file: accounts opened, every entry with its metadata, and
balance assertions at each month's end, in minor-unit commodities (USD_MINOR) so amounts are
exact integers and a one-unit change fails `bean-check`."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.schema import Account, Entry, Posting

ROOTS = {
    "asset": "Assets",
    "liability": "Liabilities",
    "income": "Income",
    "expense": "Expenses",
    "equity": "Equity",
}


def commodity(currency: str) -> str:
    """Return the beancount commodity counting the currency's minor unit ("USD_MINOR")."""
    return f"{currency}_MINOR"


def _component(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "X"
    cleaned = cleaned[0].upper() + cleaned[1:]
    return cleaned if re.match(r"[A-Z0-9]", cleaned) else "X" + cleaned


def account_name(account: Account) -> str:
    """Return a valid, unique beancount account name (Root:Owner-type:Owner:Purpose-CUR-id)."""
    return ":".join(
        [
            ROOTS[account.type],
            _component(account.owner_type),
            _component(account.owner_id),
            f"{_component(account.purpose)}-{account.currency}-{account.id}",
        ]
    )


def _string(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{text}"'


def _meta_key(key: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", key.lower()).strip("-")
    return "meta-" + (slug or "x")


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def export_beancount(session: Session, out: TextIO) -> None:
    """Write the whole ledger to `out` as a beancount file that bean-check accepts."""
    session.flush()
    accounts = {a.id: a for a in session.scalars(select(Account).order_by(Account.id))}
    names = {account_id: account_name(a) for account_id, a in accounts.items()}
    entries = session.scalars(select(Entry).order_by(Entry.effective_at, Entry.id)).all()
    postings: dict[int, list[Posting]] = defaultdict(list)
    for posting in session.scalars(select(Posting).order_by(Posting.id)):
        postings[posting.entry_id].append(posting)
    days = [a.created_at.date() for a in accounts.values()] + [
        e.effective_at.date() for e in entries
    ]
    if not days:
        return
    opened = min(days)
    out.write('option "title" "Cliffhanger ledger"\n\n')
    for currency in sorted({a.currency for a in accounts.values()}):
        out.write(f"{opened} commodity {commodity(currency)}\n")
    for account_id, account in accounts.items():
        out.write(f"{opened} open {names[account_id]} {commodity(account.currency)}\n")
    monthly: dict[tuple[int, date], int] = defaultdict(int)
    for entry in entries:
        _write_entry(out, entry, postings.get(entry.id, []), names)
        for posting in postings.get(entry.id, []):
            month = posting.effective_at.date().replace(day=1)
            monthly[posting.account_id, month] += posting.amount
    _write_assertions(out, accounts, names, monthly, opened, max(days))


def _write_entry(out: TextIO, entry: Entry, legs: list[Posting], names: dict[int, str]) -> None:
    out.write(f"\n{entry.effective_at.date()} * {_string(entry.description)}\n")
    out.write(f"  entry-id: {_string(str(entry.id))}\n")
    out.write(f"  idempotency-key: {_string(entry.idempotency_key)}\n")
    out.write(f"  effective-at: {_string(entry.effective_at.isoformat())}\n")
    out.write(f"  recorded-at: {_string(entry.recorded_at.isoformat())}\n")
    if entry.reverses_entry_id is not None:
        out.write(f"  reverses-entry-id: {_string(str(entry.reverses_entry_id))}\n")
    for key, value in sorted(entry.meta.items()):
        out.write(f"  {_meta_key(key)}: {_string(value)}\n")
    for posting in legs:
        out.write(f"  {names[posting.account_id]}  {posting.amount} {commodity(posting.currency)}")
        if posting.available_at is not None:
            out.write(f"\n    available-at: {_string(posting.available_at.isoformat())}")
        out.write("\n")


def _write_assertions(
    out: TextIO,
    accounts: dict[int, Account],
    names: dict[int, str],
    monthly: dict[tuple[int, date], int],
    first: date,
    last: date,
) -> None:
    """Assert every account's balance at the start of each month after `first` (month ends)."""
    out.write("\n")
    running: dict[int, int] = defaultdict(int)
    month = first.replace(day=1)
    while month <= last:
        following = _next_month(month)
        for account_id, account in accounts.items():
            running[account_id] += monthly.get((account_id, month), 0)
            out.write(
                f"{following} balance {names[account_id]}  {running[account_id]}"
                f" {commodity(account.currency)}\n"
            )
        month = following
