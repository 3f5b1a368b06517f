"""Participants' pages: the series they are on (minimal dashboard until earnings land)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from marketplace.auth.access import role_required
from marketplace.earnings import bp
from marketplace.extensions import db
from marketplace.models import Series, TeamMember
from marketplace.services.splits import current_split
from marketplace.services.studio_rules import percent


def my_series_lines(user) -> list[dict]:
    """The series `user` is an accepted team member of, with role and current share."""
    members = db.session.scalars(
        select(TeamMember)
        .where(TeamMember.user_id == user.id, TeamMember.accepted_at.is_not(None))
        .order_by(TeamMember.series_id, TeamMember.id)
    )
    lines = []
    for member in members:
        series = db.session.get(Series, member.series_id)
        version = current_split(db.session, series)
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
@role_required("creator", "participant")
def series_list():
    """The series the logged-in user is on (accepted invitations only)."""
    return render_template("earnings/series_list.html", lines=my_series_lines(current_user))


@bp.route("/")
@role_required("creator", "participant")
def dashboard():
    """A placeholder dashboard listing the user's series (the earnings dashboard replaces it)."""
    return render_template("earnings/dashboard.html", lines=my_series_lines(current_user))
