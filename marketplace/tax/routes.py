"""Payees' tax pages: the profile on file (TIN masked) and the W-9 / W-8BEN forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.errors import ServiceError, apply_service_error
from marketplace.extensions import db
from marketplace.tax import bp
from marketplace.tax import services as tax_service
from marketplace.tax.forms import W8BENForm, W9Form

PAYEE_ROLES = (Role.PARTICIPANT, Role.CREATOR)


@bp.route("/")
@role_required(*PAYEE_ROLES)
def profile():
    """The tax profile on file, and the two forms to choose from."""
    current = tax_service.tax_profile_for(db.session(), current_user.id)
    withholding = tax_service.withholding_of(current) if current else None
    return render_template("tax/profile.html", profile=current, withholding=withholding)


@bp.route("/w9", methods=["GET", "POST"])
@role_required(*PAYEE_ROLES)
def w9():
    """Form W-9 (US persons)."""
    form = W9Form()
    if form.validate_on_submit():
        try:
            tax_service.submit_w9(
                db.session(),
                current_user,
                tax_service.W9(
                    legal_name=form.legal_name.data or "",
                    tin_type=form.tin_type.data or "",
                    tin=form.tin.data or "",
                    address=form.address.data or "",
                    address_country="US",
                    certified=bool(form.certified.data),
                    signed_name=form.signed_name.data or "",
                ),
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            flash(_("Your W-9 is on file."), "success")
            return redirect(url_for("payouts.index"))
    form.tin.data = ""  # never echo a TIN back into the page
    return render_template("tax/form.html", form=form, title="Form W-9", action=url_for("tax.w9"))


@bp.route("/w8ben", methods=["GET", "POST"])
@role_required(*PAYEE_ROLES)
def w8ben():
    """Form W-8BEN (everyone who is not a US person)."""
    form = W8BENForm()
    if form.validate_on_submit():
        try:
            tax_service.submit_w8ben(
                db.session(),
                current_user,
                tax_service.W8BEN(
                    legal_name=form.legal_name.data or "",
                    residence_country=form.residence_country.data or "",
                    foreign_tin=form.foreign_tin.data or "",
                    address=form.address.data or "",
                    address_country=form.residence_country.data or "",
                    treaty_country=form.treaty_country.data or "",
                    treaty_article=form.treaty_article.data or "",
                    treaty_rate=form.treaty_rate.data or "",
                    certified=bool(form.certified.data),
                    signed_name=form.signed_name.data or "",
                ),
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            flash(_("Your W-8BEN is on file."), "success")
            return redirect(url_for("payouts.index"))
    form.foreign_tin.data = ""
    return render_template(
        "tax/form.html", form=form, title="Form W-8BEN", action=url_for("tax.w8ben")
    )
