"""The OpenAPI 3.1 document of the partner API: the single source of the request schemas.

The routes validate request bodies with validators compiled from `SCHEMAS` (validation.py), and
/api/v1/openapi.json and /api/v1/docs serve this same document, so they cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

MAX_EVENTS = 1_000
"""Events per request to every batch endpoint; beyond it the answer is 413."""

MAX_AMOUNT = 10**12
"""Largest amount (minor units) accepted in one event or pool."""

_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": r"^[^\u0000-\u001f]+$",
    "description": "Your unique id (no control characters).",
}
_TEXT = r"^[^\u0000]*$"
"""Free text may hold anything but NUL (which PostgreSQL text cannot store)."""
_TIME = {
    "type": "string",
    "format": "date-time",
    "maxLength": 40,
    "description": "RFC 3339 with an offset, e.g. 2026-10-01T12:00:00Z.",
}
_SERIES = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_EPISODE = {"type": "integer", "minimum": 1, "maximum": 100_000}
_AMOUNT = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_AMOUNT,
    "description": "Integer minor units of the currency (cents for USD, yen for JPY).",
}
_CURRENCY = {
    "type": "string",
    "pattern": "^[A-Z]{3}$",
    "description": "ISO 4217; must equal your contract currency.",
}

_COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT}
_SIGNED_COUNT = {
    "type": "integer",
    "minimum": -MAX_AMOUNT,
    "maximum": MAX_AMOUNT,
    "description": "The day's total so far (a later report replaces it); below 0 is rejected "
    "`negative_count`.",
}
_COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2."}
_VIEWER = {"type": "string", "maxLength": 200, "pattern": _TEXT, "description": "Opaque viewer id."}


def _batch(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "maxItems": MAX_EVENTS,
                "items": {"$ref": f"#/components/schemas/{item}"},
            }
        },
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "request_id": {
                "type": "string",
                "description": "The request's id (also in X-Request-Id); a request's errors "
                "carry it, per-event results do not.",
            },
        },
    },
    "ReconciliationLine": {
        "type": "object",
        "description": "A line of your report that did not match, with both sides (amounts "
        "in minor units, refunds negative; our_* null for only_theirs, their_* for only_ours).",
        "properties": {
            "id": {"type": "integer"},
            "kind": {
                "type": "string",
                "enum": [
                    "only_theirs",
                    "only_ours",
                    "currency_differs",
                    "amount_differs",
                    "content_differs",
                    "date_differs",
                ],
            },
            "event_id": {"type": "string"},
            "line_no": {"type": ["integer", "null"]},
            **{
                f"{side}_{name}": {"type": [kind, "null"]}
                for side in ("their", "our")
                for name, kind in (
                    ("series_id", "integer"),
                    ("episode", "integer"),
                    ("amount", "integer"),
                    ("currency", "string"),
                    ("occurred_at", "string"),
                )
            },
        },
    },
    "ReconciliationReport": {
        "type": "object",
        "required": ["id", "period", "lines", "counts", "differing"],
        "properties": {
            "id": {"type": "integer"},
            "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "source": {"type": "string"},
            "lines": {"type": "integer"},
            "size": {"type": "integer"},
            "counts": {
                "type": "object",
                "description": "Lines per class: matched, only_theirs, only_ours, "
                "currency_differs, amount_differs, content_differs (series or episode), "
                "date_differs (one class a line).",
                "additionalProperties": {"type": "integer"},
            },
            "created_at": {"type": "string", "format": "date-time"},
            "differing": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ReconciliationLine"},
            },
            "differing_total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
    },
    "UnlockEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "series_id", "episode", "amount", "currency", "occurred_at"],
        "properties": {
            "id": _ID,
            "series_id": _SERIES,
            "episode": _EPISODE,
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "occurred_at": _TIME,
            "country": {
                "type": "string",
                "pattern": "^[A-Z]{2}$",
                "description": "ISO 3166-1 alpha-2.",
            },
            "viewer": {
                "type": "string",
                "maxLength": 200,
                "pattern": _TEXT,
                "description": "Opaque viewer id.",
            },
        },
    },
    "RefundEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "unlock_id", "occurred_at"],
        "properties": {
            "id": _ID,
            "unlock_id": {**_ID, "description": "The id of the unlock to reverse in full."},
            "occurred_at": _TIME,
            "reason": {"type": "string", "maxLength": 500, "pattern": _TEXT},
        },
    },
    "UnlockBatch": {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "maxItems": MAX_EVENTS,
                "items": {"$ref": "#/components/schemas/UnlockEvent"},
            }
        },
    },
    "RefundBatch": {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "maxItems": MAX_EVENTS,
                "items": {"$ref": "#/components/schemas/RefundEvent"},
            }
        },
    },
    "CoinUnlockBatch": _batch("CoinUnlockEvent"),
    "BundleBatch": _batch("BundleEvent"),
    "PurchaseBatch": _batch("PurchaseEvent"),
    "ViewBatch": _batch("ViewCount"),
    "PoolViews": {
        "type": "object",
        "additionalProperties": False,
        "required": ["series_id", "episode", "count"],
        "properties": {
            "series_id": _SERIES,
            "episode": _EPISODE,
            "count": {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT},
        },
    },
    "RevenuePool": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind", "period_start", "period_end", "amount", "currency", "views"],
        "properties": {
            "id": _ID,
            "kind": {"type": "string", "enum": ["subscription", "ads"]},
            "period_start": _TIME,
            "period_end": _TIME,
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "views": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10_000,
                "items": {"$ref": "#/components/schemas/PoolViews"},
            },
        },
    },
    "CoinUnlockEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "series_id", "episode", "coins", "occurred_at"],
        "properties": {
            "id": _ID,
            "series_id": _SERIES,
            "episode": _EPISODE,
            "coins": {**_COUNT, "description": "Paid coins spent on the episode."},
            "bonus_coins": {**_COUNT, "description": "Bonus coins spent (default 0)."},
            "occurred_at": _TIME,
            "country": _COUNTRY,
            "viewer": _VIEWER,
        },
    },
    "BundleEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "series_id", "amount", "currency", "occurred_at"],
        "properties": {
            "id": _ID,
            "series_id": _SERIES,
            "first_episode": {**_EPISODE, "description": "Default 1."},
            "last_episode": {**_EPISODE, "description": "Default: the series' last episode."},
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "occurred_at": _TIME,
            "country": _COUNTRY,
            "viewer": _VIEWER,
        },
    },
    "PurchaseEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "series_id", "episode", "product", "price", "currency", "occurred_at"],
        "properties": {
            "id": _ID,
            "series_id": _SERIES,
            "episode": _EPISODE,
            "product": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _TEXT},
            "price": {**_AMOUNT, "description": "What the viewer paid, minor units."},
            "commission": {
                **_AMOUNT,
                "description": "The platform's commission on it, minor units (required in "
                "effect: a purchase without one is rejected `no_commission`).",
            },
            "currency": _CURRENCY,
            "occurred_at": _TIME,
            "country": _COUNTRY,
            "featured": {
                "type": "array",
                "maxItems": 20,
                "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                "description": "Team member ids of the participants featured with the product.",
            },
        },
    },
    "ViewCount": {
        "type": "object",
        "additionalProperties": False,
        "required": ["series_id", "episode", "day", "starts", "completions"],
        "properties": {
            "series_id": _SERIES,
            "episode": _EPISODE,
            "day": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$",
                    "description": "UTC day, YYYY-MM-DD."},
            "country": _COUNTRY,
            "starts": _SIGNED_COUNT,
            "completions": _SIGNED_COUNT,
        },
    },
    "EventResult": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
            "error": {"$ref": "#/components/schemas/ErrorDetail"},
        },
    },
    "BatchResults": {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/EventResult"}}
        },
    },
    "PoolResult": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
            "error": {"$ref": "#/components/schemas/ErrorDetail"},
            "shares": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"series_id": _SERIES, "amount": _AMOUNT},
                },
            },
        },
    },
    "SettlementLine": {
        "type": "object",
        "required": ["series_id", "episode", "country", "gross"],
        "properties": {
            "series_id": {"type": "integer"},
            "episode": {"type": ["integer", "null"], "description": "null: a pool's share"},
            "country": {"type": ["string", "null"]},
            "unlocks": {"type": "integer"},
            "unlocks_gross": {"type": "integer"},
            "refunds_gross": {"type": "integer"},
            "pools_gross": {"type": "integer"},
            "gross": {"type": "integer", "description": "unlocks - refunds + pools"},
        },
    },
    "Settlement": {
        "type": "object",
        "description": "What you owe for one closed period, in minor units of `currency`: "
        "amount_owed = gross - partner_share; paid (remittances applied); outstanding; "
        "due_at = period end + your net days.",
        "required": ["id", "period", "currency", "gross", "amount_owed", "paid", "due_at"],
        "properties": {
            "id": {"type": "integer"},
            "partner_id": {"type": "integer"},
            "period": {"type": "string", "description": "2026-11 or 2026-W47"},
            "period_start": {"type": "string", "format": "date-time"},
            "period_end": {"type": "string", "format": "date-time"},
            "currency": {"type": "string"},
            "unlocks": {"type": "integer"},
            "unlocks_gross": {"type": "integer"},
            "refunds_gross": {"type": "integer"},
            "pools_gross": {"type": "integer"},
            "gross": {"type": "integer"},
            "partner_share": {"type": "integer"},
            "amount_owed": {"type": "integer"},
            "paid": {"type": "integer"},
            "outstanding": {"type": "integer"},
            "due_at": {"type": "string", "format": "date-time"},
            "closed_at": {"type": "string", "format": "date-time"},
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/SettlementLine"}},
        },
    },
    "SettlementPage": {
        "type": "object",
        "required": ["settlements", "next_before"],
        "properties": {
            "settlements": {"type": "array", "items": {"$ref": "#/components/schemas/Settlement"}},
            "next_before": {"type": ["integer", "null"]},
        },
    },
    "EventStatus": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string"},
            "kind": {
                "type": "string",
                "enum": ["unlock", "refund", "pool", "coins", "bundle", "purchase"],
            },
            "status": {"type": "string", "enum": ["accepted", "refunded", "rejected"]},
            "series_id": {"type": ["integer", "null"]},
            "episode": {"type": ["integer", "null"]},
            "amount": {"type": "integer"},
            "currency": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "recorded_at": {"type": "string", "format": "date-time"},
            "coins": {"type": "integer", "description": "A coin unlock's paid coins (its "
                      "`amount` is 0: the money is decided by the ledger poster)."},
            "bonus_coins": {"type": "integer"},
            "refund_id": {"type": ["string", "null"]},
            "unlock_id": {"type": ["string", "null"]},
            "ledger": {
                "type": "object",
                "description": "The ledger's side of an accepted event: `accepted` (durable, "
                "waiting for the ledger poster, usually a second or two) or `posted`, with the "
                "entries carrying its money (a pool: one per series).",
                "properties": {
                    "status": {"type": "string", "enum": ["accepted", "posted"]},
                    "entry_ids": {"type": "array", "items": {"type": "integer"}},
                },
            },
            "error": {"$ref": "#/components/schemas/ErrorDetail"},
        },
    },
    "CatalogPage": {
        "type": "object",
        "required": ["series", "next_cursor"],
        "properties": {
            "series": {"type": "array", "items": {"$ref": "#/components/schemas/CatalogSeries"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "CatalogSeries": {
        "type": "object",
        "description": "A live series; or, in an incremental sync (updated_since), a series "
        "withdrawn from your app since then: only id, status withdrawn, withdrawn_at and "
        "updated_at. Take it down; its unlocks after withdrawn_at are rejected (series_not_live).",
        "required": ["id", "status", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["live", "withdrawn"]},
            "withdrawn_at": {"type": "string", "format": "date-time"},
            "title": {"type": "string"},
            "language": {"type": "string"},
            "original_series_id": {"type": ["integer", "null"]},
            "synopsis": {"type": "string"},
            "poster_url": {"type": ["string", "null"]},
            "free_episodes": {"type": "integer"},
            "episode_price": {"$ref": "#/components/schemas/Price"},
            "bundle_price": {"oneOf": [{"$ref": "#/components/schemas/Price"}, {"type": "null"}]},
            "episodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "integer"},
                        "title": {"type": "string"},
                        "duration_seconds": {"type": ["integer", "null"]},
                        "media_url": {
                            "type": ["string", "null"],
                            "description": "Signed link valid for MEDIA_LINK_SECONDS, or the "
                            "creator's https URL.",
                        },
                    },
                },
            },
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "Price": {
        "type": ["object", "null"],
        "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}},
    },
}

REJECTION_CODES: dict[str, str] = {
    "invalid_event": "the event does not match the schema (`field` names the property)",
    "conflict": "this id was used before (or earlier in the batch) with other content",
    "wrong_currency": "the currency is not your contract currency",
    "occurred_in_future": "occurred_at is more than 5 minutes in the future",
    "series_not_live": "the series is not live on your app at occurred_at (or unknown)",
    "unknown_episode": "the series has no such episode",
    "free_episode": "the episode was free on this series at occurred_at",
    "no_split": "the series had no split sheet in force at occurred_at",
    "invalid_country": "country is not an ISO 3166-1 alpha-2 code",
    "unknown_unlock": "refund: no unlock with this id on your app",
    "already_refunded": "refund: the unlock was refunded already",
    "refund_before_unlock": "refund: occurred_at is earlier than the unlock",
    "invalid_period": "pool: period_end is not after period_start, or is in the future",
    "no_views": "pool: the views add up to zero while the amount is not zero",
    "no_coin_value": "coin unlock: your contract sets no coin value at occurred_at",
    "invalid_range": "bundle: last_episode precedes first_episode",
    "no_commission": "purchase: no commission reported, or zero",
    "commission_above_price": "purchase: the commission is larger than the price",
    "unknown_member": "purchase: a featured participant is not on the series' team",
    "negative_count": "views: starts or completions below zero",
    "period_closed": "occurred_at (a pool's period_end) falls in a settlement period that is "
    "closed: its statement is final",
}

_SIGNED: list[dict[str, list[str]]] = [{"key": [], "timestamp": [], "signature": []}]
_ERRORS = {
    str(code): {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code, text in (
        (400, "Malformed JSON or a body that does not match the schema"),
        (
            401,
            "Unknown, expired or revoked key, bad signature, v1 signature from an app not "
            "flagged legacy, or timestamp more than 300 s away",
        ),
        (413, f"More than {MAX_EVENTS} events, or a body over the size limit"),
        (
            429,
            "Rate limit of the key, or of failed authentications from the address, "
            "exceeded; see Retry-After",
        ),
    )
}


def _json(ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _post(summary: str, body: str, answer: str, description: str) -> dict:
    return {
        "post": {
            "summary": summary,
            "description": description,
            "security": _SIGNED,
            "requestBody": {"required": True, "content": _json(body)},
            "responses": {"200": {"description": "Per-event outcome", "content": _json(answer)}}
            | _ERRORS,
        }
    }


def _codes() -> str:
    return "Rejection codes: " + "; ".join(f"`{c}`: {t}" for c, t in REJECTION_CODES.items())


PATHS: dict[str, Any] = {
    "/catalog": {
        "get": {
            "summary": "Series live on your app",
            "description": "Ordered by updated_at then id. Pass next_cursor back as `cursor`.",
            "security": _SIGNED,
            "parameters": [
                {"name": "updated_since", "in": "query", "schema": _TIME},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
            ],
            "responses": {"200": {"description": "A page", "content": _json("CatalogPage")}}
            | _ERRORS,
        }
    },
    "/unlocks": _post(
        "Report paid unlocks",
        "UnlockBatch",
        "BatchResults",
        "Each event stands alone; results come in request order. " + _codes(),
    ),
    "/refunds": _post(
        "Refund unlocks in full",
        "RefundBatch",
        "BatchResults",
        "Each refund reverses its unlock's money exactly. " + _codes(),
    ),
    "/revenue-pools": _post(
        "Share a subscription or ads pool",
        "RevenuePool",
        "PoolResult",
        "The amount is shared across series pro rata to views (largest remainder, ties by "
        "ascending series id), then each share is split like an unlock. " + _codes(),
    ),
    "/coin-unlocks": _post(
        "Report coin unlocks",
        "CoinUnlockBatch",
        "BatchResults",
        "Coins spent on a paid episode. Your contract's coin value (an exact fraction of your "
        "currency, paid and bonus coins apart) turns them into money when the ledger posts "
        "them, over the series' cumulative coins: no event is rounded on its own. "
        + _codes(),
    ),
    "/bundles": _post(
        "Report bundle sales",
        "BundleBatch",
        "BatchResults",
        "A series (or an episode range) bought at once: the price goes to the series like an "
        "unlock; each covered episode is credited an equal share for analytics (largest "
        "remainder). " + _codes(),
    ),
    "/purchases": _post(
        "Report in-story purchases",
        "PurchaseBatch",
        "BatchResults",
        "A product tied to a series and episode. Only the platform's commission is shared, by "
        "the series' commerce split (else its main split); your app takes no share of it. "
        + _codes(),
    ),
    "/views": _post(
        "Report view counts",
        "ViewBatch",
        "BatchResults",
        "Starts and completions per episode, UTC day and country, free and paid episodes "
        "alike. Each row is the day's total so far: a later report replaces it, so a repeat "
        "changes nothing. Results carry id null, in request order. " + _codes(),
    ),
    "/settlements": {
        "get": {
            "summary": "Your settlement statements",
            "description": "What you owe per closed period (amounts in minor units of the "
            "contract currency), newest period first, 100 a page: pass next_before back as "
            "`before`. A period closes after its last day plus the late-event window; events "
            "of a closed period are refused with `period_closed`.",
            "security": _SIGNED,
            "parameters": [
                {
                    "name": "before",
                    "in": "query",
                    "schema": {"type": "string", "pattern": "^[0-9]{1,9}$"},
                }
            ],
            "responses": {"200": {"description": "A page", "content": _json("SettlementPage")}}
            | _ERRORS,
        }
    },
    "/settlements/{id}": {
        "get": {
            "summary": "One settlement statement with its lines",
            "description": "Lines per series, episode (null: a revenue pool's share) and "
            "country (null when not reported).",
            "security": _SIGNED,
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                }
            ],
            "responses": {
                "200": {"description": "The statement", "content": _json("Settlement")},
                "404": {"description": "Not one of yours", "content": _json("Error")},
            }
            | _ERRORS,
        }
    },
    "/settlements/reports": {
        "post": {
            "summary": "Reconcile your report of a month",
            "description": "Your own report of a calendar month (UTC) as CSV with exactly the "
            "columns event_id, series_id, episode, amount_minor, currency, occurred_at (ISO "
            "8601 with an offset; refunds negative), matched by event id against the events "
            "you reported: matched, only_theirs (never reported to us), only_ours (your "
            "unlocks and refunds of the month missing from the file; pools excluded), "
            "currency_differs, amount_differs, content_differs (series or episode), "
            "date_differs. A file with missing or extra "
            "columns, non-integer values, a repeated event id or another app's event ids is "
            "refused whole (400) and nothing is stored. Body limit: RECONCILE_MAX_BYTES "
            "(200 MiB by default), not the event endpoints' 2 MiB.",
            "security": _SIGNED,
            "parameters": [
                {
                    "name": "period",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            "responses": {
                "201": {
                    "description": "Reconciled: the counts and the first page of differing "
                    "lines (Location: the report)",
                    "content": _json("ReconciliationReport"),
                }
            }
            | _ERRORS,
        }
    },
    "/settlements/reports/{id}": {
        "get": {
            "summary": "One of your reconciliation reports",
            "security": _SIGNED,
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                },
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            ],
            "responses": {
                "200": {
                    "description": "Counts and a page of 1,000 differing lines",
                    "content": _json("ReconciliationReport"),
                },
                "404": {"description": "Not one of your reports", "content": _json("Error")},
            }
            | _ERRORS,
        }
    },
    "/events/{id}": {
        "get": {
            "summary": "An event's status",
            "security": _SIGNED,
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
            "responses": {
                "200": {"description": "Status", "content": _json("EventStatus")},
                "404": {"description": "Never seen", "content": _json("Error")},
            }
            | _ERRORS,
        }
    },
}

SIGNING = (
    "Sign every request: `X-Cliffhanger-Key: <key id>`, `X-Cliffhanger-Timestamp: <unix "
    "seconds>`, `X-Cliffhanger-Signature: v2=<hex>` where hex is HMAC-SHA256 with the key's "
    "secret over timestamp + '\\n' + METHOD + '\\n' + path + '\\n' + query + '\\n' + raw body "
    "(path percent-encoded except letters, digits and `/-._~`; query exactly as sent, without "
    "'?', empty when none; empty body for GET). Timestamps more than 300 s from our clock are "
    "refused. v1 signatures (hex over timestamp + '.' + body) are accepted only from apps "
    "flagged legacy. Rate limits are per key, shared by every server process, and per client "
    "address for failed authentications (429 with Retry-After)."
)


def openapi_document(server_url: str = "/api/v1") -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy)."""
    header = {"type": "apiKey", "in": "header"}
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Cliffhanger partner API",
                "version": "1",
                "description": SIGNING,
            },
            "servers": [{"url": server_url}],
            "paths": PATHS,
            "components": {
                "schemas": SCHEMAS,
                "securitySchemes": {
                    "key": header | {"name": "X-Cliffhanger-Key"},
                    "timestamp": header | {"name": "X-Cliffhanger-Timestamp"},
                    "signature": header
                    | {
                        "name": "X-Cliffhanger-Signature",
                        "description": "v2=<hex HMAC-SHA256 of timestamp, method, path, query "
                        "and body>",
                    },
                },
            },
        }
    )
