"""Payouts seen by people: connecting a Stripe account, admins' approvals and rejections,
participants' payout history. Building is in payout_batches, sending in payout_execution."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import stripe
from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.posting import Leg, post_entry, reverse_entry
from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.chart import ledger_account
from marketplace.clock import utcnow
from marketplace.errors import Conflict, Forbidden, NotFound, ServiceError
from marketplace.payouts.crossborder import stripe_rules
from marketplace.payouts.gateway import StripeGateway
from marketplace.payouts.models import PayoutAccount, PayoutApproval, PayoutBatch, PayoutLine
from marketplace.tax.rules import check_country

PAYABLE_STATUSES = ("proposed", "approved", "sending", "sent", "paid")


def return_key(line_id: int) -> str:
    """The ledger idempotency key of the entry giving a line's money back to the participant."""
    return f"payout:line:{line_id}:return"


# --- payout accounts ------------------------------------------------------------------------


def next_payout_run(schedule: str, now: datetime) -> datetime | None:
    """When the scheduler next builds a payout batch (PAYOUT_SCHEDULE, a UTC crontab)."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(schedule, timezone=UTC)
    except ValueError:
        return None
    return trigger.get_next_fire_time(None, now)


def payout_account_for(session: Session, user_id: int) -> PayoutAccount | None:
    """The user's connected account, if they started onboarding."""
    return session.scalar(select(PayoutAccount).where(PayoutAccount.user_id == user_id))


@dataclass(frozen=True)
class Onboarding:
    """What starting onboarding gave: Stripe's onboarding URL, or (url None) why Stripe
    Connect cannot pay this payee from here and what happens instead."""

    account: PayoutAccount
    url: str | None
    message: str = ""


def _create_stripe_account(
    session: Session, gateway: StripeGateway, user: User, country: str, cross_border: bool
) -> stripe.Account:
    params: dict[str, Any] = {
        "type": "express",
        "country": country,
        "email": user.email,
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"user_id": str(user.id)},
    }
    if cross_border:
        # Stripe: cross-border payouts only work under the recipient service agreement.
        params["tos_acceptance"] = {"service_agreement": "recipient"}
    return gateway.client.v1.accounts.create(
        cast(Any, params), {"idempotency_key": f"payout-account-user-{user.id}-{country}"}
    )


def start_onboarding(
    session: Session,
    gateway: StripeGateway,
    user: User,
    *,
    return_url: str,
    refresh_url: str,
    country: str | None = None,
    platform_country: str = "US",
    create: bool = True,
) -> Onboarding:
    """Create the user's Express account in `country` if needed (and `create`: only from the
    form's POST) and return a fresh onboarding link; where Stripe Connect cannot reach that
    country from this platform, record the choice and say what happens instead."""
    account = payout_account_for(session, user.id)
    if account is None and not create:
        raise NotFound("You have not connected a payout account yet.")
    if country is not None:
        country = check_country(country, "country")
    if account is not None and account.stripe_account_id and country not in (None, account.country):
        raise ServiceError(
            f"Your Stripe account is in {account.country}; Stripe does not move an account "
            "to another country. Ask an admin to close it first.",
            field="country",
        )
    country = country or (account.country if account else platform_country)
    route = stripe_rules.payout_route(platform_country, country)
    if account is None:
        account = PayoutAccount(user_id=user.id, country=country)
        session.add(account)
    account.country = country
    if route.kind != "connect":
        record_audit(session, actor_id=user.id, action="payout.account.country",
                     subject_type="payout_account", subject_id=user.id,
                     details={"country": country, "route": route.kind})  # fmt: skip
        session.commit()
        return Onboarding(account, None, route.reason)
    try:
        if account.stripe_account_id is None:
            created = _create_stripe_account(session, gateway, user, country, route.cross_border)
            account.stripe_account_id = created.id
            account.default_currency = created.default_currency
            record_audit(
                session,
                actor_id=user.id,
                action="payout.account.create",
                subject_type="payout_account",
                subject_id=created.id,
                details={"country": country, "cross_border": route.cross_border},
            )
            session.commit()
        link = gateway.client.v1.account_links.create(
            {
                "account": account.stripe_account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as error:
        session.rollback()
        raise ServiceError(f"Stripe could not start onboarding: {error.user_message}") from None
    return Onboarding(account, link.url)


def apply_account_state(session: Session, stripe_account: dict) -> PayoutAccount | None:
    """Copy Stripe's account flags and currencies onto our row (account.updated, a re-read)."""
    account = session.scalar(
        select(PayoutAccount).where(PayoutAccount.stripe_account_id == stripe_account["id"])
    )
    if account is None:
        return None
    account.details_submitted = bool(stripe_account.get("details_submitted"))
    account.payouts_enabled = bool(stripe_account.get("payouts_enabled"))
    account.default_currency = stripe_account.get("default_currency") or account.default_currency
    banks = (stripe_account.get("external_accounts") or {}).get("data") or []
    account.bank_currencies = sorted({bank["currency"] for bank in banks})
    return account


def refresh_payout_account(session: Session, gateway: StripeGateway, user: User) -> PayoutAccount:
    """Re-read the user's account from Stripe (the onboarding return URL) and save its state."""
    account = payout_account_for(session, user.id)
    if account is None or account.stripe_account_id is None:
        raise NotFound("You have not connected a payout account yet.")
    try:
        remote = gateway.client.v1.accounts.retrieve(account.stripe_account_id)
    except stripe.StripeError as error:
        raise ServiceError(f"Stripe could not be reached: {error.user_message}") from None
    apply_account_state(session, remote.to_dict())
    session.commit()
    return account


# --- approvals ------------------------------------------------------------------------------


def get_batch(session: Session, batch_id: int) -> PayoutBatch:
    """The batch, or NotFound."""
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound("No such payout batch.")
    return batch


def approve_batch(
    session: Session, batch_id: int, *, admin_id: int, reason: str = ""
) -> PayoutBatch:
    """Record one admin's approval; with enough different admins, approve every proposed line.

    The batch row is locked first (FOR UPDATE on PostgreSQL; SQLite has one writer at a time),
    so concurrent approvals are counted one after the other and the last one needed always
    approves the batch."""
    batch = session.scalars(
        select(PayoutBatch)
        .where(PayoutBatch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if batch is None:
        raise NotFound("No such payout batch.")
    admin = session.get(User, admin_id)
    if admin is None or not admin.is_admin:
        raise Forbidden("Only admins approve payouts.")
    if batch.status != "draft":
        raise Conflict("This batch is already approved.")
    pays_admin = session.scalar(
        select(func.count())
        .select_from(PayoutLine)
        .where(
            PayoutLine.batch_id == batch.id,
            PayoutLine.user_id == admin_id,
            PayoutLine.status == "proposed",
        )
    )
    if pays_admin:
        raise Forbidden("You cannot approve a batch that pays you; another admin must.")
    approvers = set(
        session.scalars(select(PayoutApproval.admin_id).where(PayoutApproval.batch_id == batch.id))
    )
    if admin_id in approvers:
        raise Conflict("You already approved this batch; a different admin must approve it too.")
    session.add(PayoutApproval(batch_id=batch.id, admin_id=admin_id))
    count = len(approvers) + 1
    record_audit(
        session,
        actor_id=admin_id,
        action="payout.batch.approve",
        subject_type="payout_batch",
        subject_id=batch.id,
        reason=reason,
        details={"approvals": count, "required": batch.approvals_required},
    )
    if count >= batch.approvals_required:
        batch.status = "approved"
        batch.approved_at = utcnow()
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.batch_id == batch.id, PayoutLine.status == "proposed")
            .values(status="approved")
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("You already approved this batch.") from None
    session.expire(batch)
    return batch


def reject_line(
    session: Session, line_id: int, *, admin_id: int, reason: str, now: datetime | None = None
) -> PayoutLine:
    """Take a line out of its batch and give its reserved money back (a ledger reversal)."""
    reason = reason.strip()
    if not reason:
        raise ServiceError("Say why the line is rejected.", field="reason")
    line = session.get(PayoutLine, line_id)
    if line is None:
        raise NotFound("No such payout line.")
    admin = session.get(User, admin_id)
    if admin is None or not admin.is_admin:
        raise Forbidden("Only admins reject payouts.")
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(PayoutLine)
            .where(PayoutLine.id == line_id, PayoutLine.status.in_(("proposed", "approved")))
            .values(status="rejected", reason=reason, decided_by_id=admin_id, decided_at=utcnow())
        ),
    ).rowcount
    if moved != 1:
        session.rollback()
        raise Conflict("Only lines not yet sent can be rejected.")
    now = now or utcnow()
    # A proposed or approved line has its reservation (the payment_complete check).
    assert line.reservation_entry_id is not None
    reverse_entry(
        session,
        line.reservation_entry_id,
        idempotency_key=return_key(line_id),
        effective_at=now,
        description=f"Payout line {line_id} rejected: {reason}"[:500],
        now=now,
    )
    record_audit(
        session,
        actor_id=admin_id,
        action="payout.line.reject",
        subject_type="payout_line",
        subject_id=line_id,
        reason=reason,
        details={"amount": line.amount, "currency": line.currency, "user_id": line.user_id},
    )
    session.commit()
    session.refresh(line)
    return line


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchView:
    """What the admin page and `flask payouts show` display of a batch.

    Fields: batch; totals ({currency: minor units} of lines that are or were to be paid);
    counts ({status: lines}); lines (every line, paying lines first); approver_ids.
    """

    batch: PayoutBatch
    totals: dict[str, int]
    counts: dict[str, int]
    lines: list[PayoutLine]
    approver_ids: list[int]


def batch_view(session: Session, batch_id: int, *, limit: int = 1000) -> BatchView:
    """A batch with its totals per currency, counts per status and (up to `limit`) lines."""
    batch = get_batch(session, batch_id)
    totals: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = {}
    for status, currency, count, amount in session.execute(
        select(PayoutLine.status, PayoutLine.currency, func.count(), func.sum(PayoutLine.amount))
        .where(PayoutLine.batch_id == batch.id)
        .group_by(PayoutLine.status, PayoutLine.currency)
    ):
        counts[status] = counts.get(status, 0) + count
        if status in PAYABLE_STATUSES:
            totals[currency] += int(amount)
    lines = list(
        session.scalars(
            select(PayoutLine)
            .where(PayoutLine.batch_id == batch.id)
            .order_by((PayoutLine.status == "excluded"), PayoutLine.id)
            .limit(limit)
        )
    )
    approvers = [a.admin_id for a in batch.approvals]
    return BatchView(batch, dict(totals), counts, lines, approvers)


def unfinished_line_count(session: Session, batch_id: int) -> int:
    """Lines of a batch that executing it again would still act on: a transfer stopped
    half-way (sending) or a sent transfer whose bank payout was never requested."""
    return int(
        session.scalar(
            select(func.count()).where(
                PayoutLine.batch_id == batch_id,
                (PayoutLine.status == "sending")
                | ((PayoutLine.status == "sent") & PayoutLine.bank_payout_id.is_(None)),
            )
        )
        or 0
    )


def list_batches(session: Session, limit: int = 100) -> list[PayoutBatch]:
    """Batches, newest first."""
    return list(session.scalars(select(PayoutBatch).order_by(PayoutBatch.id.desc()).limit(limit)))


def payout_history(session: Session, user_id: int, limit: int = 200) -> list[PayoutLine]:
    """A participant's payout lines (paid, failed, pending, and why others were skipped)."""
    return list(
        session.scalars(
            select(PayoutLine)
            .where(PayoutLine.user_id == user_id)
            .order_by(PayoutLine.id.desc())
            .limit(limit)
        )
    )


def line_as_json(line: PayoutLine) -> dict:
    """A line as plain JSON (integers for money)."""
    return {
        "id": line.id,
        "user_id": line.user_id,
        "member_id": line.member_id,
        "payee": line.payee,
        "currency": line.currency,
        "amount": line.amount,
        "status": line.status,
        "reason": line.reason,
        "flags": list(line.flags or []),
        "destination": line.destination,
        "transfer_id": line.transfer_id,
        "bank_payout_id": line.bank_payout_id,
        "withheld": line.withheld,
        "withholding_bps": line.withholding_bps,
        "payout_currency": line.payout_currency,
        "payout_amount": line.payout_amount,
        "exchange_rate": line.exchange_rate,
    }


def record_platform_funding(
    session: Session, *, amount: int, currency: str, reference: str, actor_id: int | None = None
) -> None:
    """Record the platform's own float added to its Stripe balance (Dr Stripe balance / Cr
    platform float, equity); partner apps' money comes in as remittances (settlements).
    `reference` makes it idempotent."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ServiceError("The amount must be a positive number of minor units.", field="amount")
    now = utcnow()
    post_entry(
        session,
        idempotency_key=f"stripe-funding:{reference}",
        effective_at=now,
        description=f"Platform float into the Stripe balance ({reference})",
        legs=[
            Leg(ledger_account(session, "stripe_balance", currency).id, amount),
            Leg(ledger_account(session, "platform_float", currency).id, -amount),
        ],
        metadata={"kind": "stripe_funding", "reference": reference},
        now=now,
    )
    record_audit(
        session,
        actor_id=actor_id,
        action="payout.platform.fund",
        subject_type="stripe_balance",
        subject_id=currency,
        details={"amount": amount, "reference": reference},
    )
    session.commit()
