"""Authorization helpers: role-only routes and the user loader."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marketplace.accounts.models import User
from marketplace.extensions import db, login_manager


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the user of the session's `id:fingerprint` (User.get_id), if they
    still exist and their password has not changed since the session began."""
    user_id, _, fingerprint = str(session_id).partition(":")
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not hmac.compare_digest(fingerprint, user.session_fingerprint()):
        return None
    return user


def role_required(*roles: str) -> Callable:
    """Admit users holding one of `roles`; anonymous -> login (next kept), others -> 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
