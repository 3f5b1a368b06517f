"""Admin ledger pages: trial balance, account explorer, entry detail, audit log, partner
apps overview, and the manual adjustment form (admins only, every page)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2
from wtforms.validators import DataRequired, Length

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.books import services as admin_ledger
from marketplace.books.adjustments import post_adjustment
from marketplace.books.names import account_names
from marketplace.clock import utcnow
from marketplace.errors import NotFound, ServiceError, apply_service_error
from marketplace.extensions import db


@bp.route("/ledger")
@role_required(Role.ADMIN)
def ledger():
    """Trial balance per currency (debits equal credits, shown) and the ways in."""
    return render_template("admin/ledger.html", balances=admin_ledger.trial_balance(db.session()))


@bp.route("/ledger/accounts")
@role_required(Role.ADMIN)
def ledger_accounts():
    """Accounts, filtered by owner type and currency, with their posted balance."""
    owner_type = request.args.get("owner_type", "")
    currency = request.args.get("currency", "")
    page = max(0, request.args.get("page", 0, type=int))
    rows = admin_ledger.list_accounts(
        db.session(), owner_type=owner_type, currency=currency, page=page
    )
    names = account_names(db.session(), [account for account, _ in rows])
    return render_template(
        "admin/ledger_accounts.html",
        rows=rows,
        names=names,
        owner_type=owner_type,
        currency=currency,
        page=page,
    )


def _moment(text: str | None) -> datetime:
    """A point in time from the query string (ISO date or datetime, UTC), else now."""
    if not text:
        return utcnow()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        abort(400)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@bp.route("/ledger/accounts/<int:account_id>")
@role_required(Role.ADMIN)
def ledger_account(account_id: int):
    """One account: its balance at a chosen moment and its postings up to then."""
    try:
        view = admin_ledger.account_view(
            db.session(), account_id, _moment(request.args.get("at")), utcnow()
        )
    except NotFound:
        abort(404)
    return render_template("admin/ledger_account.html", view=view)


@bp.route("/ledger/entries/<int:entry_id>")
@role_required(Role.ADMIN)
def ledger_entry(entry_id: int):
    """One entry: legs, metadata, reversal links, and the source events it carries."""
    try:
        view = admin_ledger.entry_view(db.session(), entry_id)
    except NotFound:
        abort(404)
    return render_template("admin/ledger_entry.html", view=view)


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit_log():
    """The audit log: approvals, key rotations, split changes, adjustments..."""
    action = request.args.get("action", "")
    page = max(0, request.args.get("page", 0, type=int))
    rows = admin_ledger.audit_log(db.session(), action, page)
    return render_template("admin/audit.html", rows=rows, action=action, page=page)


@bp.route("/ledger/partners")
@role_required(Role.ADMIN)
def ledger_partners():
    """Partner apps at a glance: terms, listings, keys, receivable and commission."""
    return render_template(
        "admin/ledger_partners.html", rows=admin_ledger.partners_overview(db.session())
    )


class AdjustmentForm(FlaskForm):
    """A manual correcting entry on one account."""

    account_id = IntegerField(_l("Account id"), validators=[DataRequired()])
    direction = RadioField(
        _l("Direction"),
        choices=[
            SelectChoice("increase", _l("Increase its balance")),
            SelectChoice("decrease", _l("Decrease its balance")),
        ],
        validators=[DataRequired()],
    )
    amount = StringField(_l("Amount (e.g. 12.34)"), validators=[DataRequired(), Length(max=30)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=500)])
    token = HiddenField()
    submit = SubmitField(_l("Post adjustment"))


@bp.route("/ledger/adjust", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def ledger_adjust():
    """The manual adjustment form (balanced against platform adjustments, audited)."""
    form = AdjustmentForm()
    if request.method == "GET":
        form.account_id.data = request.args.get("account_id", type=int)
        form.token.data = secrets.token_urlsafe(24)
    if form.validate_on_submit():
        try:
            entry = post_adjustment(
                db.session(),
                actor_id=current_user.id,
                account_id=form.account_id.data,
                direction=form.direction.data,
                amount=form.amount.data,
                reason=form.reason.data,
                token=form.token.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            flash(_("Adjustment posted."), "success")
            return redirect(url_for("admin.ledger_entry", entry_id=entry.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/ledger_adjust.html", form=form), status
