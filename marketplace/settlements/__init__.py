"""Partner settlement: statements per period, remittances, collected-money releases, aging."""

from flask import Blueprint

api_bp = Blueprint("settlements_api", __name__)
"""The signed partner API's settlement endpoints (/api/v1/settlements)."""
