"""Platform administration: users, partner apps, payouts, the ledger."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

# Route modules register themselves on `bp` when imported.
from marketplace.admin import ledger, outbox, partners, payouts, routes  # noqa: E402, F401
