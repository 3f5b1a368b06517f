"""`flask payouts ...`: thin entry points onto the payout services."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.accounts.services import find_user_by_email
from marketplace.errors import CommandFailed, ServiceError
from marketplace.extensions import db
from marketplace.payouts import services as payout_service
from marketplace.payouts.batches import build_batch
from marketplace.payouts.execution import execute_batch
from marketplace.payouts.gateway import get_gateway, relay_emulated_stripe

payouts_cli = AppGroup("payouts", help="Payout batches: build, approve, execute, show.")


def _parse_moment(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandFailed(f"--as-of must be an ISO 8601 time, got {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _admin_id(email: str) -> int:
    user = find_user_by_email(db.session(), email)
    if user is None or not user.is_admin:
        raise CommandFailed(f"{email} is not an admin")
    return user.id


@payouts_cli.command("build")
@click.option("--as-of", "as_of", help="ISO time; balances available then are paid (UTC).")
def build_command(as_of: str | None) -> None:
    """Build the draft batch of the period of --as-of (default: now)."""
    config = current_app.config
    try:
        result = build_batch(
            db.session(),
            as_of=_parse_moment(as_of),
            minimum=config["PAYOUT_MINIMUM"],
            approvals_required=config["PAYOUT_APPROVALS"],
            platform_country=config["STRIPE_PLATFORM_COUNTRY"],
        )
    except ValueError as error:
        raise CommandFailed(f"--as-of: {error}") from None
    batch = result.batch
    click.echo(
        json.dumps({"batch": batch.id, "period": batch.period_key, "created": result.created})
    )


@payouts_cli.command("approve")
@click.argument("batch_id", type=int)
@click.option("--by", "email", required=True, help="The approving admin's email.")
@click.option("--reason", default="", help="A note for the audit log.")
def approve_command(batch_id: int, email: str, reason: str) -> None:
    """Record an admin's approval of a batch."""
    try:
        batch = payout_service.approve_batch(
            db.session(), batch_id, admin_id=_admin_id(email), reason=reason
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"batch": batch.id, "status": batch.status}))


@payouts_cli.command("reject")
@click.argument("line_id", type=int)
@click.option("--by", "email", required=True)
@click.option("--reason", required=True)
def reject_command(line_id: int, email: str, reason: str) -> None:
    """Reject one line (its money returns to the participant)."""
    try:
        line = payout_service.reject_line(
            db.session(), line_id, admin_id=_admin_id(email), reason=reason
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps(payout_service.line_as_json(line)))


@payouts_cli.command("execute")
@click.argument("batch_id", type=int)
def execute_command(batch_id: int) -> None:
    """Send an approved batch's lines to Stripe (safe to run again, or twice at once)."""
    try:
        report = execute_batch(db.session(), get_gateway().client, batch_id)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps(report.as_json()))


@payouts_cli.command("show")
@click.argument("batch_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
def show_command(batch_id: int, fmt: str) -> None:
    """Print a batch: totals per currency, counts per status, lines."""
    try:
        view = payout_service.batch_view(db.session(), batch_id, limit=1_000_000)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    batch = view.batch
    lines = [payout_service.line_as_json(line) for line in view.lines]
    data = {
        "id": batch.id,
        "period": batch.period_key,
        "as_of": batch.as_of.isoformat(),
        "status": batch.status,
        "approvals": view.approver_ids,
        "approvals_required": batch.approvals_required,
        "totals": view.totals,
        "counts": view.counts,
        "lines": lines,
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"batch {batch.id} {batch.period_key} {batch.status} totals={view.totals}")
    for line in lines:
        click.echo(
            f"  {line['id']:>8} {line['payee']:<40} {line['amount']:>12} {line['currency']} "
            f"{line['status']:<9} {line['reason']}"
        )


@payouts_cli.command("fund")
@click.argument("amount", type=int)
@click.option("--currency", default="USD")
def fund_command(amount: int, currency: str) -> None:
    """Put the platform's own float into its Stripe balance (Dr Stripe balance / Cr platform
    float), and add it to the emulated sandbox's balance. Money partner apps pay is recorded
    with `flask settlements remit`, not here."""
    currency = currency.upper()
    try:
        payout_service.record_platform_funding(
            db.session(), amount=amount, currency=currency, reference=uuid.uuid4().hex
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    gateway = get_gateway()
    if gateway.emulator is not None:
        gateway.emulator.fund_platform(amount, currency.lower())
    click.echo(
        json.dumps(
            {
                "funded": amount,
                "currency": currency,
                "account": "platform float",
                "emulated": gateway.emulated,
            }
        )
    )


@payouts_cli.command("deliver-events")
def deliver_events_command() -> None:
    """Emulated sandbox: settle pending bank payouts and deliver pending webhook events."""
    click.echo(json.dumps({"delivered": relay_emulated_stripe(current_app)}))
