"""`flask settlements ...`: close periods, record remittances, read statements and aging."""

from __future__ import annotations

import json
from datetime import date

import click
from babel.numbers import get_currency_precision
from flask.cli import AppGroup

from marketplace.errors import CommandFailed, ServiceError
from marketplace.extensions import db
from marketplace.partners.contracts import parse_period, partner_named
from marketplace.settlements.aging import aging
from marketplace.settlements.exports import statement_csv, statement_json
from marketplace.settlements.payments import parse_amount, record_remittance
from marketplace.settlements.statements import (
    close_due,
    close_period,
    get_statement,
    list_statements,
)

settlements_cli = AppGroup("settlements", help="Partner settlement statements and remittances.")


@settlements_cli.command("close")
@click.option("--partner", "name", required=True, help="the partner app's name")
@click.option("--period", required=True, help="2026-11 (a month) or 2026-W47 (a week)")
def close(name: str, period: str) -> None:
    """Close one period of one app (once; a repeat prints the statement written); prints it
    as JSON without its lines."""
    session = db.session()
    try:
        partner = partner_named(session, name)
        _, start = parse_period(period)
        statement, created = close_period(session, partner, start)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"created": created, **statement_json(statement, lines=False)}))


@settlements_cli.command("close-due")
def close_due_command() -> None:
    """Close every period past its cut-off (what the hourly job runs); prints their ids."""
    try:
        written = close_due(db.session())
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"closed": [s.id for s in written]}))


@settlements_cli.command("list")
@click.option("--partner", "name", default=None)
def list_command(name: str | None) -> None:
    """Statements newest first, one JSON object a line (without lines)."""
    session = db.session()
    try:
        partner_id = partner_named(session, name).id if name else None
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    for statement in list_statements(session, partner_id):
        click.echo(json.dumps(statement_json(statement, lines=False)))


@settlements_cli.command("show")
@click.argument("statement_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def show(statement_id: int, fmt: str) -> None:
    """One statement with its lines, as JSON or CSV."""
    try:
        statement = get_statement(db.session(), statement_id)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    if fmt == "csv":
        click.echo(statement_csv(statement), nl=False)
    else:
        click.echo(json.dumps(statement_json(statement), indent=2))


@settlements_cli.command("remit")
@click.option("--partner", "name", required=True)
@click.option("--amount", required=True, help="as received, e.g. 1234.56")
@click.option("--currency", required=True)
@click.option("--reference", required=True, help="the bank reference (unique per app)")
@click.option("--settlement", "settlement_id", type=int, default=None, help="statement to pay")
@click.option("--rate", default=None, help="rate received: 1 CURRENCY = RATE contract currency")
@click.option("--received-on", default=None, help="YYYY-MM-DD (default today)")
def remit(
    name: str,
    amount: str,
    currency: str,
    reference: str,
    settlement_id: int | None,
    rate: str | None,
    received_on: str | None,
) -> None:
    """Record a remittance from an app and apply it; prints it as JSON."""
    session = db.session()
    try:
        partner = partner_named(session, name)
        code = currency.strip().upper()
        try:
            exponent = get_currency_precision(code)
            day = date.fromisoformat(received_on) if received_on else None
        except ValueError:
            raise CommandFailed(f"--received-on: {received_on!r} is not YYYY-MM-DD") from None
        remittance = record_remittance(
            session,
            partner,
            amount=parse_amount(amount, exponent),
            currency=code,
            reference=reference,
            received_on=day,
            settlement_id=settlement_id,
            rate=rate,
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(
        json.dumps(
            {
                "id": remittance.id,
                "amount": remittance.amount,
                "currency": remittance.currency,
                "rate": remittance.rate,
                "settled": remittance.settled,
                "reference": remittance.reference,
            }
        )
    )


@settlements_cli.command("aging")
def aging_command() -> None:
    """Outstanding receivables per app by days past due, as JSON."""
    click.echo(
        json.dumps(
            [
                {"partner": row.name, "currency": row.currency, **row.buckets, "total": row.total}
                for row in aging(db.session())
            ]
        )
    )
