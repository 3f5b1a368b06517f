"""Admin pages (admins only)."""

from flask import render_template
from sqlalchemy import func, select

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role, User
from marketplace.admin import bp
from marketplace.books.services import trial_balance
from marketplace.extensions import db
from marketplace.payouts.models import OPEN_LINE_STATUSES, PayoutBatch, PayoutLine
from marketplace.settlements.aging import overdue_partners


@bp.route("/")
@role_required(Role.ADMIN)
def overview():
    """Money first: payouts waiting (proposed, approved, on their way) and failed per currency,
    batches waiting for approval, ledger health per currency; then users and overdue partners."""
    session = db.session()
    counts = dict(session.execute(select(User.role, func.count()).group_by(User.role)).all())
    overdue = overdue_partners(session)
    # SUM of a bigint is numeric on PostgreSQL (a Decimal): money is shown as integer minor units.
    money = [
        (currency, status, count, int(amount or 0))
        for currency, status, count, amount in session.execute(
            select(
                PayoutLine.currency, PayoutLine.status, func.count(), func.sum(PayoutLine.amount)
            )
            .where(PayoutLine.status.in_((*OPEN_LINE_STATUSES, "failed")))
            .group_by(PayoutLine.currency, PayoutLine.status)
            .order_by(PayoutLine.currency, PayoutLine.status)
        )
    ]
    waiting = session.scalar(
        select(func.count()).select_from(PayoutBatch).where(PayoutBatch.status == "draft")
    )
    return render_template(
        "admin/overview.html",
        counts=counts,
        overdue=overdue,
        open_lines=[row for row in money if row[1] != "failed"],
        failed_lines=[row for row in money if row[1] == "failed"],
        draft_batches=waiting or 0,
        ledger=trial_balance(session),
    )


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
