"""`flask scheduler run`: the scheduler's own process."""

from __future__ import annotations

from flask import current_app
from flask.cli import AppGroup

from marketplace.scheduler.jobs import run_scheduler

scheduler_cli = AppGroup("scheduler", help="The scheduler (its own process).")


@scheduler_cli.command("run")
def scheduler_run_command() -> None:
    """Run the payout scheduler in this process until interrupted."""
    run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]  # a proxy typed as Flask
