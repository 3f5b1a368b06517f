"""The creator studio: series, episodes, pricing, split sheets, invitations, publishing."""

from flask import Blueprint

bp = Blueprint("studio", __name__)

from marketplace.studio import (  # noqa: E402,F401
    dashboard,
    episodes,
    publishing_views,
    routes,
    team,
)
