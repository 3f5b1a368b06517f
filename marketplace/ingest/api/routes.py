"""Partner API v1 routes: thin views over the ingest services; errors are always JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import msgspec
from flask import Response, current_app, g, render_template, request, send_file
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.ingest import bp
from marketplace.ingest.api.auth import (
    PayloadTooLarge,
    RateLimited,
    authenticate_partner_request,
)
from marketplace.ingest.api.catalog import catalog_page, media_signer
from marketplace.ingest.api.openapi import (
    MAX_EVENTS,
    REJECTION_CODES,
    SCHEMAS,
    openapi_document,
)
from marketplace.ingest.api.validation import VALIDATORS, compile_schema, parse_time, validate
from marketplace.ingest.event_log import event_status
from marketplace.ingest.kinds.coins import CoinUnlockIn, ingest_coin_unlocks
from marketplace.ingest.kinds.sales import BundleIn, PurchaseIn, ingest_bundles, ingest_purchases
from marketplace.ingest.kinds.views import ViewCountIn, ingest_views
from marketplace.ingest.pools import PoolIn, ingest_pool
from marketplace.ingest.refunds import RefundIn, ingest_refunds
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks, rejected
from marketplace.logs import current_request_id
from marketplace.studio.models import Episode, Listing, Series
from marketplace.studio.storage import media_type_of, open_media

PUBLIC = {"api.openapi_json", "api.docs", "api.media", "api.not_found"}
"""Endpoints that need no signature (the document, the docs, signed media links)."""

_UNLOCK = VALIDATORS["UnlockEvent"]
_REFUND = VALIDATORS["RefundEvent"]
_ID = compile_schema(SCHEMAS["UnlockEvent"]["properties"]["id"])
"""The event id's schema (the same for refunds)."""

MAX_FIELD = 80
"""Longest `field` a rejection stores (the column's size)."""


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    """A compact JSON response."""
    body = json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, headers=headers, mimetype="application/json")


def error_response(
    code: str, message: str, status: int, field: str | None = None, headers: dict | None = None
) -> Response:
    """The API's error body {"error": {"code", "message", "field", "request_id"}} with a
    status; request_id names the log lines of this request (also in X-Request-Id)."""
    error = {"code": code, "message": message, "field": field, "request_id": current_request_id()}
    return json_response({"error": error}, status, headers)


@bp.before_request
def answer_options():
    """OPTIONS: 204 with the methods that really answer on the path (unsigned, like the
    OpenAPI document that publishes the same), 404 JSON on an unknown path."""
    if request.method != "OPTIONS":
        return None
    allowed = _methods_here()
    if not allowed:
        raise NotFound("No such API endpoint.")
    if "GET" in allowed:
        allowed.append("HEAD")
    return Response(status=204, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})


@bp.before_request
def authenticate():
    """Check the key, timestamp and signature of every non-public request (see
    `authenticate_partner_request`)."""
    if request.endpoint in PUBLIC:
        return None
    try:
        g.partner = authenticate_partner_request()
    except RateLimited as error:
        return _rate_limited(error.wait, error.why)
    return None


def _rate_limited(wait: int, why: str) -> Response:
    return error_response(
        "rate_limited", f"{why}; retry in {wait} s.", 429, headers={"Retry-After": str(wait)}
    )


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Domain and auth errors as JSON with their status."""
    db.session.rollback()
    return error_response(error.code, error.message, error.status, error.field)


@bp.errorhandler(HTTPException)
@bp.errorhandler(400)
@bp.errorhandler(404)
@bp.errorhandler(405)
@bp.errorhandler(413)
@bp.errorhandler(429)
@bp.errorhandler(500)
def http_error(error: HTTPException):
    """Werkzeug's errors (404, 405, 413 ...) as JSON; per code too, since the app's own
    per-code HTML handlers would otherwise win over a blueprint's class handler."""
    if error.code and error.code >= 500:
        db.session.rollback()
    name = (error.name or "error").lower().replace(" ", "_")
    headers = (
        {"Allow": ", ".join(error.valid_methods)}
        if isinstance(error, MethodNotAllowed) and error.valid_methods
        else None
    )
    return error_response(name, error.description or name, error.code or 500, headers=headers)


def routing_error(error: HTTPException) -> Response:
    """An error raised before the blueprint is known (no rule matched an /api/ path, as with a
    newline in it, or its method, as with TRACE): the API's JSON error, never the site's HTML
    page; a 405's Allow lists the methods that really answer (404 if none does)."""
    allowed = _methods_here() if isinstance(error, MethodNotAllowed) else []
    if allowed:
        error = MethodNotAllowed(valid_methods=allowed)
    elif isinstance(error, MethodNotAllowed | NotFound):
        error = NotFound("No such API endpoint.")
    return http_error(error)


@bp.errorhandler(IntegrityError)
@bp.errorhandler(DBAPIError)
def database_error(error: DBAPIError):
    """A concurrent request on the same ids or buckets: nothing was applied, retry."""
    db.session.rollback()
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    if isinstance(error, IntegrityError) or code in {"40001", "40P01"}:
        return error_response(
            "concurrent_request",
            "A concurrent request touched the same events; nothing was applied. Retry the request.",
            409,
        )
    current_app.logger.exception("database error in the partner API")
    return error_response("internal_error", "Something went wrong; nothing was applied.", 500)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception):
    """Anything else: 500 JSON, transaction rolled back."""
    db.session.rollback()
    current_app.logger.exception("unexpected error in the partner API")
    return error_response("internal_error", "Something went wrong; nothing was applied.", 500)


_DECODER = msgspec.json.Decoder()
_BOM = b"\xef\xbb\xbf"


def json_body() -> Any:
    """The request's JSON, or a 400 ServiceError.

    msgspec decodes the usual body in half json.loads' time (a batch of 1,000 unlocks: 0.9 ms
    against 1.8 ms; docs/benchmarks.md) and refuses what no digest or database could store
    (lone surrogates), NaN and Infinity. What it refuses although JSON allows it (integers
    beyond 64 bits, exponents beyond a float, UTF-16 or -32 text) is read again by json.loads,
    so that those events are refused one by one as every other invalid value is."""
    raw = request.get_data(cache=True)
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
        # json.loads lets lone surrogates through (a "\ud800" escape, or those bytes, which it
        # decodes with surrogatepass): refuse them here (UnicodeEncodeError is a ValueError).
        json.dumps(body, ensure_ascii=False).encode()
        return body
    except (ValueError, RecursionError):
        raise ServiceError("The body is not valid JSON.", code="invalid_json") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def batch_events(body: Any, schema: str) -> list:
    """The events list of a batch body; 400 for a bad envelope, 413 beyond MAX_EVENTS."""
    if type(body) is dict and type(body.get("events")) is list:
        if len(body["events"]) > MAX_EVENTS:
            raise PayloadTooLarge(
                f"At most {MAX_EVENTS} events per request; got {len(body['events'])}.",
                field="events",
            )
        shell = dict(body, events=[])
    else:
        shell = body
    problem = validate(schema, shell)
    if problem:
        raise ServiceError(
            f"{problem[0] or 'body'} {problem[1]}.", field=problem[0] or None, code="invalid_body"
        )
    return body["events"]


def _event_id(event: Any) -> str | None:
    """The event's id if it is a valid one: a rejection echoes and stores it (an id with NUL
    or too long would fail the database write and sink the whole batch)."""
    value = event.get("id") if type(event) is dict else None
    return value if _ID(value, "id") is None else None


def _invalid(event: Any, problem) -> dict:
    # The path can name a client's unknown property: keep it storable (field is varchar(80),
    # PostgreSQL text refuses NUL) so one hostile event cannot sink its batch.
    field = problem[0].replace("\x00", "")[:MAX_FIELD]
    return rejected(_event_id(event), "invalid_event", f"{field} {problem[1]}.", field)


def _batch_items(batch: str, check, build) -> list:
    """The batch's events: build(event) for each schema-valid one, a rejection for the rest."""
    items = []
    for index, event in enumerate(batch_events(json_body(), batch)):
        problem = check(event, f"events[{index}]")
        items.append(_invalid(event, problem) if problem else build(event))
    return items


def _valid_time(value: str) -> datetime:
    """parse_time of a date-time the schema check accepted (it refuses what parses to None)."""
    moment = parse_time(value)
    assert moment is not None
    return moment


def _unlock(event: dict) -> UnlockIn:
    return UnlockIn(
        event["id"],
        event["series_id"],
        event["episode"],
        event["amount"],
        event["currency"],
        _valid_time(event["occurred_at"]),
        event.get("country"),
        event.get("viewer"),
    )


def _refund(event: dict) -> RefundIn:
    return RefundIn(
        event["id"], event["unlock_id"], _valid_time(event["occurred_at"]), event.get("reason")
    )


@bp.post("/unlocks")
def unlocks():
    """Report paid unlocks: one result per event, in request order."""
    items = _batch_items("UnlockBatch", _UNLOCK, _unlock)
    return json_response({"results": ingest_unlocks(db.session(), g.partner, items)})


@bp.post("/refunds")
def refunds():
    """Refund unlocks in full: one result per event, in request order."""
    items = _batch_items("RefundBatch", _REFUND, _refund)
    return json_response({"results": ingest_refunds(db.session(), g.partner, items)})


def _coin_unlock(event: dict) -> CoinUnlockIn:
    return CoinUnlockIn(
        event["id"],
        event["series_id"],
        event["episode"],
        event["coins"],
        event.get("bonus_coins", 0),
        _valid_time(event["occurred_at"]),
        event.get("country"),
        event.get("viewer"),
    )


def _bundle(event: dict) -> BundleIn:
    return BundleIn(
        event["id"],
        event["series_id"],
        event.get("first_episode"),
        event.get("last_episode"),
        event["amount"],
        event["currency"],
        _valid_time(event["occurred_at"]),
        event.get("country"),
        event.get("viewer"),
    )


def _purchase(event: dict) -> PurchaseIn:
    return PurchaseIn(
        event["id"],
        event["series_id"],
        event["episode"],
        event["product"],
        event["price"],
        event.get("commission"),
        event["currency"],
        _valid_time(event["occurred_at"]),
        event.get("country"),
        tuple(event.get("featured", ())),
    )


def _view_count(event: dict) -> ViewCountIn | dict:
    try:
        day = date.fromisoformat(event["day"])
    except ValueError:
        return rejected(None, "invalid_event", "day is not a date.", "day")
    return ViewCountIn(
        event["series_id"],
        event["episode"],
        day,
        event.get("country"),
        event["starts"],
        event["completions"],
    )


@bp.post("/coin-unlocks")
def coin_unlocks():
    """Report coin unlocks: one result per event, in request order."""
    items = _batch_items("CoinUnlockBatch", VALIDATORS["CoinUnlockEvent"], _coin_unlock)
    return json_response({"results": ingest_coin_unlocks(db.session(), g.partner, items)})


@bp.post("/bundles")
def bundles():
    """Report bundle sales: one result per event, in request order."""
    items = _batch_items("BundleBatch", VALIDATORS["BundleEvent"], _bundle)
    return json_response({"results": ingest_bundles(db.session(), g.partner, items)})


@bp.post("/purchases")
def purchases():
    """Report in-story purchases: one result per event, in request order."""
    items = _batch_items("PurchaseBatch", VALIDATORS["PurchaseEvent"], _purchase)
    return json_response({"results": ingest_purchases(db.session(), g.partner, items)})


@bp.post("/views")
def views():
    """Report view counts per episode, day and country: one result per row, in order."""
    items = _batch_items("ViewBatch", VALIDATORS["ViewCount"], _view_count)
    return json_response({"results": ingest_views(db.session(), g.partner, items)})


@bp.post("/revenue-pools")
def revenue_pools():
    """Share a subscription or ads pool across series by views."""
    body = json_body()
    problem = validate("RevenuePool", body)
    if problem:
        raise ServiceError(
            f"{problem[0] or 'body'} {problem[1]}.", field=problem[0] or None, code="invalid_body"
        )
    pool = PoolIn(
        body["id"],
        body["kind"],
        _valid_time(body["period_start"]),
        _valid_time(body["period_end"]),
        body["amount"],
        body["currency"],
        [(v["series_id"], v["episode"], v["count"]) for v in body["views"]],
    )
    return json_response(ingest_pool(db.session(), g.partner, pool))


@bp.get("/events/<path:event_id>")
def event(event_id: str):
    """An event's status: accepted, refunded, or rejected and why."""
    valid = len(event_id) <= 64 and "\x00" not in event_id
    answer = event_status(db.session(), g.partner, event_id) if valid else None
    if answer is None:
        return error_response("not_found", "No event with this id.", 404, "id")
    return json_response(answer)


@bp.get("/catalog")
def catalog():
    """The partner's live series, paginated by cursor."""
    since = request.args.get("updated_since")
    moment = parse_time(since) if since else None
    if since and moment is None:
        raise ServiceError("updated_since must be RFC 3339 with an offset.", field="updated_since")
    raw_limit = request.args.get("limit", "50")
    # isdigit() alone takes "²" and any number of digits, which int() then refuses.
    digits = raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 3
    if not digits or not 1 <= int(raw_limit) <= 100:
        raise ServiceError("limit is 1 to 100.", field="limit")
    page = catalog_page(
        db.session(),
        g.partner,
        updated_since=moment,
        cursor=request.args.get("cursor"),
        limit=int(raw_limit),
    )
    return json_response(page)


@bp.get("/media/<token>")
def media(token: str):
    """Stream an episode's video or a poster behind a signed, expiring link."""
    max_age = current_app.config["MEDIA_LINK_SECONDS"]
    try:
        kind, object_id, *partner = media_signer().loads(token, max_age=max_age)
    except SignatureExpired:
        return error_response("link_expired", "This media link has expired.", 410)
    except (BadSignature, ValueError, TypeError):
        return error_response("not_found", "No such media.", 404)
    found = _media_file(kind, object_id)
    if found is None:
        return error_response("not_found", "No such media.", 404)
    key, series_id = found
    # Links name their partner app (links signed before they did, without one, live out their
    # MEDIA_LINK_SECONDS): a series withdrawn from that app stops streaming there at once.
    if partner and not _listed_live(series_id, partner[0]):
        return error_response("withdrawn", "This series is not live on your app.", 410)
    try:
        stream = open_media(key)
    except (FileNotFoundError, ValueError):
        return error_response("not_found", "No such media.", 404)
    return send_file(stream, mimetype=media_type_of(key), conditional=True)


def _media_file(kind: str, object_id: int) -> tuple[str, int] | None:
    """The storage key of an episode's video ("e") or a series' poster, and its series id;
    None when the row or its file is gone."""
    if kind == "e":
        episode = db.session.get(Episode, object_id)
        if episode is not None and episode.media_path:
            return episode.media_path, episode.series_id
        return None
    series = db.session.get(Series, object_id)
    if series is not None and series.poster_path:
        return series.poster_path, series.id
    return None


def _listed_live(series_id: int, partner_id: int) -> bool:
    return (
        db.session.scalar(
            select(Listing.id).where(
                Listing.series_id == series_id,
                Listing.partner_id == partner_id,
                Listing.status == "live",
            )
        )
        is not None
    )


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI document the request bodies are validated against."""
    return json_response(openapi_document())


@bp.get("/docs")
def docs():
    """Human documentation rendered from the OpenAPI document."""
    return render_template("api/docs.html", doc=openapi_document(), codes=REJECTION_CODES)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(rest: str):
    """Unknown API paths (and known paths with the wrong method) answer JSON 404/405."""
    allowed = [m for m in _methods_here() if m != request.method]
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound("No such API endpoint.")


def _methods_here() -> list[str]:
    """The methods (of GET and POST) an API view really answers on this request's path."""
    adapter = current_app.url_map.bind("localhost")
    return [m for m in ("GET", "POST") if _endpoint_for(adapter, m) not in (None, "api.not_found")]


def _endpoint_for(adapter, method: str) -> str | None:
    try:
        return adapter.match(request.path, method=method)[0]
    except HTTPException:
        return None
