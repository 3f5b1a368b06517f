"""Logging: configured once from config (JSON lines in production, readable text elsewhere),
with the request's id on every record logged while it is handled.

Every request gets an id: the caller's `X-Request-Id` when it is a short token (a proxy's or a
partner's), else a new one. It is echoed in the response's `X-Request-Id` header and in the
partner API's error bodies, so a partner quoting an error names the log lines that explain it.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
NO_REQUEST = "-"
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "request_id"}


def current_request_id() -> str:
    """The id of the request being handled, or "-" outside a request (CLI, scheduler)."""
    if not has_request_context():
        return NO_REQUEST
    return g.get("request_id") or NO_REQUEST


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JSONLineFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the
    record's `extra=` fields, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """The dictConfig for `level` (DEBUG, INFO, ...) and `fmt` ("json" or "text")."""
    formatters = {
        "json": {"()": JSONLineFormatter},
        "text": {
            "format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {fmt: formatters[fmt]},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {"marketplace": {"level": level}, "ledger": {"level": level}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


def configure_logging(app: Flask) -> None:
    """Apply LOG_LEVEL and LOG_FORMAT (tests keep pytest's own capture: they skip this)."""
    if app.config.get("TESTING"):
        return
    logging.config.dictConfig(logging_config(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"]))


def register_request_ids(app: Flask) -> None:
    """Give every request an id (in `g.request_id`, log records and the response header)."""

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers.setdefault(REQUEST_ID_HEADER, current_request_id())
        return response
