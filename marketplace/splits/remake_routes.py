"""The remake page: a localized version (its own cast) that declares royalties to members of
the original's team (marketplace.splits.terms.deal_terms.create_remake)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2

from marketplace.accounts.access import role_required
from marketplace.errors import ServiceError, ValidationFailed, apply_service_error
from marketplace.extensions import db
from marketplace.formatting import parse_decimal_input
from marketplace.splits import bp
from marketplace.splits.forms import RemakeForm
from marketplace.splits.models import TeamMember
from marketplace.splits.terms.deal_terms import RoyaltyTerms, create_remake
from marketplace.studio.support import CREATOR, owned_series_or_404


def _royalty_bps(text: str | None, field: str) -> int | None:
    """A percent typed by a person ("5", "2.5") in basis points (None when left blank)."""
    text = (text or "").strip().rstrip("%").strip()
    if not text:
        return None
    value = parse_decimal_input(text)
    if value is None:
        raise ServiceError("Type a percent such as 5 or 2.5.", field=field)
    bps = value * 100
    if bps != bps.to_integral_value():
        raise ServiceError("A royalty has at most two decimals.", field=field)
    return int(bps)


@bp.route("/series/<int:series_id>/remake", methods=["GET", "POST"])
@role_required(CREATOR)
def remake(series_id: int):
    """A localized version with its own cast that pays royalties to members of the original's
    team (declared now; its revenue plans carry them, accepted by the remake's team)."""
    original = owned_series_or_404(series_id)
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.series_id == original.id).order_by(TeamMember.id)
    ).all()
    form = RemakeForm()
    rows: list[Any] = list(form.royalties)  # FormFields of RoyaltyRowForm
    for row in rows:
        row.member_id.choices = [
            SelectChoice(0, "-"),
            *[SelectChoice(m.id, f"{m.credit_name} ({m.role})") for m in members],
        ]
    status = 200
    if form.validate_on_submit():
        try:
            royalties = []
            for index, row in enumerate(form.royalties):
                bps = _royalty_bps(row.percent.data, f"royalties[{index}].bps")
                if row.member_id.data or bps is not None:
                    royalties.append(
                        RoyaltyTerms(row.member_id.data, bps if bps is not None else 0)
                    )
            version = create_remake(
                db.session(),
                original,
                current_user,
                language=form.language.data or "",
                title=(form.title.data or "").strip() or None,
                royalties=royalties,
            )
        except ServiceError as error:
            db.session.rollback()
            problems = (
                error.problems
                if isinstance(error, ValidationFailed)
                else [(error.field, error.message)]
            )
            for field, message in problems:
                if not _row_error(form, field, message):
                    apply_service_error(form, ServiceError(message, field=field))
        else:
            flash("Remake created: add its cast, its split and its revenue plan.", "success")
            return redirect(url_for("publishing.series_detail", series_id=version.id))
    if form.errors or form.form_errors:
        status = 422
    return render_template(
        "splits/remake.html", form=form, series=original, members=members
    ), status


def _row_error(form: RemakeForm, field: str | None, message: str) -> bool:
    """Put a royalties[i].x error beside row i's field; False when it names no row."""
    if not field or not field.startswith("royalties["):
        return False
    index, _, name = field[len("royalties[") :].partition("].")
    if not index.isdigit() or int(index) >= len(form.royalties):
        return False
    row: Any = form.royalties[int(index)]
    target = row.member_id if name == "member_id" else row.percent
    target.errors = [*target.errors, message]
    return True
