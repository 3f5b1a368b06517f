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

from marketplace.extensions import db
from marketplace.payouts.batches import BuildResult, build_batch
from marketplace.payouts.gateway import get_gateway, relay_emulated_stripe

log = logging.getLogger(__name__)
RELAY_SECONDS = 5


def build_due_batch(app: Flask, now: datetime | None = None) -> BuildResult:
    """The scheduled job: build the batch of the current period (or find it built)."""
    with app.app_context():
        config = app.config
        now = now or datetime.now(UTC)
        result = build_batch(
            db.session(),
            as_of=now,
            now=now,
            minimum=config["PAYOUT_MINIMUM"],
            approvals_required=config["PAYOUT_APPROVALS"],
        )
        log.info("payout batch %s (%s)", result.batch.id, "built" if result.created else "exists")
        return result


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
