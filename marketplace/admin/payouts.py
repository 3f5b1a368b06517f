"""Admin payout pages: batches, a batch's totals, lines and flags, approve / reject / send."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.clock import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.formatting import format_money
from marketplace.payouts import services as payout_service
from marketplace.payouts.batches import build_batch, period_key_for
from marketplace.payouts.execution import execute_batch
from marketplace.payouts.forms import (
    ApproveBatchForm,
    BuildBatchForm,
    ExecuteBatchForm,
    RejectLineForm,
)
from marketplace.payouts.gateway import get_gateway
from marketplace.payouts.notices import reason_fix


@bp.route("/payouts")
@role_required(Role.ADMIN)
def payout_batches():
    """Every batch, newest first, and a button to build today's (once it exists, a link)."""
    batches = payout_service.list_batches(db.session())
    today = period_key_for(utcnow())
    return render_template(
        "admin/payouts.html",
        batches=batches,
        todays_batch=next((b for b in batches if b.period_key == today), None),
        form=BuildBatchForm(),
        stripe_label=get_gateway().label,
    )


@bp.route("/payouts/build", methods=["POST"])
@role_required(Role.ADMIN)
def payout_build():
    """Build (or open) the batch of today's period."""
    if not BuildBatchForm().validate_on_submit():
        abort(400)
    config = current_app.config
    result = build_batch(
        db.session(),
        minimum=config["PAYOUT_MINIMUM"],
        approvals_required=config["PAYOUT_APPROVALS"],
        created_by_id=current_user.id,
        platform_country=config["STRIPE_PLATFORM_COUNTRY"],
    )
    if result.created:
        counts = payout_service.batch_view(db.session(), result.batch.id, limit=0).counts
        flash(
            _(
                "Batch built. %(proposed)s payouts proposed, %(excluded)s not payable"
                " (the reasons are listed).",
                proposed=counts.get("proposed", 0),
                excluded=counts.get("excluded", 0),
            ),
            "success",
        )
    else:
        flash(_("Today's batch (#%(id)s) already exists: here it is.", id=result.batch.id), "info")
    return redirect(url_for("admin.payout_batch", batch_id=result.batch.id))


@bp.route("/payouts/<int:batch_id>")
@role_required(Role.ADMIN)
def payout_batch(batch_id: int):
    """Totals per currency, lines with flags and reasons, approvals."""
    try:
        view = payout_service.batch_view(db.session(), batch_id)
    except ServiceError:
        abort(404)
    return render_template(
        "admin/payouts_batch.html",
        view=view,
        approve_form=ApproveBatchForm(),
        reject_form=RejectLineForm(),
        execute_form=ExecuteBatchForm(),
        approved_by_me=current_user.id in view.approver_ids,
        unfinished=payout_service.unfinished_line_count(db.session(), batch_id),
        stripe_label=get_gateway().label,
        reason_fix=reason_fix,
    )


@bp.route("/payouts/<int:batch_id>/approve", methods=["POST"])
@role_required(Role.ADMIN)
def payout_approve(batch_id: int):
    """One admin's approval of the batch."""
    form = ApproveBatchForm()
    if form.validate_on_submit():
        try:
            batch = payout_service.approve_batch(
                db.session(), batch_id, admin_id=current_user.id, reason=form.reason.data or ""
            )
        except ServiceError as error:
            flash(error.localized(), "error")
        else:
            done = batch.status == "approved"
            flash(
                "Batch approved." if done else "Approval recorded; another admin must approve.",
                "success",
            )
    return redirect(url_for("admin.payout_batch", batch_id=batch_id))


@bp.route("/payouts/lines/<int:line_id>/reject", methods=["POST"])
@role_required(Role.ADMIN)
def payout_reject(line_id: int):
    """Reject one line, with a reason; its money returns to the participant."""
    form = RejectLineForm()
    batch_id = None
    if form.validate_on_submit():
        try:
            line = payout_service.reject_line(
                db.session(), line_id, admin_id=current_user.id, reason=form.reason.data or ""
            )
            batch_id = line.batch_id
            flash(
                _(
                    "Line rejected: %(amount)s for %(payee)s is back on their balance.",
                    amount=format_money(line.amount, line.currency),
                    payee=line.payee,
                ),
                "success",
            )
        except ServiceError as error:
            flash(error.localized(), "error")
    else:
        flash("Say why the line is rejected.", "error")
    if batch_id is None:
        return redirect(url_for("admin.payout_batches"))
    return redirect(url_for("admin.payout_batch", batch_id=batch_id))


@bp.route("/payouts/<int:batch_id>/execute", methods=["POST"])
@role_required(Role.ADMIN)
def payout_execute(batch_id: int):
    """Send the approved lines now (the same service as `flask payouts execute`)."""
    if not ExecuteBatchForm().validate_on_submit():
        abort(400)
    try:
        report = execute_batch(db.session(), get_gateway().client, batch_id)
    except ServiceError as error:
        flash(error.localized(), "error")
    else:
        flash(
            f"Sent {len(report.sent)}, failed {len(report.failed)}, "
            f"to retry {len(report.retry_later)}.",
            _execution_category(report),
        )
    return redirect(url_for("admin.payout_batch", batch_id=batch_id))


def _execution_category(report) -> str:
    """Green only when something was sent and nothing failed or waits for a retry."""
    if report.failed or report.retry_later:
        return "warning"
    return "success" if report.sent or report.bank_payouts else "info"
