"""`flask settlements reconcile | dispute | resolve`: reconcile a partner's report of a month
and settle its differing lines from the command line.

The three commands are plain click commands that the app factory attaches to the
`flask settlements` group (marketplace.settlements.cli) with `register(group)`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from marketplace.errors import CommandFailed, ServiceError
from marketplace.extensions import db
from marketplace.partners.models import PartnerApp
from marketplace.reconciliation.disputes import open_dispute, resolve_dispute
from marketplace.reconciliation.queries import differing_lines, line_dict, report_dict
from marketplace.reconciliation.reports import reconcile_report


@click.command("reconcile")
@click.option("--partner", "partner_name", required=True, help="the partner app's name")
@click.option("--period", required=True, help="calendar month in UTC, YYYY-MM")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
def reconcile_cmd(partner_name: str, period: str, file: Path, fmt: str) -> None:
    """Reconcile a partner's CSV report of a month; print the counts and the differing lines."""
    session = db.session()
    partner = session.scalars(select(PartnerApp).where(PartnerApp.name == partner_name)).first()
    if partner is None:
        raise CommandFailed(f"No partner app named {partner_name!r}.")
    try:
        with file.open("rb") as raw:
            report = reconcile_report(
                session, partner, period, raw, limit=current_app.config["RECONCILE_MAX_BYTES"],
                source="cli", filename=file.name,
            )  # fmt: skip
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    if fmt == "json":
        _echo_json(report_dict(report) | {"partner": partner.name}, report.id)
        return
    click.echo(f"report {report.id}: {partner.name} {period}, {report.lines} lines")
    for kind, count in report.counts().items():
        click.echo(f"  {kind:<17}{count:>10}")
    for line in differing_lines(session, report.id):
        theirs = f"{line.their_amount} {line.their_currency} {line.their_occurred_at}"
        ours = f"{line.our_amount} {line.our_currency} {line.our_occurred_at}"
        click.echo(f"{line.id}\t{line.kind}\t{line.event_id}\ttheirs: {theirs}\tours: {ours}")


def _echo_json(summary: dict, report_id: int) -> None:
    """The summary with its differing lines, written line by line (a big report's list is
    never one string)."""
    head = json.dumps(summary)[:-1]
    click.echo(head + ', "differing": [', nl=False)
    for index, line in enumerate(differing_lines(db.session(), report_id)):
        click.echo(("," if index else "") + json.dumps(line_dict(line)), nl=False)
    click.echo("]}")


@click.command("dispute")
@click.argument("line_id", type=int)
@click.option("--note", default="", help="why the line is disputed")
@with_appcontext
def dispute_cmd(line_id: int, note: str) -> None:
    """Open a dispute on a differing line; prints {"id", "line_id", "status"}."""
    try:
        dispute = open_dispute(db.session(), line_id, actor_id=None, note=note)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"id": dispute.id, "line_id": line_id, "status": dispute.status}))


@click.command("resolve")
@click.argument("dispute_id", type=int)
@click.option("--accept-theirs", "decision", flag_value="accept", help="ingest their figure")
@click.option("--keep-ours", "decision", flag_value="keep", help="ours stands (needs --note)")
@click.option("--note", default="")
@with_appcontext
def resolve_cmd(dispute_id: int, decision: str | None, note: str) -> None:
    """Resolve a dispute; prints {"id", "status", "ingested"}."""
    if decision is None:
        raise CommandFailed("Say --accept-theirs or --keep-ours.")
    try:
        dispute = resolve_dispute(
            db.session(), dispute_id, accept=decision == "accept", actor_id=None, note=note
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    ingested = dispute.ingested_event_ids.split()
    click.echo(json.dumps({"id": dispute.id, "status": dispute.status, "ingested": ingested}))


def register(group: click.Group) -> None:
    """Attach the reconciliation commands to a `settlements` group."""
    for command in (reconcile_cmd, dispute_cmd, resolve_cmd):
        group.add_command(command)

