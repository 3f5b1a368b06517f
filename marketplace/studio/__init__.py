"""The creator studio: series, episodes, pricing, split sheets, invitations, publishing."""

from flask import Blueprint

bp = Blueprint("studio", __name__)

from marketplace.studio import episodes, publishing_views, routes, team  # noqa: E402,F401
