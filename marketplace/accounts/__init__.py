"""Sign-up, log-in, log-out and password changes."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
