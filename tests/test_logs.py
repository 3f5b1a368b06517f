"""Logging: JSON lines in production, readable text elsewhere, the request's id everywhere."""

import json
import logging
import logging.config

import pytest

from marketplace.config import ConfigError, load_config
from marketplace.logs import JSONLineFormatter, RequestIdFilter, logging_config


def record(message="batch done", **extra):
    made = logging.LogRecord("marketplace.ingest", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_json_line_carries_the_message_the_request_id_and_the_extra_fields():
    line = JSONLineFormatter().format(record(request_id="abc123", partner_id=7, kind="unlock"))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "batch done" and entry["level"] == "INFO"
    assert entry["logger"] == "marketplace.ingest" and entry["request_id"] == "abc123"
    assert entry["partner_id"] == 7 and entry["kind"] == "unlock"
    assert entry["time"].endswith("+00:00")


def test_outside_a_request_the_filter_marks_records_with_a_dash():
    made = record()
    assert RequestIdFilter().filter(made) and made.request_id == "-"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_both_configurations_are_accepted_by_dictconfig(fmt):
    root, ours = logging.getLogger(), logging.getLogger("marketplace")
    before = root.handlers[:], root.level, ours.level
    try:
        logging.config.dictConfig(logging_config("INFO", fmt))
        assert ours.level == logging.INFO
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
        ours.setLevel(before[2])


def test_production_logs_json_and_development_text(tmp_path):
    production = {
        "CLIFFHANGER_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "STRIPE_SECRET_KEY": "sk_live_" + "x" * 40,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 40,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    }
    assert load_config(str(tmp_path), production)["LOG_FORMAT"] == "json"
    assert load_config(str(tmp_path), {})["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config(str(tmp_path), {"LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_config(str(tmp_path), {"LOG_LEVEL": "loud"})


def test_every_response_names_its_request(client):
    fresh = client.get("/healthz")
    assert len(fresh.headers["X-Request-Id"]) == 32
    assert client.get("/healthz").headers["X-Request-Id"] != fresh.headers["X-Request-Id"]
    given = client.get("/healthz", headers={"X-Request-Id": "proxy-42"})
    assert given.headers["X-Request-Id"] == "proxy-42"
    forged = client.get("/healthz", headers={"X-Request-Id": "x" * 65})
    assert forged.headers["X-Request-Id"] != "x" * 65
    injected = client.get("/healthz", headers={"X-Request-Id": "a b<script>"})
    assert injected.headers["X-Request-Id"] != "a b<script>"
