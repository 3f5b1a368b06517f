"""Stripe webhook events: verified with stripe-python, handled once per event id.

Handled types:
- account.updated: the connected account's details_submitted / payouts_enabled.
- payout.paid (a connected account's bank payout): the line is paid; the payee is emailed.
- payout.failed: the bank returned the money to the connected account; we reverse the
  transfer (Stripe pulls the money back to the platform) and the line fails, its money back
  on the participant's available balance.
- transfer.reversed (fully): the line fails and its money returns, whoever reversed it.
Every other type is acknowledged and ignored. The event id is stored in the same transaction
as the changes it caused, so a redelivery changes nothing and a failed handling is retried.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any, cast

import stripe
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry, reverse_entry
from ledger.schema import Entry, Posting
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import ServiceError
from marketplace.payouts.gateway import WEBHOOK_TOLERANCE_SECONDS, StripeGateway
from marketplace.payouts.models import PayoutLine, StripeWebhookEvent
from marketplace.payouts.notices import notify_line
from marketplace.payouts.services import apply_account_state, return_key

log = logging.getLogger("marketplace.payouts.webhooks")


class BadSignature(ServiceError):
    """The payload is not signed by Stripe with our webhook secret (or is too old)."""

    code = "bad_signature"
    status = 400


def reversal_key(line_id: int) -> str:
    """The Stripe Idempotency-Key of the reversal of a line's transfer."""
    return f"payout-line-{line_id}-reversal"


class MalformedEvent(ServiceError):
    """A correctly signed payload that is not a Stripe event (no id, no data object)."""

    code = "malformed_event"
    status = 400


def signed_at(header: str) -> int:
    """The `t=` timestamp of a Stripe-Signature header (checked by construct_event already)."""
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            return int(value)
    return 0


def _text(value: Any, limit: int) -> bool:
    """Whether a value fits a text column of `limit` characters (PostgreSQL refuses NUL)."""
    if not isinstance(value, str) or not 0 < len(value) <= limit or "\x00" in value:
        return False
    return value.isascii() or not any("\ud800" <= c <= "\udfff" for c in value)


def check_event_shape(event: Any) -> str:
    """The event's id, once the event has the shape every handler reads (an object with a
    string id and type, data.object a mapping with a string id, the columns' sizes);
    MalformedEvent otherwise."""
    if not isinstance(event, dict):
        raise MalformedEvent("The payload is not a Stripe event object.")
    if not _text(event.get("id"), 255):
        raise MalformedEvent("The event has no id.", field="id")
    if not _text(event.get("type"), 100):
        raise MalformedEvent("The event has no type.", field="type")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("The event has no data.object.", field="data")
    if not _text(data["object"].get("id"), 255):
        raise MalformedEvent("The event's data.object has no id.", field="data")
    if event.get("account") is not None and not _text(event["account"], 64):
        raise MalformedEvent("The event's account is not an account id.", field="account")
    return event["id"]


def receive_webhook(
    session: Session,
    gateway: StripeGateway,
    payload: bytes,
    signature: str,
    now: datetime | None = None,
) -> str:
    """Verify, deduplicate and handle one delivery; returns "handled", "ignored" or
    "duplicate". Raises BadSignature for anything not signed with STRIPE_WEBHOOK_SECRET (or
    signed more than the tolerance away from our clock, either way) and MalformedEvent for a
    signed payload that is not an event."""
    try:
        # stripe-python's own check; the event is read here, not by construct_event, which
        # fails on a signed payload that is valid JSON but not an object.
        stripe.WebhookSignature.verify_header(
            payload, signature, gateway.webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError):
        log.warning("stripe webhook refused: bad signature")
        raise BadSignature("The Stripe-Signature header does not match this payload.") from None
    # stripe-python only refuses signatures older than the tolerance; one dated far ahead of
    # our clock would stay replayable for as long, so the window applies both ways.
    if signed_at(signature) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        log.warning("stripe webhook refused: signed in the future")
        raise BadSignature("The Stripe-Signature timestamp is ahead of our clock.")
    event_id = check_event_shape(event)
    seen = select(StripeWebhookEvent.id).where(StripeWebhookEvent.event_id == event_id)
    if session.scalar(seen) is not None:
        log.info("stripe webhook %s: duplicate", event_id)
        return "duplicate"
    handler = HANDLERS.get(event.get("type", ""))
    outcome = handler(session, gateway, event, now or utcnow()) if handler else "ignored"
    session.add(
        StripeWebhookEvent(
            event_id=event_id,
            type=event.get("type", ""),
            account=event.get("account"),
            outcome=outcome,
            details={"object": event.get("data", {}).get("object", {}).get("id")},
        )
    )
    try:
        session.commit()
    except IntegrityError:  # the same event handled concurrently: that handling stands
        session.rollback()
        log.info("stripe webhook %s: duplicate (handled concurrently)", event_id)
        return "duplicate"
    log.info(
        "stripe webhook %s %s: %s",
        event_id,
        event.get("type", ""),
        outcome,
        extra={"event_id": event_id, "event_type": event.get("type", ""), "outcome": outcome},
    )
    return outcome


def _account_updated(session, gateway, event, now) -> str:
    account = apply_account_state(session, event["data"]["object"])
    return "handled" if account is not None else "ignored"


def _line_by(session: Session, column, value: str) -> PayoutLine | None:
    return session.scalars(
        select(PayoutLine).where(column == value).execution_options(populate_existing=True)
    ).first()


def _payout_paid(session, gateway, event, now) -> str:
    line = _line_by(session, PayoutLine.bank_payout_id, event["data"]["object"]["id"])
    if line is None:
        return "ignored"
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line.id, PayoutLine.status == "sent")
            .values(status="paid", settled_at=now, reason="")
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if moved:
        session.refresh(line)
        record_audit(
            session,
            actor_id=None,
            action="payout.line.paid",
            subject_type="payout_line",
            subject_id=line.id,
            details={"bank_payout_id": line.bank_payout_id, "event": event["id"]},
        )
        notify_line(session, line)
    return "handled"


def _payout_failed(session, gateway, event, now) -> str:
    payout = event["data"]["object"]
    line = _line_by(session, PayoutLine.bank_payout_id, payout["id"])
    if line is None or line.status != "sent":
        return "ignored"
    reason = payout.get("failure_message") or payout.get("failure_code") or "bank payout failed"
    # Pull the money back from the connected account; Stripe keys make a redelivery safe.
    gateway.client.v1.transfers.reversals.create(
        line.transfer_id,
        {"metadata": {"payout_line_id": str(line.id)}},
        {"idempotency_key": reversal_key(line.id)},
    )
    fail_line_after_transfer(session, line, f"Your bank returned the payout: {reason}", now)
    return "handled"


def _transfer_reversed(session, gateway, event, now) -> str:
    transfer = event["data"]["object"]
    line = _line_by(session, PayoutLine.transfer_id, transfer["id"])
    if line is None or not transfer.get("reversed"):
        return "ignored"
    fail_line_after_transfer(session, line, "Stripe reversed the transfer.", now)
    return "handled"


def fail_line_after_transfer(
    session: Session, line: PayoutLine, reason: str, now: datetime
) -> bool:
    """A sent (or paid) line's transfer came back: fail it and credit its money back to the
    member earnings accounts it came from (Dr Stripe balance / Cr earnings). Caller commits."""
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line.id, PayoutLine.status.in_(("sent", "paid")))
            .values(status="failed", reason=reason[:500], settled_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if not moved:
        return False
    session.refresh(line)
    in_transit = ledger_account(session, "payouts_in_transit", line.currency).id
    reserved = session.execute(
        select(Posting.account_id, Posting.amount).where(
            Posting.entry_id == line.reservation_entry_id, Posting.account_id != in_transit
        )
    ).all()
    post_entry(
        session,
        idempotency_key=return_key(line.id),
        effective_at=now,
        description=f"Payout line {line.id} returned: {reason}"[:500],
        legs=[
            Leg(ledger_account(session, "stripe_balance", line.currency).id, line.amount),
            *[Leg(account_id, -amount) for account_id, amount in reserved],
        ],
        metadata={"kind": "payout", "line_id": line.id, "user_id": line.user_id, "returned": 1},
        now=now,
    )
    conversion = session.scalar(
        select(Entry.id).where(Entry.idempotency_key == f"payout:line:{line.id}:fx")
    )
    if conversion is not None:  # the money went back in the currency it was sent in
        reverse_entry(
            session,
            conversion,
            idempotency_key=f"payout:line:{line.id}:fx:return",
            effective_at=now,
            description=f"Payout line {line.id} returned: conversion undone",
            now=now,
        )
    record_audit(
        session,
        actor_id=None,
        action="payout.line.failed",
        subject_type="payout_line",
        subject_id=line.id,
        reason=reason,
        details={"transfer_id": line.transfer_id},
    )
    notify_line(session, line)
    return True


HANDLERS = {
    "account.updated": _account_updated,
    "payout.paid": _payout_paid,
    "payout.failed": _payout_failed,
    "transfer.reversed": _transfer_reversed,
}
