"""The landing page and each role's home."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from marketplace.main import routes  # noqa: E402,F401
