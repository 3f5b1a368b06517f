"""Participants' earnings: dashboard, statements (web, drill-down, CSV, PDF), their series.

Every page reads only the logged-in user's own accepted memberships' accounts: the user comes
from the session, never from the URL, so no URL can show someone else's money.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from babel import Locale
from flask import Response, abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace.accounts.access import role_required
from marketplace.clock import utcnow
from marketplace.earnings import bp
from marketplace.earnings.exports import statement_csv, statement_pdf, statement_summary
from marketplace.earnings.statements import (
    DRILL_SHOWN,
    PAGE_FIELDS,
    event_sources,
    line_breakdown,
    parse_drill,
    parse_period,
    participant_dashboard,
    participant_line_events,
    participant_statement,
    statement_view,
    user_accounts,
)
from marketplace.errors import NotFound, ServiceError
from marketplace.extensions import db
from marketplace.formatting import percent, reader_time_zone, user_locale
from marketplace.ingest.poster import poster_position
from marketplace.splits.models import TeamMember
from marketplace.splits.positions import member_plan_positions
from marketplace.splits.services import current_split
from marketplace.studio.models import Series

ROLES = ("creator", "participant")


def my_series_lines(user) -> list[dict]:
    """The series `user` is an accepted team member of, with role and current share."""
    members = db.session.scalars(
        select(TeamMember)
        .where(TeamMember.user_id == user.id, TeamMember.accepted_at.is_not(None))
        .order_by(TeamMember.series_id, TeamMember.id)
    )
    lines = []
    for member in members:
        series = db.session.get_one(Series, member.series_id)
        version = current_split(db.session(), series)
        bps = (
            next((s.bps for s in version.shares if s.member_id == member.id), None)
            if version
            else None
        )
        lines.append(
            {
                "series": series,
                "role": member.role,
                "credit_name": member.credit_name,
                "bps": bps,
                "share": percent(bps) if bps else "not in the current split",
            }
        )
    return lines


@bp.route("/series")
@role_required(*ROLES)
def series_list():
    """The series the logged-in user is on (accepted invitations only)."""
    return render_template("earnings/series_list.html", lines=my_series_lines(current_user))


@bp.route("/")
@role_required(*ROLES)
def dashboard():
    """Available, pending (by day) and paid money per currency, and a 90-day chart."""
    zone = reader_time_zone()
    balances = participant_dashboard(db.session(), current_user.id, utcnow(), zone=zone)
    return render_template(
        "earnings/dashboard.html",
        balances=balances,
        zone_name=str(zone),
        lines=my_series_lines(current_user),
        posted_through=poster_position(db.session()),
    )


def _period_and_currency():
    """(the user's own accounts by currency, currency, start, end, error) from the query
    string; the user's first currency by default, the current month by default."""
    accounts = user_accounts(db.session(), current_user.id)
    currencies = sorted(accounts)
    currency = request.args.get("currency") or (currencies[0] if currencies else "")
    try:
        start, end = parse_period(
            request.args.get("month"),
            request.args.get("start"),
            request.args.get("end"),
            utcnow().date(),
        )
    except ServiceError as error:
        start, end = parse_period(None, None, None, utcnow().date())
        return accounts, currency, start, end, error.localized()
    return accounts, currency, start, end, None


@bp.route("/statement")
@role_required(*ROLES)
def statement():
    """The statement for a month or a date range, in one currency: lines by series and
    episode, each drilling down to its partner apps, countries and unlocks."""
    accounts, currency, start, end, error = _period_and_currency()
    view = None
    if currency in accounts:  # the logged-in user's own accounts, just read
        view = statement_view(db.session(), accounts[currency], start, end, fields=PAGE_FIELDS)
    elif request.args.get("currency"):
        abort(404)
    status = 400 if error else 200
    return render_template(
        "earnings/statement.html",
        view=view,
        currencies=sorted(accounts),
        currency=currency,
        error=error,
        period_args=_period_args(start, end),
        period=(start, end),
        zone_name=str(reader_time_zone()),
        # Parsed once per request: Accept-Language and locale parsing per amount are slow.
        locale=Locale.parse(user_locale()),
        drill_base=url_for("earnings.statement_line"),
        # A refused period is shown as typed, beside its error (the statement is this month's).
        typed={"start": request.args.get("start", ""), "end": request.args.get("end", "")},
        query_base=urlencode({**_period_args(start, end), "currency": currency}),
        posted_through=poster_position(db.session()),
        deal_positions=member_plan_positions(db.session(), current_user.id),
    ), status


def _period_args(start, end) -> dict[str, str]:
    return {
        "start": start.date().isoformat(),
        "end": (end - timedelta(days=1)).date().isoformat(),
    }


@bp.route("/statement/lines")
@role_required(*ROLES)
def statement_line():
    """The unlocks behind one line of the user's own statement, with their exact money."""
    _, currency, start, end, error = _period_and_currency()
    if error:
        abort(400)
    try:
        kind, group = parse_drill(request.args)
        events = participant_line_events(
            db.session(), current_user.id, currency, start, end, kind, group
        )
    except NotFound:
        abort(404)
    except ServiceError:
        abort(400)
    return render_template(
        "earnings/statement_line.html",
        events=events,
        sources=event_sources(db.session(), [e.ref for e in events[:DRILL_SHOWN]]),
        shown=DRILL_SHOWN,
        breakdown=line_breakdown(db.session(), events),
        locale=Locale.parse(user_locale()),
        total=sum(e.amount for e in events),
        currency=currency,
        group=group,
        kind=kind,
        period_args=_period_args(start, end),
    )


def _download_view():
    _, currency, start, end, error = _period_and_currency()
    if error:
        abort(400)
    try:
        return participant_statement(db.session(), current_user.id, currency, start, end)
    except NotFound:
        abort(404)


def _filename(view, extension: str) -> str:
    return f"statement-{view.currency}-{view.start.date()}-{view.last_day}.{extension}"


@bp.route("/statement.csv")
@role_required(*ROLES)
def statement_csv_download():
    """The statement as CSV (one row per line, with the source event ids behind it)."""
    view = _download_view()
    body = statement_csv(db.session(), view, user_locale())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={_filename(view, 'csv')}"},
    )


@bp.route("/statement.pdf")
@role_required(*ROLES)
def statement_pdf_download():
    """The statement as a PDF."""
    view = _download_view()
    holder = current_user.display_name or current_user.email
    return Response(
        statement_pdf(view, user_locale(), holder, statement_summary(db.session(), view)),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={_filename(view, 'pdf')}"},
    )
