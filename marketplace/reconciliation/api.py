"""Partner API: a partner app uploads its report of a month and reads the result.

    POST /api/v1/settlements/reports?period=YYYY-MM   (CSV body, up to RECONCILE_MAX_BYTES)
    GET  /api/v1/settlements/reports/{id}[?page=N]    (the caller's own reports only)

Signed like every partner request (marketplace.ingest.api.auth); errors are the API's JSON
{"error": {"code", "message", "field", "request_id"}}.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.ingest.api.auth import RateLimited, authenticate_partner_request
from marketplace.logs import current_request_id
from marketplace.reconciliation.models import ReconciliationReport
from marketplace.reconciliation.queries import line_dict, lines_page, report_dict
from marketplace.reconciliation.reports import reconcile_report

bp = Blueprint("reconciliation_api", __name__)

LINES_PER_PAGE = 1000


def _json(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, headers=headers, mimetype="application/json")


def _error(code: str, message: str, status: int, field: str | None = None, headers=None):
    error = {"code": code, "message": message, "field": field, "request_id": current_request_id()}
    return _json({"error": error}, status, headers)


@bp.before_request
def authenticate():
    """Every request is signed by a partner app's key."""
    try:
        g.partner = authenticate_partner_request()
    except RateLimited as limited:
        return _error(
            limited.code, limited.message, 429, headers={"Retry-After": str(limited.wait)}
        )
    return None


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Domain and auth errors as JSON with their status; nothing was stored."""
    db.session.rollback()
    return _error(error.code, error.message, error.status, error.field)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Werkzeug's errors (413 ...) as JSON."""
    name = (error.name or "error").lower().replace(" ", "_")
    return _error(name, error.description or name, error.code or 500)


def _answer(report: ReconciliationReport, page: int) -> dict[str, Any]:
    rows, total = lines_page(db.session(), report.id, page=page, per_page=LINES_PER_PAGE)
    return report_dict(report) | {
        "differing": [line_dict(line) for line, _ in rows],
        "differing_total": total,
        "page": page,
        "pages": max(1, -(-total // LINES_PER_PAGE)),
    }


@bp.post("/reports")
def upload_report():
    """Reconcile the caller's CSV report of a month (?period=YYYY-MM): 201 with the counts
    and the first page of differing lines."""
    period = request.args.get("period", "")
    body = g.body_file  # streamed to a temporary file by the signature check (auth.py)
    try:
        report = reconcile_report(
            db.session(), g.partner, period, body,
            limit=current_app.config["RECONCILE_MAX_BYTES"], source="api",
        )  # fmt: skip
    finally:
        body.close()
    headers = {"Location": f"/api/v1/settlements/reports/{report.id}"}
    return _json(_answer(report, 1), 201, headers)


@bp.get("/reports/<int:report_id>")
def report(report_id: int):
    """One of the caller's reports: counts and a page (?page=N) of its differing lines."""
    found = db.session.get(ReconciliationReport, report_id)
    if found is None or found.partner_id != g.partner.id:
        return _error("not_found", "No such report.", 404, "id")
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and 1 <= len(raw) <= 6 and int(raw) >= 1):
        return _error("invalid", "page is a positive integer.", 400, "page")
    return _json(_answer(found, int(raw)))
