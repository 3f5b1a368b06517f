"""Platform administration: users, partner apps, payouts, the ledger."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from marketplace.admin import (
    outbox,  # noqa: F401
    partners,  # noqa: F401
    payouts,  # noqa: F401
    routes,  # noqa: F401
)
