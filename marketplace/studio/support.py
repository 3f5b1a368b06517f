"""Helpers shared by the studio's views: ownership look-ups (404), JSON answers, errors."""

from __future__ import annotations

import re

from flask import abort, jsonify, request
from flask_login import current_user
from flask_wtf import FlaskForm

from marketplace.errors import NotFound, ServiceError, ValidationFailed, apply_service_error
from marketplace.extensions import db
from marketplace.studio.models import Episode, Series
from marketplace.studio.series import get_owned_episode, get_owned_series

CREATOR = "creator"
ROW_FIELD = re.compile(r"^split\[(\d+)\]\.(\w+)$")


def owned_series_or_404(series_id: int) -> Series:
    """The logged-in creator's series, or a 404 (also for other creators' series)."""
    try:
        return get_owned_series(db.session(), series_id, current_user)
    except NotFound:
        abort(404)


def owned_episode_or_404(episode_id: int) -> Episode:
    """The logged-in creator's episode, or a 404."""
    try:
        return get_owned_episode(db.session(), episode_id, current_user)
    except NotFound:
        abort(404)


def wants_json() -> bool:
    """Whether the request came from our upload script (which wants JSON back)."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def json_error(error: ServiceError, status: int | None = None):
    """A service error as the JSON body {"error": {"code", "message", "field"}}."""
    return jsonify(error.as_json()), status or (422 if error.status == 400 else error.status)


def apply_problems(form: FlaskForm, error: ServiceError) -> None:
    """Show every problem of a ValidationFailed (or one ServiceError) on the form."""
    problems = error.problems if isinstance(error, ValidationFailed) else None
    if not problems:
        apply_service_error(form, error)
        return
    for field, message in problems:
        apply_service_error(form, ServiceError(message, field=field))
