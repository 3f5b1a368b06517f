"""The monthly "statement ready" mail: once a month, everyone whose earnings accounts moved
in the month just ended gets a link to that month's statement (once: a dedupe key per person
and month)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import format_skeleton
from flask_babel import gettext as _
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from ledger.schema import Account, Entry, Posting
from marketplace.accounts.models import User
from marketplace.accounts.services import language_of
from marketplace.formatting import speaking, user_locale
from marketplace.mail import queue_mail
from marketplace.navigation import absolute
from marketplace.splits.models import TeamMember


def previous_month(today: date) -> date:
    """The first day of the month before `today`'s."""
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def notify_statements_ready(session: Session, month: date) -> int:
    """Queue the mail for `month` (its first day) to every payee with movements in it;
    commits and returns how many were queued."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    moved = (
        select(User.id, User.email)
        .join(TeamMember, TeamMember.user_id == User.id)
        .join(
            Account,
            (Account.owner_type == "member")
            & (Account.purpose == "earnings")
            & (Account.owner_id == cast(TeamMember.id, String)),
        )
        .join(Posting, Posting.account_id == Account.id)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(
            TeamMember.accepted_at.is_not(None),
            Entry.effective_at >= start,
            Entry.effective_at < end,
        )
        .distinct()
    )
    label = f"{month:%Y-%m}"
    queued = 0
    for user_id, email in session.execute(moved).all():
        with speaking(language_of(session, email)):
            when = format_skeleton("yMMMM", month, locale=user_locale())  # "noviembre de 2026"
            subject = _("Your Cliffhanger statement for %(month)s is ready", month=when)
            body = _(
                "Your statement for %(month)s is ready: earnings by series and episode, "
                "refunds, payouts and tax withheld, to download as CSV or PDF.\n\n%(link)s\n",
                month=when, link=absolute(f"/earnings/statement?month={label}"),
            )
        message = queue_mail(
            session,
            to=email,
            subject=subject,
            body=body,
            kind="statement.ready",
            dedupe_key=f"statement:{user_id}:{label}",
        )
        queued += message is not None
    session.commit()
    return queued
