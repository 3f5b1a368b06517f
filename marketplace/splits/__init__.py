"""Split sheets: who shares a series' revenue, invitations, escrow until acceptance."""

from flask import Blueprint

bp = Blueprint("splits", __name__)
