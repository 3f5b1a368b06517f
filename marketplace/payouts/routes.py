"""Participants' payout pages: connect a Stripe account, onboarding return/refresh, history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from marketplace.extensions import csrf, db
from marketplace.payouts import bp
from marketplace.payouts import services as payout_service
from marketplace.payouts.forms import ConnectForm
from marketplace.payouts.gateway import DEV_ONBOARDING_PATH, get_gateway
from marketplace.payouts.webhook_events import receive_webhook

PAYEE_ROLES = (Role.PARTICIPANT, Role.CREATOR)


def _onboarding_url(*, create: bool) -> str:
    return payout_service.start_onboarding(
        db.session(),
        get_gateway(),
        current_user,
        return_url=url_for("payouts.onboarding_return", _external=True),
        refresh_url=url_for("payouts.onboarding_refresh", _external=True),
        create=create,
    )


@bp.route("/")
@role_required(*PAYEE_ROLES)
def index():
    """The payout account's state and the payout history with status and reason."""
    return render_template(
        "payouts/index.html",
        account=payout_service.payout_account_for(db.session(), current_user.id),
        lines=payout_service.payout_history(db.session(), current_user.id),
        form=ConnectForm(),
        stripe_label=get_gateway().label,
    )


@bp.route("/connect", methods=["POST"])
@role_required(*PAYEE_ROLES)
def connect():
    """Create the Express account if needed and send the user to Stripe's onboarding."""
    if not ConnectForm().validate_on_submit():
        abort(400)
    try:
        return redirect(_onboarding_url(create=True))
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("payouts.index"))


@bp.route("/return")
@role_required(*PAYEE_ROLES)
def onboarding_return():
    """Stripe sends the user back here: re-read the account, whatever the webhook said."""
    try:
        account = payout_service.refresh_payout_account(db.session(), get_gateway(), current_user)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        if account.payouts_enabled:
            flash("Your payout account is ready.", "success")
        else:
            flash("Stripe still needs some details before you can be paid.", "warning")
    return redirect(url_for("payouts.index"))


@bp.route("/refresh")
@role_required(*PAYEE_ROLES)
def onboarding_refresh():
    """The onboarding link expired or was used: make a fresh one (a GET: it never creates
    the account, which only the connect form's POST does)."""
    try:
        return redirect(_onboarding_url(create=False))
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("payouts.index"))


def dev_onboarding(account_id: str, token: str):
    """Emulated sandbox only: play the account holder finishing Stripe's hosted onboarding."""
    gateway = get_gateway()
    emulator = gateway.emulator
    if emulator is None or not gateway.onboarding_url_base:
        abort(404)
    link = emulator.lookup_account_link(f"{gateway.onboarding_url_base}/{account_id}/{token}")
    if link is None or link["account"] != account_id:
        abort(404)
    if link["expired"]:
        return redirect(link["refresh_url"])
    emulator.complete_onboarding(account_id)
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
