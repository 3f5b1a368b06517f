"""People's names for ledger accounts: "Ana Writer on Night Shift: earnings" instead of
`member:1:earnings` (the internal key stays in the ledger, the API and the CLI)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.schema import Account
from marketplace.accounts.models import User
from marketplace.partners.models import PartnerApp
from marketplace.splits.models import TeamMember
from marketplace.studio.models import Series

PURPOSES = {
    "earnings": "earnings",
    "receivable": "collected for us",
    "commission": "partner's share",
    "fees": "platform fees",
    "payouts_in_transit": "payouts in transit",
    "stripe_balance": "Stripe balance",
    "adjustments": "adjustments",
    "tax_withheld": "tax withheld",
    "fx_conversion": "currency conversion",
    "payouts_converted": "payouts converted",
    "pool": "participants' pool",
}


def _ids(accounts: Sequence[Account], owner_type: str) -> list[int]:
    return [int(a.owner_id) for a in accounts if a.owner_type == owner_type
            and str(a.owner_id).isdigit()]  # fmt: skip


def account_names(session: Session, accounts: Sequence[Account]) -> dict[int, str]:
    """Each account's name for people (one query per kind of owner), by account id."""
    members = {
        m.id: f"{m.credit_name} on {title}"
        for m, title in session.execute(
            select(TeamMember, Series.title)
            .join(Series, Series.id == TeamMember.series_id)
            .where(TeamMember.id.in_(_ids(accounts, "member")))
        )
    }
    partners = dict(
        session.execute(
            select(PartnerApp.id, PartnerApp.name).where(
                PartnerApp.id.in_(_ids(accounts, "partner"))
            )
        ).tuples().all()
    )
    users = {
        u.id: u.display_name or u.email
        for u in session.scalars(select(User).where(User.id.in_(_ids(accounts, "user"))))
    }
    series = dict(
        session.execute(
            select(Series.id, Series.title).where(Series.id.in_(_ids(accounts, "series")))
        ).tuples().all()
    )
    owners = {"member": members, "partner": partners, "user": users, "series": series}
    names = {}
    for account in accounts:
        purpose = PURPOSES.get(account.purpose, account.purpose.replace("_", " "))
        if account.owner_type == "platform":
            owner = "Platform"
        else:
            found = owners.get(account.owner_type, {})
            key = int(account.owner_id) if str(account.owner_id).isdigit() else None
            owner = found.get(key) or f"{account.owner_type} {account.owner_id}"
        names[account.id] = f"{owner}: {purpose} ({account.currency})"
    return names
