"""Platform administration: users, partner apps, payouts, the ledger."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from marketplace.admin import routes  # noqa: E402,F401
