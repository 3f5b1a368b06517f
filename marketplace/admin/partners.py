"""Admin pages for partner apps: list, create, rotate and revoke keys; a secret is shown once
only."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.clock import utcnow
from marketplace.errors import ServiceError, apply_service_error
from marketplace.extensions import db
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import create_partner, list_partners, revoke_key, rotate_key


class PartnerForm(FlaskForm):
    """A new partner app and its contract terms."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    currency = StringField(
        _l("Contract currency"), default="USD", validators=[Length(min=3, max=3)]
    )
    share_bps = IntegerField(
        _l("Partner's share (basis points)"), default=3000, validators=[NumberRange(0, 10_000)]
    )
    hold_days = IntegerField(_l("Hold (days)"), default=7, validators=[NumberRange(0, 365)])
    submit = SubmitField(_l("Create partner app"))


class RotateForm(FlaskForm):
    """Issue a new key; the current one keeps working for API_KEY_GRACE_HOURS."""

    submit = SubmitField(_l("Rotate key"))


class RevokeForm(FlaskForm):
    """Revoke one key at once (a leaked key), saying why."""

    key_id = HiddenField(validators=[DataRequired(), Length(max=40)])
    reason = StringField(_l("Why"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Revoke now"))


@bp.route("/partners", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def partners():
    """Every partner app, and the form to create one (its secret is shown once)."""
    form = PartnerForm()
    if form.validate_on_submit():
        try:
            partner, key_id, secret = create_partner(
                db.session(),
                name=form.name.data,
                currency=form.currency.data or "",
                share_bps=form.share_bps.data,
                hold_days=form.hold_days.data,
                actor=current_user,
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            return render_template(
                "admin/partners_secret.html", partner=partner, key_id=key_id, secret=secret
            )
    return render_template(
        "admin/partners.html",
        partners=list_partners(db.session()),
        form=form,
        rotate_form=RotateForm(),
        revoke_form=RevokeForm(formdata=None),
        grace_hours=current_app.config["API_KEY_GRACE_HOURS"],
        now=utcnow(),
    )


@bp.post("/partners/<int:partner_id>/rotate")
@role_required(Role.ADMIN)
def rotate_partner_key(partner_id: int):
    """Issue a new key for a partner app and show its secret once."""
    partner = db.session.get(PartnerApp, partner_id)
    if partner is None:
        abort(404)
    if not RotateForm().validate_on_submit():
        abort(400)
    key_id, secret = rotate_key(db.session(), partner, current_user)
    return render_template(
        "admin/partners_secret.html", partner=partner, key_id=key_id, secret=secret, rotated=True
    )


@bp.post("/partners/<int:partner_id>/revoke")
@role_required(Role.ADMIN)
def revoke_partner_key(partner_id: int):
    """Revoke one of a partner app's keys at once; requests signed with it are refused."""
    partner = db.session.get(PartnerApp, partner_id)
    if partner is None:
        abort(404)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("Say why the key is revoked."), "error")
        return redirect(url_for("admin.partners"))
    if form.key_id.data not in {key.key_id for key in partner.keys}:
        abort(404)
    try:
        revoke_key(db.session(), form.key_id.data, current_user, reason=form.reason.data or "")
    except ServiceError as error:
        flash(error.localized(), "error")
    else:
        flash(
            _("Key %(key)s of %(partner)s is revoked.", key=form.key_id.data, partner=partner.name),
            "success",
        )
    return redirect(url_for("admin.partners"))
