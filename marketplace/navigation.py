"""Where things are: the navigation each role sees (only areas that are mounted), and
absolute links for mail and redirects: PUBLIC_URL when it is set, otherwise the scheme, host
and port the current request came to (so `make run PORT=5077` links to 5077; the development
server also passes PUBLIC_URL on to the scheduler, which serves no requests)."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

FALLBACK_BASE = "http://127.0.0.1:5000"

NAV_BY_ROLE: dict[str, list[tuple[str, Any]]] = {
    "creator": [
        ("studio.index", _l("Studio")),
        ("earnings.dashboard", _l("Earnings")),
        ("payouts.index", _l("Payouts")),
    ],
    "participant": [
        ("earnings.dashboard", _l("Earnings")),
        ("earnings.series_list", _l("My series")),
        ("payouts.index", _l("Payouts")),
    ],
    "admin": [
        ("admin.overview", _l("Admin")),
        ("admin.partners", _l("Partner apps")),
        ("admin.payout_batches", _l("Payouts")),
        ("admin.ledger", _l("Ledger")),
        ("admin.outbox", _l("Outbox")),
        ("admin.settlements", _l("Settlements")),
        ("admin.reconciliation", _l("Reconciliation")),
    ],
}


def nav_links() -> list[tuple[str, str]]:
    """(endpoint, label) pairs for the logged-in user's role."""
    if not current_user.is_authenticated:
        return []
    views = current_app.view_functions
    links = NAV_BY_ROLE.get(current_user.role, [])
    return [(ep, str(label)) for ep, label in links if ep in views]


ROLE_NAMES = {"creator": _l("creator"), "participant": _l("participant"), "admin": _l("admin")}


def role_name(role: str) -> str:
    """A role as the reader's language names it ("participante")."""
    return str(ROLE_NAMES.get(role, role))


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
