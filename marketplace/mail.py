"""Outgoing email: an outbox table, delivered over SMTP by the scheduler when MAIL_SERVER is set.

Every message is recorded in the outbox in the caller's transaction, so a message exists
exactly when the change that caused it was committed. The scheduler process delivers queued
messages every minute (`deliver_pending`); without MAIL_SERVER they stay on the admin's outbox
page.

Delivery is at-least-once. Each message is sent, then marked sent in its own commit: a
process killed between the two (kill -9, power loss) sends that message again on its next
run. The copy carries the same Message-ID (<outbox-ID@cliffhanger>), so a mail client can
tell it is the same message; the alternative (mark first, then send) would lose it instead.

Failures: an SMTP server that cannot be reached leaves every message queued as it was (the
next run tries again); a message the server refuses is retried after MAIL_RETRY_SECONDS,
doubling after each failure, and after MAIL_MAX_ATTEMPTS failures it is dead-lettered
(status "dead", shown on the outbox page with its last error). Header values (To, Subject)
are stripped of CR and LF before they are written, so no text can add a header.

Preferences: people can turn off the non-essential kinds (NON_ESSENTIAL); a message of a
kind its recipient turned off is recorded as "suppressed" and never sent.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Index, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

log = logging.getLogger("marketplace.mail")

KINDS = {
    "invitation": _l("Invitations to a series' team"),
    "split.changed": _l("A split sheet you are on changed"),
    "payout.sent": _l("A payout was sent"),
    "payout.paid": _l("A payout reached your bank"),
    "payout.failed": _l("A payout failed"),
    "action.required": _l("Something is needed before you can be paid"),
    "statement.ready": _l("Your monthly statement is ready"),
    "settlement.overdue": _l("A partner settlement is overdue (admins)"),
}
"""Every kind of mail the site sends, and how the preferences page names it."""
NON_ESSENTIAL = ("split.changed", "payout.sent", "payout.paid", "statement.ready")
"""The kinds a person can turn off; the others concern money or access they must act on."""
STATUSES = ("queued", "sent", "dead", "suppressed")

Checkpoint = Callable[[str, int], None]


class OutboxMessage(Model):
    """An email to send (or sent, dead-lettered, or suppressed by the recipient's choice).

    Fields: to_address, subject, body_text, kind (see KINDS), dedupe_key (unique: a second
    message with the same key is not queued, e.g. one statement mail per person and month),
    status (queued, sent, dead, suppressed), attempts (failed delivery attempts),
    next_attempt_at (a queued message is not tried before), last_error (the server's words),
    sent_at.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))

    @property
    def message_id(self) -> str:
        """The Message-ID every copy of this message carries."""
        return f"<outbox-{self.id}@cliffhanger>"


class MailOptOut(Model):
    """A kind of non-essential mail one address turned off (address lower-cased)."""

    __tablename__ = "mail_opt_outs"
    __table_args__ = (UniqueConstraint("address", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def header_value(value: str) -> str:
    """Text safe in a mail header, on one line: line breaks and other control characters (from
    a series title, say) become one space, so no header can be added through them."""
    return _CONTROL.sub(" ", str(value)).strip()


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str = "",
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Record a message to send (the caller commits). Returns None when `dedupe_key` was
    queued before; a kind the recipient turned off is recorded as suppressed."""
    session.flush()
    if dedupe_key is not None and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    address = header_value(to).lower()
    status = "suppressed" if kind in opted_out_kinds(session, address) else "queued"
    message = OutboxMessage(
        to_address=address,
        subject=header_value(subject)[:200],
        body_text=body.replace("\x00", ""),
        kind=kind,
        status=status,
        dedupe_key=dedupe_key,
    )
    session.add(message)
    return message


def opted_out_kinds(session: Session, address: str) -> set[str]:
    """The non-essential kinds `address` turned off."""
    return set(
        session.scalars(select(MailOptOut.kind).where(MailOptOut.address == address.lower()))
    )


def set_mail_preferences(session: Session, address: str, wanted: set[str]) -> set[str]:
    """Keep only the non-essential kinds in `wanted` on for `address` (essential kinds are
    always on); commits and returns the kinds now off."""
    address = address.lower()
    off = set(NON_ESSENTIAL) - set(wanted)
    current = {
        o.kind: o for o in session.scalars(select(MailOptOut).where(MailOptOut.address == address))
    }
    for kind, row in current.items():
        if kind not in off:
            session.delete(row)
    for kind in off - set(current):
        session.add(MailOptOut(address=address, kind=kind))
    session.commit()
    return off


def _noop(point: str, message_id: int) -> None:
    return None


def _build(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = header_value(sender)
    email["To"] = header_value(message.to_address)
    email["Subject"] = header_value(message.subject)
    email["Message-ID"] = message.message_id
    email["Date"] = formatdate(message.created_at.timestamp(), usegmt=True)
    email.set_content(message.body_text)
    return email


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


def deliver_pending(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 100,
    checkpoint: Checkpoint | None = None,
) -> int:
    """Send the queued messages that are due over SMTP (MAIL_SERVER); returns how many were
    sent. Safe to run from several processes: a message may then go out twice, never zero
    times (see the module docstring). `checkpoint(point, id)` is called after each send,
    before it is marked ("after_send"): tests stop the process there."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0
    now = now or utcnow()
    checkpoint = checkpoint or _noop
    due = list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "queued",
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    session.commit()
    if not due:
        return 0
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as error:
        # The server, not the messages: nothing is charged an attempt; the next run retries.
        log.warning("mail: SMTP server %s unreachable: %s", config["MAIL_SERVER"], error)
        return 0
    sent = 0
    with smtp:
        for message in due:
            sent += _deliver_one(session, smtp, message, now, checkpoint)
    return sent


def _deliver_one(session, smtp, message: OutboxMessage, now, checkpoint) -> int:
    config = current_app.config
    try:
        smtp.send_message(_build(message, config["MAIL_FROM"]))
    except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError) as error:
        # The server went away, not this message's fault: it stays queued for the next run.
        log.warning("mail %s: connection lost (%s); left queued", message.id, error)
        return 0
    except (smtplib.SMTPException, ValueError, OSError) as error:
        _failed(session, message, str(error), now)
        return 0
    checkpoint("after_send", message.id)
    message.status = "sent"
    message.sent_at = now
    message.last_error = ""
    session.commit()
    log.info("mail %s sent (%s)", message.id, message.kind, extra={"mail_id": message.id})
    return 1


def _failed(session: Session, message: OutboxMessage, error: str, now: datetime) -> None:
    config = current_app.config
    message.attempts += 1
    message.last_error = error[:1000]
    if message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        message.status = "dead"
        log.error(
            "mail %s dead-lettered after %d attempts: %s",
            message.id,
            message.attempts,
            error,
            extra={"mail_id": message.id},
        )
    else:
        delay = config["MAIL_RETRY_SECONDS"] * 2 ** (message.attempts - 1)
        message.next_attempt_at = now + timedelta(seconds=delay)
        log.warning(
            "mail %s refused (attempt %d), retry in %ss: %s",
            message.id,
            message.attempts,
            delay,
            error,
            extra={"mail_id": message.id},
        )
    session.commit()


def requeue_message(session: Session, message_id: int) -> OutboxMessage | None:
    """Put a dead-lettered message back in the queue (an admin's retry); commits."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != "dead":
        return None
    message.status, message.attempts, message.next_attempt_at = "queued", 0, None
    session.commit()
    return message
