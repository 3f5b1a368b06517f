"""Admin pages for partner settlement: statements (close a period, CSV and PDF), remittances
(record money received), receivables aging, and new contract versions of a partner app."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.numbers import get_currency_precision
from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.errors import ServiceError, apply_service_error
from marketplace.extensions import db
from marketplace.partners.contracts import add_contract_version, contracts_of, parse_period
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import list_partners
from marketplace.settlements.aging import aging
from marketplace.settlements.exports import statement_csv, statement_pdf
from marketplace.settlements.payments import credit_of, parse_amount, record_remittance
from marketplace.settlements.statements import close_period, get_statement, list_statements


class CloseForm(FlaskForm):
    """Close one period of one partner app."""

    partner_id = SelectField(_l("Partner app"), coerce=int, validators=[DataRequired()])
    period = StringField(_l("Period"), default="", validators=[DataRequired(), Length(max=10)])
    submit = SubmitField(_l("Close period"))


class RemitForm(FlaskForm):
    """Money received from a partner app."""

    payer_id = SelectField(_l("Partner app"), coerce=int, validators=[DataRequired()])
    amount = StringField(_l("Amount received"), validators=[DataRequired(), Length(max=30)])
    currency = StringField(_l("Currency"), default="USD", validators=[DataRequired(), Length(3, 3)])
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=120)])
    settlement = IntegerField(_l("Statement # (optional)"), validators=[Optional()])
    rate = StringField(
        _l("Rate received (other currency only)"), validators=[Optional(), Length(max=40)]
    )
    submit = SubmitField(_l("Record remittance"))


class ContractForm(FlaskForm):
    """A new contract version taking effect in the future."""

    effective_from = DateTimeLocalField(_l("Takes effect (UTC)"), validators=[DataRequired()])
    share_bps = IntegerField(_l("Partner's share (bps)"), validators=[NumberRange(0, 10_000)])
    hold_days = IntegerField(_l("Hold (days)"), validators=[NumberRange(0, 365)])
    period = SelectField(_l("Period"), choices=[("monthly", "monthly"), ("weekly", "weekly")])
    net_days = IntegerField(_l("Payment terms (net days)"), validators=[NumberRange(0, 365)])
    payout_policy = SelectField(
        _l("Payout policy"),
        choices=[("advance", "advance (after the hold)"), ("collected", "collected (as paid)")],
    )
    submit = SubmitField(_l("Add contract version"))


def _forms() -> tuple[CloseForm, RemitForm]:
    choices = [(p.id, p.name) for p in list_partners(db.session())]
    close, remit = CloseForm(), RemitForm()
    close.partner_id.choices = remit.payer_id.choices = choices
    return close, remit


def _page(close: CloseForm, remit: RemitForm):
    partners = {p.id: p for p in list_partners(db.session())}
    return render_template(
        "admin/settlements.html",
        statements=list_statements(db.session()),
        partners=partners,
        credits={pid: credit_of(db.session(), pid) for pid in partners},
        aging=aging(db.session()),
        close_form=close,
        remit_form=remit,
    )


@bp.route("/settlements")
@role_required(Role.ADMIN)
def settlements():
    """Every statement, receivables aging, and the close and remittance forms."""
    return _page(*_forms())


@bp.post("/settlements/close")
@role_required(Role.ADMIN)
def settlement_close():
    """Close a period (once); a period still open for late events says its cut-off."""
    close, remit = _forms()
    if close.validate_on_submit():
        try:
            partner = db.session.get_one(PartnerApp, close.partner_id.data)
            _label, start = parse_period(close.period.data or "")
            statement, created = close_period(
                db.session(), partner, start, actor_id=current_user.id
            )
        except ServiceError as error:
            apply_service_error(close, error)
        else:
            flash(
                (_("%(partner)s %(statement)s: closed.", partner=partner.name,
                   statement=statement.label) if created else
                 _("%(partner)s %(statement)s: was closed already.", partner=partner.name,
                   statement=statement.label)),
                "success",
            )
            return redirect(url_for("admin.settlement", statement_id=statement.id))
    return _page(close, remit), 400


@bp.post("/settlements/remit")
@role_required(Role.ADMIN)
def settlement_remit():
    """Record a remittance and apply it (oldest open statement first, or the one named)."""
    close, remit = _forms()
    if remit.validate_on_submit():
        try:
            partner = db.session.get_one(PartnerApp, remit.payer_id.data)
            currency = (remit.currency.data or "").strip().upper()
            remittance = record_remittance(
                db.session(),
                partner,
                amount=parse_amount(remit.amount.data or "", get_currency_precision(currency)),
                currency=currency,
                reference=remit.reference.data or "",
                settlement_id=remit.settlement.data,
                rate=remit.rate.data or None,
                actor=current_user,
            )
        except ServiceError as error:
            apply_service_error(remit, error)
        else:
            flash(
                _("Remittance %(reference)s from %(partner)s recorded.",
                  reference=remittance.reference, partner=partner.name),
                "success",
            )
            return redirect(url_for("admin.settlements"))
    return _page(close, remit), 400


@bp.route("/settlements/<int:statement_id>")
@role_required(Role.ADMIN)
def settlement(statement_id: int):
    """One statement with its lines."""
    try:
        statement = get_statement(db.session(), statement_id)
    except ServiceError:
        return render_template("errors/404.html"), 404
    partner = db.session.get_one(PartnerApp, statement.partner_id)
    return render_template("admin/settlement.html", statement=statement, partner=partner)


@bp.route("/settlements/<int:statement_id>/csv")
@role_required(Role.ADMIN)
def settlement_csv(statement_id: int):
    """A statement as CSV."""
    return _statement_file(statement_id, "csv")


@bp.route("/settlements/<int:statement_id>/pdf")
@role_required(Role.ADMIN)
def settlement_pdf(statement_id: int):
    """A statement as PDF."""
    return _statement_file(statement_id, "pdf")


def _statement_file(statement_id: int, fmt: str):
    try:
        statement = get_statement(db.session(), statement_id)
    except ServiceError:
        return render_template("errors/404.html"), 404
    partner = db.session.get_one(PartnerApp, statement.partner_id)
    name = f"settlement-{partner.id}-{statement.label}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(statement_csv(statement), mimetype="text/csv", headers=disposition)
    return Response(
        statement_pdf(statement, partner.name), mimetype="application/pdf", headers=disposition
    )


@bp.route("/partners/<int:partner_id>/contract", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def partner_contract(partner_id: int):
    """A partner app's contract versions, and the form to add one in the future."""
    partner = db.session.get(PartnerApp, partner_id)
    if partner is None:
        return render_template("errors/404.html"), 404
    versions = contracts_of(db.session(), partner.id)
    latest = max(versions, key=lambda c: c.number) if versions else None
    form = ContractForm(
        data=None
        if latest is None
        else {
            "share_bps": latest.share_bps,
            "hold_days": latest.hold_days,
            "period": latest.period,
            "net_days": latest.net_days,
            "payout_policy": latest.payout_policy,
        }
    )
    if form.validate_on_submit():
        moment = form.effective_from.data
        assert moment is not None  # DataRequired
        try:
            add_contract_version(
                db.session(),
                partner,
                effective_from=moment.replace(tzinfo=UTC),
                share_bps=form.share_bps.data,
                hold_days=form.hold_days.data,
                period=form.period.data,
                net_days=form.net_days.data,
                payout_policy=form.payout_policy.data,
                actor=current_user,
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            flash(_("Contract version added."), "success")
            return redirect(url_for("admin.partner_contract", partner_id=partner.id))
    return render_template(
        "admin/partner_contract.html",
        partner=partner,
        versions=versions,
        form=form,
        now=datetime.now(UTC),
    )
