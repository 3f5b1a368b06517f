"""Platform administration: users, partner apps, payouts, the ledger."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
