"""The partner apps' signed JSON API (version 1) and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__)
