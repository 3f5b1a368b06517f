"""Participants' earnings: dashboard, statements, downloads."""

from flask import Blueprint

bp = Blueprint("earnings", __name__)

from marketplace.earnings import routes  # noqa: E402,F401
