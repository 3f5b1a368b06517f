"""`flask coins ...`: a partner app's coin values (thin entry points onto ingest/coin_values)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.errors import CommandFailed, ServiceError
from marketplace.extensions import db
from marketplace.ingest.api.validation import parse_time
from marketplace.ingest.kinds.coin_values import coin_rates, parse_value, set_coin_rate
from marketplace.partners.models import PartnerApp

coins_cli = AppGroup("coins", help="Coin values of partner apps.")


@coins_cli.command("set")
@click.option("--partner", "name", required=True, help="the partner app's name")
@click.option("--paid", required=True, help="one paid coin, e.g. 1/120")
@click.option("--bonus", default="0", show_default=True, help="one bonus coin")
@click.option("--unit", type=click.Choice(["major", "minor"]), default="major", show_default=True)
@click.option("--from", "start", required=True, help="RFC 3339, in the future")
def set_rate(name: str, paid: str, bonus: str, unit: str, start: str) -> None:
    """Set a coin value from a future moment on; prints the version (values in minor units)."""
    partner = db.session.scalar(select(PartnerApp).where(PartnerApp.name == name))
    if partner is None:
        raise CommandFailed(f"no partner app named {name!r}")
    moment = parse_time(start)
    if moment is None:
        raise CommandFailed("--from must be RFC 3339 with an offset")
    try:
        rate = set_coin_rate(
            db.session(),
            partner,
            paid=parse_value(paid, unit, partner.currency),
            bonus=parse_value(bonus, unit, partner.currency),
            effective_from=moment,
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(
        json.dumps(
            {
                "id": rate.id,
                "effective_from": rate.effective_from.isoformat(),
                "paid": f"{rate.paid_numerator}/{rate.paid_denominator}",
                "bonus": f"{rate.bonus_numerator}/{rate.bonus_denominator}",
                "unit": f"{partner.currency} minor",
            }
        )
    )


@coins_cli.command("list")
@click.option("--partner", "name", required=True)
def list_rates(name: str) -> None:
    """The partner app's coin values, newest first (minor units)."""
    partner = db.session.scalar(select(PartnerApp).where(PartnerApp.name == name))
    if partner is None:
        raise CommandFailed(f"no partner app named {name!r}")
    for rate in coin_rates(db.session(), partner.id):
        click.echo(f"{rate.effective_from.isoformat()}  paid {rate.paid}  bonus {rate.bonus}")
