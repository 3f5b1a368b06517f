"""Participants' payout pages: connect a Stripe account, onboarding return/refresh, history,
and the annual earnings summary (from the tax feature)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.clock import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import csrf, db
from marketplace.navigation import absolute
from marketplace.payouts import bp
from marketplace.payouts import services as payout_service
from marketplace.payouts.crossborder import stripe_rules
from marketplace.payouts.forms import ConnectForm, DevOnboardingForm
from marketplace.payouts.gateway import DEV_ONBOARDING_PATH, get_gateway
from marketplace.payouts.notices import reason_fix, reason_label
from marketplace.payouts.webhook_events import receive_webhook
from marketplace.tax.services import tax_profile_for
from marketplace.tax.yearend import annual_summary_pdf, summary_years

PAYEE_ROLES = (Role.PARTICIPANT, Role.CREATOR)


def _onboarding(*, create: bool, country: str | None = None) -> payout_service.Onboarding:
    return payout_service.start_onboarding(
        db.session(),
        get_gateway(),
        current_user,
        return_url=absolute(url_for("payouts.onboarding_return")),
        refresh_url=absolute(url_for("payouts.onboarding_refresh")),
        country=country,
        platform_country=current_app.config["STRIPE_PLATFORM_COUNTRY"],
        create=create,
    )


@bp.route("/")
@role_required(*PAYEE_ROLES)
def index():
    """The payout account's state, the tax profile, the payout history with status, reason
    and what to do, and the annual summaries."""
    session = db.session()
    account = payout_service.payout_account_for(session, current_user.id)
    form = ConnectForm(**({"country": account.country} if account else {}))
    return render_template(
        "payouts/index.html",
        account=account,
        tax_profile=tax_profile_for(session, current_user.id),
        lines=payout_service.payout_history(session, current_user.id),
        reason_fix=reason_fix,
        reason_label=reason_label,
        years=summary_years(session, current_user.id),
        form=form,
        stripe_label=get_gateway().label,
        next_run=payout_service.next_payout_run(current_app.config["PAYOUT_SCHEDULE"], utcnow()),
        minimum=current_app.config["PAYOUT_MINIMUM"],
    )


@bp.route("/connect", methods=["POST"])
@role_required(*PAYEE_ROLES)
def connect():
    """Create the Express account in the chosen country if needed and send the user to
    Stripe's onboarding (or say why Stripe Connect cannot pay that country from here)."""
    form = ConnectForm()
    if not form.validate_on_submit():
        flash(_("Choose the country you live in."), "error")
        return redirect(url_for("payouts.index"))
    try:
        started = _onboarding(create=True, country=form.country.data)
    except ServiceError as error:
        flash(error.localized(), "error")
        return redirect(url_for("payouts.index"))
    if started.url is None:
        flash(started.message, "warning")
        return redirect(url_for("payouts.index"))
    return redirect(started.url)


@bp.route("/annual-summary/<int:year>.pdf")
@role_required(*PAYEE_ROLES)
def annual_summary(year: int):
    """The payee's annual earnings summary for a year (PDF)."""
    if not 2000 <= year <= utcnow().year:
        abort(404)
    pdf = annual_summary_pdf(db.session(), current_user.id, year)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="cliffhanger-{year}-summary.pdf"'},
    )


@bp.route("/return")
@role_required(*PAYEE_ROLES)
def onboarding_return():
    """Stripe sends the user back here: re-read the account, whatever the webhook said."""
    try:
        account = payout_service.refresh_payout_account(db.session(), get_gateway(), current_user)
    except ServiceError as error:
        flash(error.localized(), "error")
    else:
        if account.payouts_enabled:
            flash(_("Your payout account is ready."), "success")
        else:
            flash(_("Stripe still needs some details before you can be paid."), "warning")
    return redirect(url_for("payouts.index"))


@bp.route("/refresh")
@role_required(*PAYEE_ROLES)
def onboarding_refresh():
    """The onboarding link expired or was used: make a fresh one (a GET: it never creates
    the account, which only the connect form's POST does)."""
    try:
        started = _onboarding(create=False)
    except ServiceError as error:
        flash(error.localized(), "error")
        return redirect(url_for("payouts.index"))
    if started.url is None:
        flash(started.message, "warning")
        return redirect(url_for("payouts.index"))
    return redirect(started.url)


def dev_onboarding(account_id: str, token: str):
    """Emulated sandbox only: play the account holder in Stripe's hosted onboarding (GET: the
    page; POST: finish it, with bank accounts in the currencies ticked)."""
    gateway = get_gateway()
    emulator = gateway.emulator
    if emulator is None or not gateway.onboarding_url_base:
        abort(404)
    link = emulator.lookup_account_link(f"{gateway.onboarding_url_base}/{account_id}/{token}")
    if link is None or link["account"] != account_id:
        abort(404)
    if link["expired"]:
        return redirect(link["refresh_url"])
    account = emulator.account(account_id) or {}
    form = DevOnboardingForm()
    extra = [c for c in stripe_rules.bank_currencies(account["country"])
             if c != account["default_currency"]]  # fmt: skip
    form.banks.choices = [(c, c.upper()) for c in extra]
    if not form.validate_on_submit():
        return render_template("payouts/dev_onboarding.html", form=form, account=account)
    emulator.complete_onboarding(account_id, list(form.banks.data or []))
    return redirect(link["return_url"])


@bp.record_once
def _mount_dev_onboarding(state) -> None:
    """Mounted only without STRIPE_SECRET_KEY and outside production: never reachable when
    talking to real Stripe."""
    config = state.app.config
    if not config.get("STRIPE_SECRET_KEY") and config.get("CLIFFHANGER_ENV") != "production":
        state.add_url_rule(
            DEV_ONBOARDING_PATH.removeprefix("/payouts") + "/<account_id>/<token>",
            "dev_onboarding",
            dev_onboarding,
            methods=["GET", "POST"],
        )


# POST /stripe/webhook: Stripe's events, verified by signature (no cookies, no CSRF).
webhook_bp = Blueprint("stripe_webhooks", __name__)


@webhook_bp.route("/stripe/webhook", methods=["POST"])
@csrf.exempt
def stripe_webhook():
    """Verify and handle one event: 200 when handled, ignored or already seen; 400 if the
    signature is bad; 5xx (Stripe retries) if handling failed."""
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        outcome = receive_webhook(db.session(), get_gateway(), payload, signature)
    except ServiceError as error:
        return jsonify(error.as_json()), error.status
    return jsonify({"received": True, "outcome": outcome})
