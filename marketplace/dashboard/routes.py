"""The creator's dashboard of one series: drop-off curve, revenue by partner and country, team."""

from __future__ import annotations

from flask import render_template, request

from marketplace.accounts.access import role_required
from marketplace.clock import utcnow
from marketplace.dashboard import bp
from marketplace.dashboard.break_even import series_break_even
from marketplace.dashboard.services import series_dashboard
from marketplace.extensions import db
from marketplace.studio.support import CREATOR, owned_series_or_404

PERIODS = (30, 90, 365)


@bp.route("/series/<int:series_id>/dashboard")
@role_required(CREATOR)
def series_dashboard_page(series_id: int):
    """The series' figures over the last 30, 90 or 365 days (other creators get a 404)."""
    series = owned_series_or_404(series_id)
    days = request.args.get("days", 90, type=int)
    if days not in PERIODS:
        days = 90
    now = utcnow()
    board = series_dashboard(db.session(), series, now, days)
    return render_template(
        "dashboard/series.html",
        board=board,
        days=days,
        periods=PERIODS,
        break_even=series_break_even(db.session(), series, now),
    )
