"""Authorization helpers: role-only routes and the user loader."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marketplace.extensions import db, login_manager
from marketplace.models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user in the session, if they still exist."""
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


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
