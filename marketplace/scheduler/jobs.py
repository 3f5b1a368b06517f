"""APScheduler jobs, run only by `flask scheduler run`, in a process of its own.

- payout batch build: on PAYOUT_SCHEDULE (crontab, UTC; default "0 6 * * mon"). Several
  scheduler processes may run: the batch's unique period key makes one batch per period.
- mail: with MAIL_SERVER set, every minute the queued mail that is due goes out over SMTP
  (marketplace.mail: retries with backoff, dead letters, at-least-once).
- statements: on the 1st of each month at 07:00 UTC, "your statement is ready" for the month
  just ended (once per person and month).
- plan consents: every 15 minutes, revenue plan versions whose members have not all answered
  by the deadline expire (the current terms stay) and their creators are told.
- settlements: every hour, every partner app's periods past their cut-off close (idempotent
  per app and period), apps' shown terms follow their contract version in force, and admins
  are mailed once about each statement that became overdue.
- partitions: every day at 00:15 UTC (and when the scheduler starts), PostgreSQL's monthly
  partitions of the event log and the journal are created for the current month and the next
  three, those missing only (marketplace/books/partitions.py; idempotent, several schedulers
  may run).
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

from marketplace.books.partitions import ensure_partitions
from marketplace.earnings.notices import notify_statements_ready, previous_month
from marketplace.extensions import db
from marketplace.mail import deliver_pending
from marketplace.partners.contracts import sync_partner_terms
from marketplace.payouts.batches import BuildResult, build_batch
from marketplace.payouts.gateway import get_gateway, relay_emulated_stripe
from marketplace.settlements.aging import notify_overdue
from marketplace.settlements.statements import close_due
from marketplace.splits.consent import expire_plans
from marketplace.splits.terms.guarantees import settle_guarantees

log = logging.getLogger(__name__)
RELAY_SECONDS = 5
MAIL_SECONDS = 60


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
            platform_country=config["STRIPE_PLATFORM_COUNTRY"],
        )
        log.info("payout batch %s (%s)", result.batch.id, "built" if result.created else "exists")
        return result


def deliver_mail(app: Flask) -> int:
    """The scheduled job: send the queued mail that is due."""
    with app.app_context():
        return deliver_pending(db.session())


def mail_statements(app: Flask, now: datetime | None = None) -> int:
    """The scheduled job: "statement ready" for the month before `now`'s."""
    with app.app_context():
        month = previous_month((now or datetime.now(UTC)).date())
        return notify_statements_ready(db.session(), month)


def expire_plan_consents(app: Flask, now: datetime | None = None) -> int:
    """The scheduled job: pending revenue plans past their deadline expire."""
    with app.app_context():
        return expire_plans(db.session(), now)


def settle_plan_guarantees(app: Flask, now: datetime | None = None) -> int:
    """The scheduled job: flat fees and minimum guarantees of active plans are settled."""
    with app.app_context():
        return settle_guarantees(db.session(), now)


def settle_due(app: Flask, now: datetime | None = None) -> int:
    """The scheduled job: close the settlement periods past their cut-off, sync apps' shown
    terms with their contracts, mail admins about newly overdue statements; returns how many
    statements were written."""
    with app.app_context():
        now = now or datetime.now(UTC)
        session = db.session()
        written = close_due(session, now)
        sync_partner_terms(session, now)
        session.commit()
        notify_overdue(session, now)
        log.info("settlements: %d statement(s) closed", len(written))
        return len(written)


def create_partitions_ahead(app: Flask, now: datetime | None = None) -> list[str]:
    """The scheduled job: the monthly partitions of this month and the next ones (PostgreSQL;
    nothing elsewhere); returns the partitions it created."""
    with app.app_context():
        session = db.session()
        created = ensure_partitions(session, now=now)
        session.commit()
        return created


def create_scheduler(app: Flask) -> BlockingScheduler:
    """A BlockingScheduler with the payout and mail jobs (not started)."""
    scheduler = BlockingScheduler(timezone=UTC)
    common = {"args": [app], "coalesce": True, "max_instances": 1}
    scheduler.add_job(
        build_due_batch,
        CronTrigger.from_crontab(app.config["PAYOUT_SCHEDULE"], timezone=UTC),
        id="payout-batch-build",
        misfire_grace_time=6 * 3600,
        **common,
    )
    scheduler.add_job(
        mail_statements,
        CronTrigger.from_crontab("0 7 1 * *", timezone=UTC),
        id="statement-ready-mail",
        misfire_grace_time=24 * 3600,
        **common,
    )
    scheduler.add_job(settle_due, "interval", hours=1, id="settlement-close", **common)
    scheduler.add_job(
        create_partitions_ahead,
        CronTrigger.from_crontab("15 0 * * *", timezone=UTC),
        id="partitions-ahead",
        next_run_time=datetime.now(UTC),  # and once at start
        misfire_grace_time=24 * 3600,
        **common,
    )
    scheduler.add_job(
        expire_plan_consents, "interval", minutes=15, id="plan-consent-expiry", **common
    )
    scheduler.add_job(settle_plan_guarantees, "interval", hours=1, id="guarantee-dues", **common)
    if app.config.get("MAIL_SERVER"):
        scheduler.add_job(
            deliver_mail, "interval", seconds=MAIL_SECONDS, id="mail-delivery", **common
        )
    if get_gateway(app).emulated:
        scheduler.add_job(
            relay_emulated_stripe,
            "interval",
            seconds=RELAY_SECONDS,
            id="emulated-stripe-relay",
            **common,
        )
    return scheduler


def run_scheduler(app: Flask) -> None:
    """Run the jobs until interrupted (`flask scheduler run`)."""
    scheduler = create_scheduler(app)
    for job in scheduler.get_jobs():
        log.info("scheduled %s: %s", job.id, job.trigger)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
