"""Receivables aging: what each partner app still owes, by days past its statements' due
dates, and the one mail to admins when a statement becomes overdue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import language_of
from marketplace.clock import utcnow
from marketplace.formatting import format_money, localdate, speaking
from marketplace.mail import queue_mail
from marketplace.partners.models import PartnerApp
from marketplace.settlements.models import SettlementStatement

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
"""Days past due: not due yet (current), then by ranges."""


def bucket_of(days_past_due: int) -> str:
    """The aging bucket of a statement this many days past its due date (<= 0: current)."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


@dataclass
class AgingRow:
    """One partner app's outstanding amounts per bucket (minor units of its currency)."""

    partner_id: int
    name: str
    currency: str
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))

    @property
    def total(self) -> int:
        """Everything outstanding."""
        return sum(self.buckets.values())

    @property
    def overdue(self) -> int:
        """What is past due."""
        return self.total - self.buckets["current"]


def days_past_due(statement: SettlementStatement, now: datetime) -> int:
    """Whole days since the statement's due date (negative before it)."""
    return (now - statement.due_at).days if now >= statement.due_at else -1


def aging(session: Session, now: datetime | None = None) -> list[AgingRow]:
    """Every app with something outstanding, by name, with its buckets."""
    now = now or utcnow()
    rows: dict[int, AgingRow] = {}
    for statement, name in session.execute(
        select(SettlementStatement, PartnerApp.name)
        .join(PartnerApp, PartnerApp.id == SettlementStatement.partner_id)
        .where(SettlementStatement.paid < SettlementStatement.amount_owed)
    ).all():
        row = rows.setdefault(
            statement.partner_id, AgingRow(statement.partner_id, name, statement.currency)
        )
        row.buckets[bucket_of(days_past_due(statement, now))] += statement.outstanding
    return sorted(rows.values(), key=lambda r: r.name)


def overdue_partners(session: Session, now: datetime | None = None) -> list[AgingRow]:
    """The apps with something past due, most overdue first."""
    return sorted((row for row in aging(session, now) if row.overdue), key=lambda r: -r.overdue)


def notify_overdue(session: Session, now: datetime | None = None) -> int:
    """Mail every admin once about each statement that became overdue; returns how many
    statements were announced. Commits."""
    now = now or utcnow()
    due = session.execute(
        select(SettlementStatement, PartnerApp.name)
        .join(PartnerApp, PartnerApp.id == SettlementStatement.partner_id)
        .where(
            SettlementStatement.paid < SettlementStatement.amount_owed,
            SettlementStatement.due_at < now,
            SettlementStatement.overdue_notified_at.is_(None),
        )
        .order_by(SettlementStatement.id)
    ).all()
    admins = list(session.scalars(select(User.email).where(User.role == Role.ADMIN)))
    for statement, name in due:
        for address in admins:
            with speaking(language_of(session, address)):
                subject = _(
                    "Overdue: %(name)s settlement %(label)s", name=name, label=statement.label
                )
                body = _(
                    "%(name)s's settlement statement %(label)s (#%(id)s) was due on %(due)s; "
                    "%(outstanding)s are still outstanding.\n\n"
                    "Record a remittance under Admin > Settlements when it arrives.\n",
                    name=name, label=statement.label, id=statement.id,
                    due=localdate(statement.due_at.date()),
                    outstanding=format_money(statement.outstanding, statement.currency),
                )
            queue_mail(
                session,
                to=address,
                subject=subject,
                body=body,
                kind="settlement_overdue",
                dedupe_key=f"settlement-overdue:{statement.id}:{address}",
            )
        statement.overdue_notified_at = now
    session.commit()
    return len(due)
