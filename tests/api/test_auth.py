"""Signatures, keys, rate limits and JSON errors of the partner API."""

from __future__ import annotations

import json
import time

import pytest

from marketplace.partners.services import rotate_key
from tests.api.conftest import unlock


def error_code(response):
    return response.get_json()["error"]["code"]


def test_a_signed_request_passes(make_partner):
    partner = make_partner()
    assert partner.get("/api/v1/catalog").status_code == 200


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "wrong-secret"}, "bad_signature"),
        ({"seconds_away": -400}, "stale_timestamp"),
        ({"seconds_away": 400}, "stale_timestamp"),
        ({"timestamp": "soon"}, "unauthorized"),
        ({"key_id": "ck_unknown"}, "unknown_key"),
        ({"headers": {"X-Cliffhanger-Signature": "é"}}, "bad_signature"),
        ({"headers": {"X-Cliffhanger-Key": ""}}, "unauthorized"),
    ],
)
def test_signature_failures_are_401_json(make_partner, change, code):
    if "seconds_away" in change:  # from the clock at run time, not at collection
        change = {"timestamp": int(time.time()) + change["seconds_away"]}
    partner = make_partner()
    response = partner.get("/api/v1/catalog", **change)
    assert response.status_code == 401
    assert response.is_json
    assert error_code(response) == code


def test_a_body_changed_after_signing_is_refused(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    signed = json.dumps({"events": [unlock("a", series, amount=49)]}).encode()
    stamp = str(int(time.time()))
    from marketplace.ingest.api.auth import signature

    tampered = signed.replace(b'"amount": 49', b'"amount": 1')
    response = partner.client.post(
        "/api/v1/unlocks",
        data=tampered,
        headers={
            "X-Cliffhanger-Key": partner.key_id,
            "X-Cliffhanger-Timestamp": stamp,
            "X-Cliffhanger-Signature": signature(partner.secret, stamp, signed),
        },
    )
    assert response.status_code == 401
    assert error_code(response) == "bad_signature"


def test_a_rotated_key_keeps_working_24_hours(db, make_partner):
    partner = make_partner()
    key_id, secret = rotate_key(db.session, partner.app, None)
    assert partner.get("/api/v1/catalog").status_code == 200  # old key, within 24 h
    assert partner.get("/api/v1/catalog", key_id=key_id, secret=secret).status_code == 200
    partner.app.keys[0].expires_at = partner.app.keys[0].created_at
    db.session.flush()
    assert partner.get("/api/v1/catalog").status_code == 401


def test_rate_limit_answers_429_with_retry_after(app, make_partner):
    partner = make_partner()
    old = app.config.get("API_RATE_LIMIT"), app.config.get("API_RATE_BURST")
    app.config.update(API_RATE_LIMIT=0.5, API_RATE_BURST=2)
    try:
        statuses = [partner.get("/api/v1/catalog").status_code for _ in range(3)]
        response = partner.get("/api/v1/catalog")
    finally:
        app.config.update(API_RATE_LIMIT=old[0] or 100, API_RATE_BURST=old[1] or 200)
    assert statuses == [200, 200, 429]
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert error_code(response) == "rate_limited"


def test_errors_are_json_for_unknown_paths_methods_and_big_bodies(app, client, make_partner):
    partner = make_partner()
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.is_json
    response = client.delete("/api/v1/unlocks")
    assert response.status_code == 405 and response.is_json
    assert "POST" in response.headers["Allow"]
    response = partner.post("/api/v1/unlocks", None, body=b"x" * (3 * 1024 * 1024))
    assert response.status_code == 413 and response.is_json
    assert partner.get("/api/v1/events/" + "x" * 80).status_code == 404


def test_an_inactive_partner_is_refused(db, make_partner):
    partner = make_partner()
    partner.app.active = False
    db.session.flush()
    assert partner.get("/api/v1/catalog").status_code == 401
