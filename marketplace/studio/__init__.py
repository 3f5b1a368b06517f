"""The creator studio: series, episodes, pricing, split sheets, invitations, publishing."""

from flask import Blueprint

bp = Blueprint("studio", __name__)
