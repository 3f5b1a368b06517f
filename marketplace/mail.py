"""Outgoing email: SMTP when MAIL_SERVER is set; otherwise the admin's outbox page.

Every message is recorded in the outbox table in the caller's transaction, so a message exists
exactly when the change that caused it was committed; SMTP delivery happens after commit.
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

log = logging.getLogger("marketplace.mail")


class OutboxMessage(Model):
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_text(value: str) -> str:
    """Text safe in a mail header: control characters and line separators become one space."""
    return _CONTROL.sub(" ", value).strip()


def queue_mail(
    session: Session, *, to: str, subject: str, body: str, kind: str = ""
) -> OutboxMessage:
    """Record a message to send (the caller commits); `deliver_pending` sends it by SMTP.

    The subject and address become headers: line breaks and other control characters (from a
    series title, say) are replaced by spaces, so no header can be added through them, and the
    subject is cut to its column's 200 characters."""
    message = OutboxMessage(
        to_address=header_text(to)[:254],
        subject=header_text(subject)[:200],
        body_text=body.replace("\x00", ""),
        kind=kind,
    )
    session.add(message)
    return message


def deliver_pending(session: Session) -> int:
    """Send queued messages by SMTP when MAIL_SERVER is configured; returns how many were sent."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0
    pending = session.query(OutboxMessage).filter(OutboxMessage.sent_at.is_(None)).limit(100).all()
    if not pending:
        return 0
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        for message in pending:
            email = EmailMessage()
            email["From"] = config["MAIL_FROM"]
            email["To"] = message.to_address
            email["Subject"] = message.subject
            email.set_content(message.body_text)
            smtp.send_message(email)
            message.sent_at = datetime.now(UTC)
            session.commit()
            log.info("mail %s sent (%s)", message.id, message.kind, extra={"mail_id": message.id})
    return len(pending)
