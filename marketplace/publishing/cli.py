"""`flask studio import|publish` and `flask series show`: thin entry points onto the services."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.accounts import services as accounts
from marketplace.errors import CommandFailed, ServiceError, ValidationFailed
from marketplace.extensions import db
from marketplace.publishing import manifest
from marketplace.publishing import services as publishing
from marketplace.studio.models import Series
from marketplace.studio.storage import MediaStorage

studio_cli = AppGroup("studio", help="Import and publish series.")
series_cli = AppGroup("series", help="Inspect series.")


@studio_cli.command("import")
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", "owner_email", required=True, help="Email of the owning creator.")
def import_command(manifest_path: str, owner_email: str) -> None:
    """Create a series from a manifest (media paths relative to it); prints {"series_id": ...}."""
    owner = accounts.find_user_by_email(db.session(), owner_email)
    if owner is None or owner.role != "creator":
        raise CommandFailed(f"no creator with email {owner_email}")
    path = Path(manifest_path)
    try:
        series = manifest.import_manifest(
            db.session(),
            path.read_bytes(),
            manifest.DirectoryFiles(path.resolve().parent),
            owner,
            storage=MediaStorage.from_app(),
            platform_fee_bps=current_app.config["PLATFORM_FEE_BPS"],
        )
    except ValidationFailed as error:
        raise CommandFailed(*(f"{field}: {message}" for field, message in error.problems)) from None
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"series_id": series.id}))


@studio_cli.command("publish")
@click.argument("series_id", type=int)
@click.option("--partner", "partner_names", multiple=True, required=True, help="Partner app name.")
def publish_command(series_id: int, partner_names: tuple[str, ...]) -> None:
    """Publish a series to partner apps (same rules as the web); prints its listings."""
    series = db.session.get(Series, series_id)
    if series is None:
        raise CommandFailed(f"no series {series_id}")
    partners, unknown = publishing.partners_named(db.session(), partner_names)
    if unknown:
        raise CommandFailed(*(f"no active partner app named {name!r}" for name in unknown))
    try:
        publishing.publish_series(db.session(), series, None, partners)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    listings = publishing.describe_series(db.session(), series)["listings"]
    click.echo(json.dumps({"series_id": series.id, "listings": listings}))


@series_cli.command("show")
@click.argument("series_id", type=int)
@click.option("--format", "output", type=click.Choice(["json"]), default="json")
def show_command(series_id: int, output: str) -> None:
    """Print a series, its current split version (participants, platform fee) and listings."""
    series = db.session.get(Series, series_id)
    if series is None:
        raise CommandFailed(f"no series {series_id}")
    click.echo(json.dumps(publishing.describe_series(db.session(), series), indent=2))
