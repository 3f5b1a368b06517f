"""`flask ledger ...`: check invariants, list balances, export to beancount."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup

from ledger.reports.beancount import export_beancount
from ledger.reports.checks import check_ledger
from ledger.reports.rows import balance_rows
from marketplace.books.partitions import PartitionError, ensure_partitions, partitioned_tables
from marketplace.errors import CommandFailed
from marketplace.extensions import db
from marketplace.ingest.poster import BATCH_SIZE, post_pending, run_poster
from marketplace.splits.terms.guarantees import check_guarantees

ledger_cli = AppGroup("ledger", help="Inspect and verify the ledger.")


@ledger_cli.command("check")
def check() -> None:
    """Recompute everything from postings; exit 1 with a report on any broken invariant."""
    problems = check_ledger(db.session())
    guarantees = check_guarantees(db.session())
    if problems or guarantees:
        lines = [str(problem) for problem in problems] + guarantees
        raise CommandFailed(f"ledger check FAILED: {len(lines)} problem(s)", *lines)
    click.echo(
        "ledger check: OK (entries balanced; balances, pending and buckets recomputed;"
        " guarantee runs replayed)"
    )


@ledger_cli.command("balances")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table")
def balances(fmt: str) -> None:
    """One row per account: account, type, owner, currency, posted, pending, available."""
    rows = balance_rows(db.session())
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['account']:<60} {row['currency']} posted={row['posted']} "
            f"pending={row['pending']} available={row['available']}"
        )


@ledger_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["beancount"]), default="beancount")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
def export(fmt: str, output: str) -> None:
    """Write the whole ledger as a beancount file (check it with `bean-check FILE`)."""
    with open(output, "w", encoding="utf-8") as out:
        export_beancount(db.session(), out)
    click.echo(f"wrote {output}")


@ledger_cli.command("post")
@click.option("--once", is_flag=True, help="Post what is pending, then exit.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 100_000), default=BATCH_SIZE)
@click.option("--interval", type=click.FloatRange(0.01, 60), default=0.5, show_default=True)
def post(once: bool, batch_size: int, interval: float) -> None:
    """The ledger poster: post accepted partner events to the ledger (a process of its own;
    several may run, each taking the shards no other holds)."""
    ensure_partitions(db.session())  # the months ahead exist before anything is posted
    db.session.commit()
    if once:
        report = post_pending(db.session(), batch_size=batch_size)
        click.echo(
            json.dumps(
                {
                    "events": report.events,
                    "entries": report.entries,
                    "skipped_shards": report.skipped,
                    "through": report.through.isoformat() if report.through else None,
                }
            )
        )
        return
    run_poster(db.session, interval=interval, batch_size=batch_size)


@ledger_cli.command("partitions")
@click.option(
    "--through",
    type=click.DateTime(["%Y-%m"]),
    default=None,
    help="Last month to create (YYYY-MM); default: three months ahead.",
)
def partitions(through: datetime | None) -> None:
    """PostgreSQL: create the monthly partitions of the event log and the journal from the
    current month on (those missing only); the scheduler does it daily."""
    session = db.session()
    if not partitioned_tables(session.connection()):
        click.echo("no partitioned tables here (SQLite, or not migrated): nothing to do")
        return
    try:
        created = ensure_partitions(session, through=through.date() if through else None)
    except PartitionError as error:
        raise CommandFailed(str(error)) from error
    session.commit()
    names = f": {', '.join(created)}" if created else ""
    click.echo(f"created {len(created)} partition(s){names}")
