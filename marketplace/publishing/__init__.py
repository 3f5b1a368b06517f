"""Publishing series to partner apps: the series page, publish, withdraw, manifest import."""

from flask import Blueprint

bp = Blueprint("publishing", __name__)
