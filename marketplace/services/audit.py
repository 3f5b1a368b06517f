"""The audit log: every admin decision and money-moving action, with who and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.models import AuditEvent


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
