"""The creator's dashboard of one series: drop-off curve, revenue by partner and country, team."""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, request

from marketplace.accounts.access import role_required
from marketplace.clock import utcnow
from marketplace.dashboard import bp
from marketplace.dashboard.analytics import (
    REVENUE_TYPES,
    Filters,
    analytics_csv_rows,
    delta,
    series_analytics,
    share,
)
from marketplace.dashboard.break_even import series_break_even
from marketplace.dashboard.headline import (
    PRESET_DAYS,
    custom_period,
    preset_period,
    series_headline,
)
from marketplace.dashboard.services import listed_partners, series_dashboard
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.ingest.unlocks import COUNTRIES
from marketplace.studio.support import CREATOR, owned_series_or_404


@bp.route("/series/<int:series_id>/dashboard")
@role_required(CREATOR)
def series_dashboard_page(series_id: int):
    """The series' figures over the last 30, 90 or 365 days, or a custom range of days
    (from/to); a headline against the previous period (other creators get a 404)."""
    series = owned_series_or_404(series_id)
    now = utcnow()
    days = request.args.get("days", 90, type=int)
    period = preset_period(now, days if days in PRESET_DAYS else 90)
    problems: list[tuple[str, str]] = []
    if "from" in request.args or "to" in request.args:
        try:
            period = custom_period(now, request.args.get("from", ""), request.args.get("to", ""))
        except ValidationFailed as error:
            problems = error.problems
    board = series_dashboard(
        db.session(), series, now, period.days, start=period.start, end=period.end
    )
    return render_template(
        "dashboard/series.html",
        board=board,
        days=None if period.custom else period.days,
        period=period,
        periods=PRESET_DAYS,
        problems=dict(problems),
        custom={"from": request.args.get("from", ""), "to": request.args.get("to", "")},
        headline=series_headline(db.session(), series, period, board.currencies),
        break_even=series_break_even(db.session(), series, now),
    ), (422 if problems else 200)


ANALYTICS_PERIODS = (7, 30, 90, 365)


def _analytics_request(series_id: int):
    """The series (owner only: 404 otherwise) and the page's period, filters and comparison
    from the query string (unknown values fall back to all)."""
    series = owned_series_or_404(series_id)
    days = request.args.get("days", 30, type=int)
    if days not in ANALYTICS_PERIODS:
        days = 30
    country = (request.args.get("country") or "").upper()
    filters = Filters(
        partner_id=request.args.get("partner", type=int),
        country=country if country in COUNTRIES else None,
    )
    analytics = series_analytics(
        db.session(), series, utcnow(), days, filters, request.args.get("compare", type=int)
    )
    return analytics, days


@bp.route("/series/<int:series_id>/analytics")
@role_required(CREATOR)
def series_analytics_page(series_id: int):
    """The series' funnel, retention, revenue by type and versions (owner only)."""
    analytics, days = _analytics_request(series_id)
    partners = listed_partners(db.session(), analytics.series.id)
    return render_template(
        "dashboard/analytics.html",
        a=analytics,
        days=days,
        periods=ANALYTICS_PERIODS,
        partners=partners,
        types=REVENUE_TYPES,
        share=share,
        delta=delta,
    )


@bp.route("/series/<int:series_id>/analytics.csv")
@role_required(CREATOR)
def series_analytics_csv(series_id: int):
    """The analytics page's figures as CSV (owner only)."""
    analytics, days = _analytics_request(series_id)
    out = io.StringIO()
    csv.writer(out).writerows(analytics_csv_rows(analytics))
    name = f"analytics-series-{analytics.series.id}-{days}d.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
