"""The audit log of admin and money-moving actions, and the development mail outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import UTCDateTime
from marketplace.extensions import db
from marketplace.models.base import utcnow


class AuditEvent(db.Model):
    """Who did what to which object, and why (approvals, key rotations, split changes...).

    Fields: actor_id (NULL for the system/CLI without a user), action ("payout.approve"),
    subject_type/subject_id (what it was done to), reason, details (JSON).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(db.Model):
    """An email: sent by SMTP when MAIL_SERVER is set, else kept here for the admin's outbox page.

    Fields: to_address, subject, body_text, sent_at (NULL while only in the outbox),
    kind ("invitation", "payout.paid", ...).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
