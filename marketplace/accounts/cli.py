"""`flask users ...`: accounts from the command line (the only way to make an admin)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from marketplace.accounts import services as accounts
from marketplace.errors import CommandFailed, ServiceError
from marketplace.extensions import db

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["creator", "participant", "admin"]), default="creator")
@click.option("--name", "display_name", default="")
def create_user(email: str, password: str, role: str, display_name: str) -> None:
    """Create an account; the only way to make an admin."""
    try:
        user = accounts.register_user(
            db.session(), email=email, password=password, role=role, display_name=display_name
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"id": user.id, "email": user.email, "role": user.role}))
