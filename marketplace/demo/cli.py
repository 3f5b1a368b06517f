"""`flask demo load`: the demo data for `make run`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.extensions import db

demo_cli = AppGroup("demo", help="Demo data for `make run`.")


@demo_cli.command("load")
def load_demo() -> None:
    """Load the demo data; running it again creates nothing twice."""
    from marketplace.demo.loader import load_demo_data

    logins = load_demo_data(db.session())
    click.echo("Demo logins (password for all: demo-password):")
    for role, email in logins:
        click.echo(f"  {role:<12} {email}")
