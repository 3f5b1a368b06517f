"""The landing page and each role's home."""

from flask import Blueprint

bp = Blueprint("main", __name__)
