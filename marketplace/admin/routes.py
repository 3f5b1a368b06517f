"""Admin pages (admins only)."""

from flask import render_template
from sqlalchemy import func, select

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role, User
from marketplace.admin import bp
from marketplace.extensions import db
from marketplace.settlements.aging import overdue_partners


@bp.route("/")
@role_required(Role.ADMIN)
def overview():
    """Counts of users per role, and the way to each admin area."""
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    overdue = overdue_partners(db.session())
    return render_template("admin/overview.html", counts=counts, overdue=overdue)


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    """Every account, newest first."""
    rows = db.session.scalars(
        select(User).order_by(User.created_at.desc(), User.id.desc()).limit(500)
    )
    return render_template("admin/users.html", users=list(rows))


# The other admin pages register themselves on `bp` when imported.
from marketplace.admin import (  # noqa: E402, F401
    ledger,
    outbox,
    partners,
    payouts,
    reconciliation,
    settlements,
)
