"""`flask tax ...`: the year-end files."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from marketplace.clock import utcnow
from marketplace.errors import CommandFailed
from marketplace.extensions import db
from marketplace.tax.yearend import write_year_end

tax_cli = AppGroup("tax", help="Tax: year-end forms and summaries.")


@tax_cli.command("year-end")
@click.argument("year", type=int)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory to write 1099-MISC.csv, 1042-S.csv, summary.csv, summaries/.",
)
def year_end_command(year: int, output: str) -> None:
    """Write YEAR's 1099-MISC and 1042-S data rows and every payee's annual summary."""
    if not 2000 <= year <= utcnow().year:
        raise CommandFailed(f"YEAR must be between 2000 and {utcnow().year}, got {year}")
    result = write_year_end(db.session(), year, Path(output))
    click.echo(
        json.dumps(
            {
                "year": year,
                "1099-MISC": len(result.forms_1099),
                "1042-S": len(result.forms_1042),
                "payees": len({row["user_id"] for row in result.summary}),
                "directory": output,
            }
        )
    )
