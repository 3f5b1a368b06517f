"""The commerce split page: how a series' in-story commerce commissions are shared (e.g. the
featured actor 30 %), typed in percent and stored in basis points
(marketplace.splits.terms.commerce). The series' owner only."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from marketplace.accounts.access import role_required
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.formatting import parse_percent, percent, percent_field
from marketplace.splits import bp
from marketplace.splits.forms import CommerceSplitForm
from marketplace.splits.models import TeamMember
from marketplace.splits.terms.commerce import current_commerce_shares, save_commerce_split
from marketplace.studio.support import CREATOR, owned_series_or_404

SHARE_PROBLEM = "A share is a percentage above 0 and at most 100, with at most two decimals."


@bp.route("/series/<int:series_id>/commerce-split", methods=["GET", "POST"])
@role_required(CREATOR)
def commerce_split(series_id: int):
    """The commerce split: each team member's share of the commissions, in percent."""
    series = owned_series_or_404(series_id)
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.series_id == series.id).order_by(TeamMember.id)
    ).all()
    by_id = {member.id: member for member in members}
    current = current_commerce_shares(db.session(), series.id)
    if request.method == "GET":
        shares = current or {}
        form = CommerceSplitForm(data={"rows": [
            {"member_id": m.id, "share": percent_field(shares[m.id]) if m.id in shares else ""}
            for m in members
        ]})  # fmt: skip
    else:
        form = CommerceSplitForm()
    refused = False
    if form.validate_on_submit():
        shares = {}
        for entry in form.rows.entries:
            row = entry.form
            text = (row.share.data or "").strip()
            if row.member_id.data not in by_id:
                form.form_errors.append("Every share must name a member of the series.")
                refused = True
            elif text:
                bps = parse_percent(text)
                if bps is None or not 0 < bps <= 10_000:
                    row.share.errors = [*row.share.errors, SHARE_PROBLEM]
                    refused = True
                else:
                    shares[row.member_id.data] = bps
        total = sum(shares.values())
        if not refused and total != 10_000:
            form.form_errors.append(f"Shares add up to {percent(total)}; they must add up to 100%.")
            refused = True
        if not refused:
            fee = current_app.config["PLATFORM_FEE_BPS"]
            try:
                save_commerce_split(db.session(), series.id, shares, platform_fee_bps=fee)
            except ServiceError as error:
                db.session.rollback()
                form.form_errors.append(error.message)
                refused = True
            else:
                saved = ", ".join(
                    f"{by_id[m].credit_name} {percent(bps)}" for m, bps in sorted(shares.items())
                )
                flash(f"Commerce split saved, effective now: {saved}.", "success")
                return redirect(url_for("splits.commerce_split", series_id=series.id))
    status = 422 if refused or form.errors else 200
    rows = [(entry.form, by_id.get(entry.form.member_id.data or 0)) for entry in form.rows.entries]
    for row, member in rows:  # each share's label names its member
        if member is not None:
            row.share.label.text = f"{member.credit_name} ({member.role}): share (%)"
    return render_template(
        "splits/commerce.html",
        form=form,
        rows=rows,
        series=series,
        current=current,
        members=by_id,
        percent=percent,
        fee_percent=percent(current_app.config["PLATFORM_FEE_BPS"]),
    ), status
