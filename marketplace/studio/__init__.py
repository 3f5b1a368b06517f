"""The creator studio: series, episodes, media, pricing, localized versions."""

from flask import Blueprint

bp = Blueprint("studio", __name__)
