"""The admin's outbox page: mail kept here when no SMTP server is configured."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.extensions import db
from marketplace.mail import OutboxMessage

PAGE_SIZE = 100


@bp.route("/outbox")
@role_required(Role.ADMIN)
def outbox():
    """Outgoing messages, newest first, optionally only those to one address (?to=)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
    to = request.args.get("to", "").strip().lower()
    if to:
        query = query.where(OutboxMessage.to_address == to)
    return render_template("admin/outbox.html", messages=list(db.session.scalars(query)), to=to)
