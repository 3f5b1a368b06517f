"""Payouts: Stripe Connect onboarding, batches, admin approval, execution, webhooks."""

from flask import Blueprint

bp = Blueprint("payouts", __name__)
