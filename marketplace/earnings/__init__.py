"""Participants' earnings: dashboard, statements, downloads."""

from flask import Blueprint

bp = Blueprint("earnings", __name__)
