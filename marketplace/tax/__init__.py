"""Tax: payees' W-9 / W-8BEN profiles (TINs encrypted), withholding rates, year-end forms."""

from flask import Blueprint

bp = Blueprint("tax", __name__)
