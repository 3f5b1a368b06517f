"""The navigation each role sees (only areas that are mounted)."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

NAV_BY_ROLE: dict[str, list[tuple[str, str]]] = {
    "creator": [
        ("studio.index", "Studio"),
        ("earnings.dashboard", "Earnings"),
        ("payouts.index", "Payouts"),
    ],
    "participant": [
        ("earnings.dashboard", "Earnings"),
        ("earnings.series_list", "My series"),
        ("payouts.index", "Payouts"),
    ],
    "admin": [
        ("admin.overview", "Admin"),
        ("admin.partners", "Partner apps"),
        ("admin.payout_batches", "Payouts"),
        ("admin.ledger", "Ledger"),
        ("admin.outbox", "Outbox"),
    ],
}


def nav_links() -> list[tuple[str, str]]:
    """(endpoint, label) pairs for the logged-in user's role."""
    if not current_user.is_authenticated:
        return []
    views = current_app.view_functions
    return [(ep, label) for ep, label in NAV_BY_ROLE.get(current_user.role, []) if ep in views]
