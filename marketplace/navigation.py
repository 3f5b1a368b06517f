"""Where things are: the navigation each role sees (only areas that are mounted), and
absolute links for mail and redirects: PUBLIC_URL when it is set, otherwise the scheme, host
and port the current request came to (so `make run PORT=5077` links to 5077; the development
server also passes PUBLIC_URL on to the scheduler, which serves no requests)."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_login import current_user

FALLBACK_BASE = "http://127.0.0.1:5000"

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
        ("admin.settlements", "Settlements"),
        ("admin.reconciliation", "Reconciliation"),
    ],
}


def nav_links() -> list[tuple[str, str]]:
    """(endpoint, label) pairs for the logged-in user's role."""
    if not current_user.is_authenticated:
        return []
    views = current_app.view_functions
    return [(ep, label) for ep, label in NAV_BY_ROLE.get(current_user.role, []) if ep in views]


def link_base() -> str:
    """The site's base URL, without a trailing slash."""
    configured = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if configured:
        return configured
    if has_request_context():
        return request.host_url.rstrip("/")
    return FALLBACK_BASE


def absolute(path: str) -> str:
    """An absolute link to a path of this site ("/payouts/" -> "https://.../payouts/")."""
    return link_base() + "/" + path.lstrip("/")
