"""The audit log: every admin decision and money-moving action, with who and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model


class AuditEvent(Model):
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


def record_audit(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it commits with the change it records)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason,
        details=details or {},
    )
    session.add(event)
    return event
