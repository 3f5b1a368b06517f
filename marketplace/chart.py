"""The marketplace's chart of accounts: which ledger account holds what.

Accounts (owner_type, owner_id, purpose), one per currency:
- partner P  "receivable"          asset: what partner P collected from viewers for us (gross)
- partner P  "commission"          liability: partner P's share of that gross (it keeps it)
- platform 0 "fees"                income: the platform's fee
- member M   "earnings"            liability: team member M's share of a series (escrow until
                                   M accepts the invitation; then it belongs to M's user)
- platform 0 "payouts_in_transit"  liability: reserved for a payout batch, not yet paid
- platform 0 "stripe_balance"      asset, must not go negative: the platform's Stripe balance
- platform 0 "adjustments"         equity: the other side of admins' manual corrections
- user U     "tax_withheld"        liability: tax withheld from user U's payouts, owed to the
                                   IRS (credited when a payout line reserves its money)
- platform 0 "fx_conversion"       equity (a trading account): currencies Stripe converted
                                   when paying payees, per currency (what went in, came out)
- user U     "payouts_converted"   equity (memo): user U's payouts Stripe converted: credited
                                   in the currency sent, debited in the currency received
- series S   "pool"                liability (clearing): the participants' pool of a series with
                                   a revenue plan, credited by the first allocation of each
                                   unlock and debited by its waterfall in the same transaction
- guarantee G "payable"            liability: what a flat fee or minimum guarantee G's
                                   beneficiary is owed and its guarantor has not paid yet
- guarantee G "receivable"         asset: the same amount, owed by G's guarantor (his later
                                   earnings pay it; marketplace/splits/terms/guarantees.py)
- platform 0 "float"               equity: the platform's own money put into its Stripe balance
                                   (`flask payouts fund`), not partner money
- platform 0 "fx_gain_loss"        equity (a trading account): a remittance received in another
                                   currency than its statements: the received currency comes
                                   in here, the contract currency goes out to the receivable
A partner's receivable is debited with the gross of each unlock, credited with its share at
each settlement close and with each remittance: it is what the app owes us.
A conversion is one balanced entry per payout line (kind "payout_fx"): the sent currency
moves fx_conversion -> payouts_converted, the received one payouts_converted -> fx_conversion.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts import AccountType, get_or_create_account
from ledger.schema import Account

ACCOUNT_KINDS: dict[str, tuple[str, str, AccountType, bool]] = {
    # kind: (owner_type, purpose, type, must_not_go_negative)
    "partner_receivable": ("partner", "receivable", AccountType.ASSET, False),
    "partner_commission": ("partner", "commission", AccountType.LIABILITY, False),
    "platform_fees": ("platform", "fees", AccountType.INCOME, False),
    "member_earnings": ("member", "earnings", AccountType.LIABILITY, False),
    "payouts_in_transit": ("platform", "payouts_in_transit", AccountType.LIABILITY, False),
    "stripe_balance": ("platform", "stripe_balance", AccountType.ASSET, True),
    "adjustments": ("platform", "adjustments", AccountType.EQUITY, False),
    "tax_withheld": ("user", "tax_withheld", AccountType.LIABILITY, False),
    "fx_conversion": ("platform", "fx_conversion", AccountType.EQUITY, False),
    "payouts_converted": ("user", "payouts_converted", AccountType.EQUITY, False),
    "series_pool": ("series", "pool", AccountType.LIABILITY, False),
    "guarantee_payable": ("guarantee", "payable", AccountType.LIABILITY, False),
    "guarantee_receivable": ("guarantee", "receivable", AccountType.ASSET, False),
    "platform_float": ("platform", "float", AccountType.EQUITY, False),
    "fx_gain_loss": ("platform", "fx_gain_loss", AccountType.EQUITY, False),
}
PLATFORM_OWNER_ID = "0"


def ledger_account(
    session: Session, kind: str, currency: str, owner_id: int | str = PLATFORM_OWNER_ID
) -> Account:
    """The ledger account of one kind of the chart above (created on first use)."""
    owner_type, purpose, account_type, must_not_go_negative = ACCOUNT_KINDS[kind]
    return get_or_create_account(
        session,
        owner_type=owner_type,
        owner_id=owner_id,
        purpose=purpose,
        currency=currency,
        type=account_type,
        must_not_go_negative=must_not_go_negative,
    )


def member_account_ids(
    session: Session, member_ids: Sequence[int], currency: str | None = None
) -> list[int]:
    """Ids of existing earnings accounts of these team members (any currency unless given)."""
    if not member_ids:
        return []
    query = select(Account.id).where(
        Account.owner_type == "member",
        Account.purpose == "earnings",
        Account.owner_id.in_([str(m) for m in member_ids]),
    )
    if currency:
        query = query.where(Account.currency == currency)
    return list(session.scalars(query.order_by(Account.id)))
