"""POST /stripe/webhook: Stripe's events, verified by signature (no cookies, no CSRF)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from marketplace.extensions import csrf, db
from marketplace.payments.stripe_gateway import get_gateway
from marketplace.services.errors import ServiceError
from marketplace.services.stripe_webhooks import receive_webhook

bp = Blueprint("stripe_webhooks", __name__)


@bp.route("/stripe/webhook", methods=["POST"])
@csrf.exempt
def stripe_webhook():
    """Verify and handle one event: 200 when handled, ignored or already seen; 400 if the
    signature is bad; 5xx (Stripe retries) if handling failed."""
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        outcome = receive_webhook(db.session, get_gateway(), payload, signature)
    except ServiceError as error:
        return jsonify(error.as_json()), error.status
    return jsonify({"received": True, "outcome": outcome})
