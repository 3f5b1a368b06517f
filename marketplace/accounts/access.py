"""Authorization helpers: role-only routes and the user loader."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import abort, current_app, session
from flask_login import current_user, login_required

from marketplace.accounts.models import User
from marketplace.accounts.sessions import session_is_open
from marketplace.errors import is_int
from marketplace.extensions import db, login_manager


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the user of the session's `id:fingerprint` (User.get_id), if they
    still exist, their password has not changed since the session began, and the session is
    still open on the server (see accounts.sessions)."""
    user_id, _, fingerprint = str(session_id).partition(":")
    if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 18:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(fingerprint, user.session_fingerprint()):
        return None
    return user if _session_alive(user) else None


def _session_alive(user: User) -> bool:
    """The cookie's session is open on the server, younger than SESSION_MAX_SECONDS and was
    used within SESSION_IDLE_SECONDS; refreshes its last-used time (at most once a minute)."""
    config = current_app.config
    now = int(time.time())
    seen = session.get("_seen")
    if not is_int(seen) or not 0 <= now - seen <= config["SESSION_IDLE_SECONDS"]:
        return False
    max_age = timedelta(seconds=config["SESSION_MAX_SECONDS"])
    if not session_is_open(db.session(), user.id, session.get("_sid"), max_age):
        return False
    if now - seen >= 60:
        session["_seen"] = now
    return True


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
