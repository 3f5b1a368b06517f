"""`flask ...` commands: thin entry points onto the same services the web app uses."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.services import accounts
from marketplace.services.errors import ServiceError

users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data for `make run`.")


def fail(message: str) -> None:
    """Print a one-line error to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["creator", "participant", "admin"]), default="creator")
@click.option("--name", "display_name", default="")
def create_user(email: str, password: str, role: str, display_name: str) -> None:
    """Create an account; the only way to make an admin."""
    try:
        user = accounts.register_user(
            db.session, email=email, password=password, role=role, display_name=display_name
        )
    except ServiceError as error:
        fail(error.message)
    click.echo(json.dumps({"id": user.id, "email": user.email, "role": user.role}))


@demo_cli.command("load")
def load_demo() -> None:
    """Load the demo data; running it again creates nothing twice."""
    from marketplace.demo import load_demo_data

    logins = load_demo_data(db.session)
    click.echo("Demo logins (password for all: demo-password):")
    for role, email in logins:
        click.echo(f"  {role:<12} {email}")


def register(app: Flask) -> None:
    """Attach every command group to the app."""
    from marketplace.api.cli import partners_cli
    from marketplace.ledger_cli import ledger_cli
    from marketplace.payouts.cli import payouts_cli, scheduler_cli
    from marketplace.studio.cli import series_cli, studio_cli

    for group in (
        users_cli,
        demo_cli,
        ledger_cli,
        partners_cli,
        payouts_cli,
        scheduler_cli,
        studio_cli,
        series_cli,
    ):
        app.cli.add_command(group)
