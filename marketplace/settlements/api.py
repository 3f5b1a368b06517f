"""GET /api/v1/settlements and /api/v1/settlements/{id}: a partner app reads its own
settlement statements, signed like every partner request; errors are JSON."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from marketplace.errors import NotFound, ServiceError
from marketplace.extensions import db
from marketplace.ingest.api.auth import RateLimited, authenticate_partner_request
from marketplace.logs import current_request_id
from marketplace.settlements import api_bp
from marketplace.settlements.exports import statement_json
from marketplace.settlements.models import SettlementStatement

PAGE = 100
"""Statements per page (newest period first; pass next_before back as `before`)."""


def _json(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(payload, separators=(",", ":")),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def _error(code: str, message: str, status: int, field: str | None = None, headers=None):
    error = {"code": code, "message": message, "field": field, "request_id": current_request_id()}
    return _json({"error": error}, status, headers)


@api_bp.before_request
def authenticate():
    """Every request is signed by the partner app whose statements it reads."""
    try:
        g.partner = authenticate_partner_request()
    except RateLimited as error:
        return _error(
            "rate_limited", error.message, 429, headers={"Retry-After": str(error.wait)}
        )
    return None


@api_bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Domain and auth errors as JSON with their status."""
    db.session.rollback()
    return _error(error.code, error.message, error.status, error.field)


@api_bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Werkzeug's errors as JSON."""
    name = (error.name or "error").lower().replace(" ", "_")
    return _error(name, error.description or name, error.code or 500)


@api_bp.get("")
def settlements():
    """The calling app's statements, newest period first, without lines."""
    query = (
        select(SettlementStatement)
        .where(SettlementStatement.partner_id == g.partner.id)
        .order_by(SettlementStatement.period_start.desc())
        .limit(PAGE + 1)
    )
    before = request.args.get("before")
    if before is not None:
        if not before.isascii() or not before.isdigit() or len(before) > 9:
            raise ServiceError("`before` is a statement id.", field="before")
        query = query.where(SettlementStatement.id < int(before))
    rows = list(db.session.scalars(query))
    page = rows[:PAGE]
    return _json(
        {
            "settlements": [statement_json(s, lines=False) for s in page],
            "next_before": page[-1].id if len(rows) > PAGE else None,
        }
    )


@api_bp.get("/<int:statement_id>")
def settlement(statement_id: int):
    """One of the calling app's statements with its lines; 404 for any other."""
    statement = db.session.get(SettlementStatement, statement_id)
    if statement is None or statement.partner_id != g.partner.id:
        raise NotFound("No such settlement statement.", field="id")
    return _json(statement_json(statement))
