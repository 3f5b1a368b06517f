"""Creators' analytics: a series' sales dashboard."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
