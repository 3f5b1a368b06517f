"""Account types with their normal side, and get-or-create of accounts (safe under concurrency)."""

from __future__ import annotations

import enum
from collections.abc import Callable

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.errors import AccountMismatch
from ledger.money import check_currency
from ledger.schema import Account, BalanceRow, LedgerBase, utcnow


class AccountType(enum.StrEnum):
    """The five account types; each has a normal side (where increases are recorded)."""

    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"
    EQUITY = "equity"

    @property
    def normal_side(self) -> str:
        """Return "debit" for assets and expenses, "credit" for the rest."""
        return "debit" if self in (AccountType.ASSET, AccountType.EXPENSE) else "credit"


def normal_sign(normal_side: str) -> int:
    """Return +1 for a debit-normal account, -1 for a credit-normal one (postings are + debit)."""
    return 1 if normal_side == "debit" else -1


def _insert(session: Session) -> Callable[[type[LedgerBase]], postgresql.Insert | sqlite.Insert]:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def get_or_create_account(
    session: Session,
    *,
    owner_type: str,
    owner_id: str | int,
    purpose: str,
    currency: str,
    type: AccountType | str,
    must_not_go_negative: bool = False,
) -> Account:
    """Return the owner's account for this purpose and currency, creating it if need be."""
    account_type = AccountType(type)
    check_currency(currency)
    owner_id = str(owner_id)
    wanted = select(Account).where(
        Account.owner_type == owner_type,
        Account.owner_id == owner_id,
        Account.purpose == purpose,
        Account.currency == currency,
    )
    # Read first: nearly every call finds the account (one round trip instead of three).
    # An account and its balance row are created together below, in one transaction.
    account = session.scalars(wanted).first()
    if account is None:
        account = _create(session, owner_type, owner_id, purpose, currency, account_type,
                          must_not_go_negative, wanted)  # fmt: skip
    if account.type != account_type.value or account.must_not_go_negative != must_not_go_negative:
        raise AccountMismatch(
            f"account {account.id} ({owner_type}:{owner_id}:{purpose}:{currency}) exists as "
            f"{account.type}, must_not_go_negative={account.must_not_go_negative}"
        )
    return account


def _create(
    session: Session,
    owner_type: str,
    owner_id: str,
    purpose: str,
    currency: str,
    account_type: AccountType,
    must_not_go_negative: bool,
    wanted: Select[tuple[Account]],
) -> Account:
    """Insert the account and its balance row unless a concurrent caller did (safe under
    concurrency: both inserts do nothing on conflict)."""
    insert = _insert(session)
    now = utcnow()
    session.execute(
        insert(Account)
        .values(
            owner_type=owner_type,
            owner_id=owner_id,
            purpose=purpose,
            currency=currency,
            type=account_type.value,
            normal_side=account_type.normal_side,
            must_not_go_negative=must_not_go_negative,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["owner_type", "owner_id", "purpose", "currency"])
    )
    account = session.scalars(wanted).one()
    session.execute(
        insert(BalanceRow)
        .values(account_id=account.id, posted=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    return account
