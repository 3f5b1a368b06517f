"""The admin's outbox page: every message with its delivery state (queued, sent, dead-lettered
after too many failures, suppressed by the recipient's preferences); dead ones can be
queued again."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.extensions import db
from marketplace.mail import STATUSES, OutboxMessage, requeue_message

PAGE_SIZE = 100


@bp.route("/outbox")
@role_required(Role.ADMIN)
def outbox():
    """Outgoing messages, newest first, optionally only those to one address (?to=) or in
    one state (?status=dead)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
    to = request.args.get("to", "").strip().lower()
    if to:
        query = query.where(OutboxMessage.to_address == to)
    status = request.args.get("status", "")
    if status in STATUSES:
        query = query.where(OutboxMessage.status == status)
    return render_template(
        "admin/outbox.html",
        messages=list(db.session.scalars(query)),
        to=to,
        status=status if status in STATUSES else "",
        statuses=STATUSES,
        form=FlaskForm(),
    )


@bp.route("/outbox/<int:message_id>/requeue", methods=["POST"])
@role_required(Role.ADMIN)
def outbox_requeue(message_id: int):
    """Queue a dead-lettered message again (the scheduler sends it on its next run)."""
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
    elif requeue_message(db.session(), message_id) is None:
        flash(_("Only a dead-lettered message can be queued again."), "error")
    else:
        flash(_("Queued again."), "success")
    return redirect(url_for("admin.outbox", status="dead"))
