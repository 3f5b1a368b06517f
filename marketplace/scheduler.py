"""APScheduler jobs, run only by `flask scheduler run`, in a process of its own.

- payout batch build: on PAYOUT_SCHEDULE (crontab, UTC; default "0 6 * * mon"). Several
  scheduler processes may run: the batch's unique period key makes one batch per period.
- emulated sandbox only: every few seconds the emulated bank pays pending payouts and the
  emulated Stripe's webhook events are delivered, signed, to POST /stripe/webhook.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import PayoutLine
from marketplace.payments.stripe_gateway import get_gateway
from marketplace.services.payout_batches import BuildResult, build_batch

log = logging.getLogger(__name__)
RELAY_SECONDS = 5


def build_due_batch(app: Flask, now: datetime | None = None) -> BuildResult:
    """The scheduled job: build the batch of the current period (or find it built)."""
    with app.app_context():
        config = app.config
        now = now or datetime.now(UTC)
        result = build_batch(
            db.session,
            as_of=now,
            now=now,
            minimum=config["PAYOUT_MINIMUM"],
            approvals_required=config["PAYOUT_APPROVALS"],
        )
        log.info("payout batch %s (%s)", result.batch.id, "built" if result.created else "exists")
        return result


def relay_emulated_stripe(app: Flask) -> int:
    """Emulated sandbox only: the bank pays pending payouts, and pending events are POSTed,
    signed, to our webhook. Returns how many events were acknowledged."""
    gateway = get_gateway(app)
    emulator = gateway.emulator
    if emulator is None:
        return 0
    with app.app_context():
        pending = db.session.scalars(
            select(PayoutLine.bank_payout_id).where(
                PayoutLine.status == "sent", PayoutLine.bank_payout_id.is_not(None)
            )
        ).all()
        db.session.rollback()
    for payout_id in pending:
        try:
            emulator.settle_payout(payout_id, paid=True)
        except (KeyError, ValueError):  # settled already, or not the emulator's
            continue
    delivered = 0
    client = app.test_client()
    for event in emulator.pending_events():
        body, header = emulator.signed_payload(event, gateway.webhook_secret)
        response = client.post(
            "/stripe/webhook",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        if response.status_code == 200:
            emulator.mark_delivered(event["id"])
            delivered += 1
    return delivered


def create_scheduler(app: Flask) -> BlockingScheduler:
    """A BlockingScheduler with the payout jobs (not started)."""
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        build_due_batch,
        CronTrigger.from_crontab(app.config["PAYOUT_SCHEDULE"], timezone=UTC),
        args=[app],
        id="payout-batch-build",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    if get_gateway(app).emulated:
        scheduler.add_job(
            relay_emulated_stripe,
            "interval",
            seconds=RELAY_SECONDS,
            args=[app],
            id="emulated-stripe-relay",
            coalesce=True,
            max_instances=1,
        )
    return scheduler


def run_scheduler(app: Flask) -> None:
    """Run the jobs until interrupted (`flask scheduler run`)."""
    scheduler = create_scheduler(app)
    for job in scheduler.get_jobs():
        log.info("scheduled %s: %s", job.id, job.trigger)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
