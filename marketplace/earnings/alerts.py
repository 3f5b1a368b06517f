"""Action-required banners for payees: what stands between their money and their bank (no
payout account, an unfinished one, a country Stripe Connect cannot pay, no tax form) and
invitations waiting for them. Shown on the earnings, payouts and studio pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.balances import get_balances
from marketplace.earnings.statements import user_accounts
from marketplace.formatting import format_money
from marketplace.payouts.services import payout_account_for
from marketplace.splits.invitations import invitation_link
from marketplace.splits.models import TeamMember
from marketplace.studio.models import Series
from marketplace.tax.services import tax_profile_for


@dataclass(frozen=True)
class ActionItem:
    """One thing the person must do: what and why, and the link that does it.

    Fields: key (payout_account, payout_incomplete, country_not_payable, tax_profile,
    invitation), message, link, link_label."""

    key: str
    message: str
    link: str
    link_label: str


def _money_held(session: Session, user_id: int, now: datetime) -> list[str]:
    """The person's balances (available + pending) per currency, formatted; empty if none."""
    held = []
    for currency, accounts in sorted(user_accounts(session, user_id).items()):
        balances = get_balances(session, accounts, now).values()
        total = sum(b.available + b.pending for b in balances)
        if total > 0:
            held.append(format_money(total, currency))
    return held


def action_items(session: Session, user, now: datetime) -> list[ActionItem]:
    """What this payee must do, most urgent first (none for admins)."""
    if user.role not in ("creator", "participant"):
        return []
    items: list[ActionItem] = []
    held = _money_held(session, user.id, now)
    account = payout_account_for(session, user.id)
    payouts = url_for("payouts.index")
    if held:
        money = _(" and ").join(held)
        if account is None:
            items.append(ActionItem(
                "payout_account",
                _("You have %(money)s and no payout account: set one up to be paid.", money=money),
                payouts, _("Set up payouts")))  # fmt: skip
        elif not account.stripe_account_id:
            items.append(ActionItem(
                "country_not_payable",
                _("You have %(money)s, but Stripe Connect cannot pay accounts in %(country)s "
                  "from this platform: it stays in your balance until an admin enables another "
                  "way.", money=money, country=account.country),
                payouts, _("See payouts")))  # fmt: skip
        elif not account.payouts_enabled:
            items.append(ActionItem(
                "payout_incomplete",
                _("You have %(money)s; Stripe needs more details before it can pay you.",
                  money=money),
                payouts, _("Finish the payout account")))  # fmt: skip
        if tax_profile_for(session, user.id) is None:
            items.append(ActionItem(
                "tax_profile", _("Fill in your tax form (W-9 or W-8BEN): payouts wait for it."),
                url_for("tax.profile"), _("Fill in your tax form")))  # fmt: skip
    waiting = session.execute(
        select(TeamMember, Series.title)
        .join(Series, Series.id == TeamMember.series_id)
        .where(
            TeamMember.email == user.email,
            TeamMember.accepted_at.is_(None),
            TeamMember.invitation_nonce != "",
            TeamMember.invitation_expires_at > now,
        )
        .order_by(TeamMember.id)
    ).all()
    for member, title in waiting:
        items.append(ActionItem(
            "invitation",
            _("You are invited to %(series)s as %(role)s: your share is held until you accept.",
              series=title, role=member.role),
            invitation_link(member), _("Open the invitation")))  # fmt: skip
    return items
