"""Hostile inputs to the partner API: malformed bodies, odd numbers, ids and times, headers,
methods, cursors, and refunds and pools at their edges.

Every answer must be JSON with the documented status (never a 5xx), one bad event must not
sink the others of its batch, and the ledger must still balance. The last section pins bugs
found by a review, now fixed; some only showed on PostgreSQL (varchar limits, NUL bytes).
"""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from ledger.balances import get_balance
from ledger.reports.checks import check_ledger
from marketplace.chart import ledger_account
from tests.api.conftest import T0, unlock, v2_header


def codes(response) -> list[str]:
    """Each result's error code, or its status when it has none."""
    assert response.status_code == 200, response.get_data()
    return [r.get("error", {}).get("code", r["status"]) for r in response.get_json()["results"]]


def error_of(response) -> dict:
    """The {"code", "message", "field"} of a JSON error answer."""
    assert response.is_json, response.get_data()[:200]
    return response.get_json()["error"]


def an_hour_ago() -> str:
    """A fixed occurred_at inside the demo listing (reuse it where content must repeat)."""
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def views(*rows) -> list[dict]:
    """Pool view rows from (series, episode, count) triples."""
    return [{"series_id": s.id, "episode": e, "count": c} for s, e, c in rows]


def pool(pool_id, rows, amount=1000, **extra) -> dict:
    """A revenue pool body over a period inside the demo listing."""
    body = {
        "id": pool_id,
        "kind": "ads",
        "period_start": (T0 + timedelta(hours=1)).isoformat(),
        "period_end": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "amount": amount,
        "currency": "USD",
        "views": rows,
    }
    body.update(extra)
    return body


def cursor_of(raw: bytes) -> str:
    """A catalogue cursor made by hand (the server's own encoding)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def body_with(payload: dict, old: str, new: str) -> bytes:
    """The JSON of a payload with one literal swapped (for what json.dumps cannot write)."""
    raw = json.dumps(payload)
    assert old in raw
    return raw.replace(old, new, 1).encode()


# --- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"events": [\xff]}', "invalid_json"),
        (b'{"events": [{"id": "\xc0\xaf"}]}', "invalid_json"),
        (b"", "invalid_json"),
        (b'{"events": [Infinity]}', "invalid_json"),
        (b'{"events": [-NaN]}', "invalid_json"),
        (b'{"events": []} {"events": []}', "invalid_json"),
        (b'{"events": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}", "invalid_json"),
        (b'{"events": [{"id": "x", "amount": ' + b"9" * 5000 + b"}]}", "invalid_json"),
        (b"null", "invalid_body"),
        (b"[]", "invalid_body"),
        (b'"events"', "invalid_body"),
        (b'{"events": null}', "invalid_body"),
        (b'{"events": {"0": {}}}', "invalid_body"),
    ],
)
def test_malformed_bodies_answer_400_json(make_partner, body, code):
    partner = make_partner()
    response = partner.post("/api/v1/unlocks", None, body=body)
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_numbers_that_are_not_json_integers_are_rejected_one_by_one(
    db, make_partner, make_live_series
):
    partner = make_partner()
    series = make_live_series(partner.app)
    literals = ["49.0", "4.9e1", "true", "1e400", "-0.0", str(10**30), "-0"]
    events = [unlock(f"n{i}", series, amount=777_001) for i in range(len(literals))]
    raw = json.dumps({"events": [unlock("fine", series), *events]})
    for literal in literals:
        raw = raw.replace("777001", literal, 1)
    response = partner.post("/api/v1/unlocks", None, body=raw.encode())
    assert codes(response) == ["accepted"] + ["invalid_event"] * 6 + ["accepted"]
    fields = [r["error"]["field"] for r in response.get_json()["results"][1:7]]
    assert fields == [f"events[{i}].amount" for i in range(1, 7)]
    assert partner.get("/api/v1/events/n6").get_json()["amount"] == 0  # -0 is the integer 0
    for name, value in (("episode", 5.0), ("series_id", True), ("episode", 10**30)):
        answer = partner.post("/api/v1/unlocks", {"events": [unlock("x", series, **{name: value})]})
        assert codes(answer) == ["invalid_event"]
    assert check_ledger(db.session) == []


def test_duplicate_keys_resolve_the_same_way_for_money_and_for_retries(
    db, make_partner, make_live_series
):
    partner = make_partner()
    series = make_live_series(partner.app)
    event = unlock("twice", series, amount=49, occurred_at=an_hour_ago())
    sent = body_with({"events": [event]}, '"amount": 49', '"amount": 49, "amount": 1')
    assert codes(partner.post("/api/v1/unlocks", None, body=sent)) == ["accepted"]
    assert partner.get("/api/v1/events/twice").get_json()["amount"] == 1  # the last key wins
    assert codes(partner.post("/api/v1/unlocks", {"events": [dict(event, amount=1)]})) == [
        "duplicate"
    ]
    assert codes(partner.post("/api/v1/unlocks", {"events": [event]})) == ["conflict"]
    assert check_ledger(db.session) == []


def test_a_bom_and_any_content_type_are_tolerated(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    raw = json.dumps({"events": [unlock("bom", series)]}).encode()
    response = partner.post("/api/v1/unlocks", None, body=b"\xef\xbb\xbf" + raw)
    assert codes(response) == ["accepted"]
    plain = partner.post("/api/v1/unlocks", None, body=raw, headers={"Content-Type": "text/plain"})
    assert codes(plain) == ["duplicate"]


# --- ids, texts, times -------------------------------------------------------------------------


def test_ids_that_need_copy_escaping_round_trip(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    moment = an_hour_ago()
    ids = ["back\\slash\\N", "\\N", 'q"uote{,}', " ", "NULL", "line\u2028sep", "é" * 64, "😀" * 64]
    events = [unlock(i, series, occurred_at=moment, viewer="a\tb\\N\r\nc") for i in ids]
    too_long = unlock("😀" * 65, series)
    assert codes(partner.post("/api/v1/unlocks", {"events": [*events, too_long]})) == [
        "accepted"
    ] * len(ids) + ["invalid_event"]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == ["duplicate"] * len(ids)
    refunds = [{"id": f"r{n}", "unlock_id": i, "occurred_at": moment} for n, i in enumerate(ids)]
    assert codes(partner.post("/api/v1/refunds", {"events": refunds})) == ["accepted"] * len(ids)
    status = partner.get("/api/v1/events/back%5Cslash%5CN").get_json()
    assert status["id"] == "back\\slash\\N" and status["refund_id"] == "r0"
    assert partner.get("/api/v1/events/" + "é" * 64).get_json()["status"] == "refunded"
    assert check_ledger(db.session) == []


def test_same_id_twice_in_one_batch(db, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    moment = an_hour_ago()
    same = unlock("same", series, occurred_at=moment)
    assert codes(partner.post("/api/v1/unlocks", {"events": [same, dict(same)]})) == [
        "accepted",
        "duplicate",
    ]
    other = [unlock("d", series, amount=10, occurred_at=moment), unlock("d", series, amount=20)]
    assert codes(partner.post("/api/v1/unlocks", {"events": other})) == ["accepted", "conflict"]
    free = unlock("free", series, episode=1, occurred_at=moment)
    assert codes(partner.post("/api/v1/unlocks", {"events": [free, dict(free)]})) == [
        "free_episode",
        "free_episode",
    ]
    receivable = ledger_account(db.session, "partner_receivable", "USD", partner.app.id)
    assert get_balance(db.session, receivable.id).posted == 49 + 10  # each id charged once
    assert check_ledger(db.session) == []


def test_occurred_at_variants(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    stamp = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    cases = {
        stamp + ".123456789Z": "accepted",
        stamp.replace("T", "t") + "Z": "accepted",
        stamp: "invalid_event",
        stamp + "+24:00": "invalid_event",
        "2016-12-31T23:59:60Z": "invalid_event",
        "0001-01-01T00:00:00Z": "series_not_live",
        "9999-12-31T23:59:59Z": "occurred_in_future",
    }
    events = [unlock(f"t{n}", series, occurred_at=t) for n, t in enumerate(cases)]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == list(cases.values())


def test_country_currency_and_viewer_limits(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [
        unlock("c1", series, country="us"),
        unlock("c2", series, country="USA"),
        unlock("c3", series, currency="usd"),
        unlock("c4", series, viewer="v" * 200),
        unlock("c5", series, viewer="v" * 201),
        unlock("c6", series, viewer="a\u0000b"),
        unlock("c7", series, country=None),
    ]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == [
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "accepted",
        "invalid_event",
        "invalid_event",
        "invalid_event",
    ]


def test_a_batch_of_1000_passes_and_1001_refunds_are_413(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [unlock(f"k{i}", series, amount=0) for i in range(1000)]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == ["accepted"] * 1000
    refunds = [{"id": f"r{i}"} for i in range(1001)]
    response = partner.post("/api/v1/refunds", {"events": refunds})
    assert response.status_code == 413
    assert error_of(response)["field"] == "events" and "1000" in error_of(response)["message"]


# --- headers and methods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("timestamp", lambda now, key, good: f"{now}.5", "unauthorized"),
        ("timestamp", lambda now, key, good: f"-{now}", "unauthorized"),
        ("timestamp", lambda now, key, good: f"+{now}", "unauthorized"),
        ("timestamp", lambda now, key, good: "9" * 40, "unauthorized"),
        ("timestamp", lambda now, key, good: "999999999999", "stale_timestamp"),
        ("timestamp", lambda now, key, good: "\u0661\u0662\u0663", "unauthorized"),
        ("timestamp", lambda now, key, good: "\u00b2", "unauthorized"),
        ("key", lambda now, key, good: "ck_" + "a" * 5000, "unknown_key"),
        ("key", lambda now, key, good: "ck_\u00e9'\";--", "unknown_key"),
        ("key", lambda now, key, good: key + "x", "unknown_key"),
        ("key", lambda now, key, good: key.upper(), "unknown_key"),
        ("signature", lambda now, key, good: good[:-1], "bad_signature"),
        ("signature", lambda now, key, good: good + "0", "bad_signature"),
        ("signature", lambda now, key, good: "v2=" + "z" * 64, "bad_signature"),
        ("signature", lambda now, key, good: "v2=\u00e9" * 64, "bad_signature"),
        ("signature", lambda now, key, good: "v2=", "bad_signature"),
        # Not v2: refused as such from an app that is not flagged legacy.
        ("signature", lambda now, key, good: "z" * 64, "signature_version"),
        ("signature", lambda now, key, good: "sha256=" + good, "signature_version"),
        ("signature", lambda now, key, good: "\u00e9" * 64, "signature_version"),
        ("signature", lambda now, key, good: good.removeprefix("v2="), "signature_version"),
    ],
)
def test_hostile_signing_headers_are_401(client, make_partner, header, value, code):
    partner = make_partner()
    now = str(int(time.time()))
    good = v2_header(partner.secret, now, "GET", "/api/v1/catalog")
    headers = {"key": partner.key_id, "timestamp": now, "signature": good}
    headers[header] = value(now, partner.key_id, good)
    response = client.get(
        "/api/v1/catalog",
        headers={f"X-Cliffhanger-{name.title()}": sent for name, sent in headers.items()},
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == code


def test_an_uppercase_or_padded_signature_is_accepted(client, make_partner):
    partner = make_partner()
    now = str(int(time.time()))
    good = v2_header(partner.secret, now, "GET", "/api/v1/catalog")
    for sent in (good.upper(), f"  {good} ", "V2=" + good.removeprefix("v2=")):
        headers = {
            "X-Cliffhanger-Key": partner.key_id,
            "X-Cliffhanger-Timestamp": now,
            "X-Cliffhanger-Signature": sent,
        }
        assert client.get("/api/v1/catalog", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/unlocks", "POST"),
        ("PUT", "/api/v1/unlocks", "POST"),
        ("DELETE", "/api/v1/refunds", "POST"),
        ("PATCH", "/api/v1/revenue-pools", "POST"),
        ("POST", "/api/v1/catalog", "GET"),
        ("POST", "/api/v1/events/x", "GET"),
        ("POST", "/api/v1/openapi.json", "GET"),
    ],
)
def test_wrong_methods_are_json_405_with_allow(make_partner, method, path, allowed):
    partner = make_partner()
    response = partner.request(method, path)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert allowed in response.headers["Allow"]


# --- events/{id} and the catalogue -------------------------------------------------------------


def test_event_ids_in_the_path(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    partner.post("/api/v1/unlocks", {"events": [unlock("a/b", series), unlock("a%2Fb", series)]})
    assert partner.get("/api/v1/events/a%2Fb").get_json()["id"] == "a/b"
    assert partner.get("/api/v1/events/a%252Fb").get_json()["id"] == "a%2Fb"
    for path in ("x" * 65, "x" * 10_000, "%00", "a%00b", "%FF", "%ED%A0%80", "é" * 65):
        response = partner.get("/api/v1/events/" + path)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_catalog_parameters_and_cursors_from_elsewhere(make_partner, make_live_series):
    mine, theirs = make_partner(), make_partner()
    first, second = make_live_series(mine.app), make_live_series(mine.app)
    hidden = make_live_series(theirs.app)
    page = mine.get("/api/v1/catalog?limit=1").get_json()
    assert [s["id"] for s in page["series"]] == [first.id]
    borrowed = theirs.get(f"/api/v1/catalog?cursor={page['next_cursor']}").get_json()
    assert {s["id"] for s in borrowed["series"]} <= {hidden.id}  # never my series
    assert second.id not in {s["id"] for s in borrowed["series"]}
    for query in (
        "cursor=garbage",
        "cursor=%C3%A9",
        "cursor=" + cursor_of(b'["2026-01-01T00:00:00", 1]'),  # naive
        "cursor=" + cursor_of(b'["2026-01-01T00:00:00+00:00", true]'),
        "cursor=" + cursor_of(b'{"a": 1}'),
        "cursor=" + cursor_of(b"[NaN, 1]"),
        "updated_since=garbage",
        "updated_since=2026-01-01T00:00:00",
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=1.5",
    ):
        response = mine.get("/api/v1/catalog?" + query)
        assert response.status_code == 400, query
        assert error_of(response)["field"] == query.split("=")[0]


# --- refunds and pools ------------------------------------------------------------------------


def test_refunds_cannot_reach_other_partners_pools_or_refunds(db, make_partner, make_live_series):
    mine, theirs = make_partner(), make_partner()
    series = make_live_series(mine.app)
    moment = an_hour_ago()
    mine.post("/api/v1/unlocks", {"events": [unlock("u1", series, occurred_at=moment)]})
    mine.post("/api/v1/revenue-pools", pool("p1", views((series, 3, 1))))
    stolen = {"id": "r1", "unlock_id": "u1", "occurred_at": moment}
    assert codes(theirs.post("/api/v1/refunds", {"events": [stolen]})) == ["unknown_unlock"]
    first = {"id": "r1", "unlock_id": "u1", "occurred_at": moment}
    assert codes(mine.post("/api/v1/refunds", {"events": [first]})) == ["accepted"]
    attempts = [
        {"id": "r2", "unlock_id": "p1", "occurred_at": moment},
        {"id": "r3", "unlock_id": "r1", "occurred_at": moment},
        {"id": "u1", "unlock_id": "u1", "occurred_at": moment},
    ]
    assert codes(mine.post("/api/v1/refunds", {"events": attempts})) == [
        "unknown_unlock",
        "unknown_unlock",
        "conflict",
    ]
    assert check_ledger(db.session) == []


def test_pools_at_their_edges(db, make_partner, make_live_series):
    partner = make_partner()
    a, b = make_live_series(partner.app), make_live_series(partner.app)
    repeated = pool("dup", views((a, 3, 1), (a, 3, 1), (b, 3, 1)), amount=1001)
    answer = partner.post("/api/v1/revenue-pools", repeated).get_json()
    assert answer["shares"] == [
        {"series_id": a.id, "amount": 667},
        {"series_id": b.id, "amount": 334},
    ]
    reordered = dict(repeated, views=list(reversed(repeated["views"])))
    assert partner.post("/api/v1/revenue-pools", reordered).get_json()["status"] == "duplicate"
    start = (T0 + timedelta(hours=1)).isoformat()
    before = (T0 - timedelta(days=1)).isoformat()
    for body, code in (
        (pool("zero", views((a, 3, 0), (b, 3, 0))), "no_views"),
        (pool("flat", views((a, 3, 1)), period_end=start), "invalid_period"),
        (pool("back", views((a, 3, 1)), period_end=before), "invalid_period"),
    ):
        assert partner.post("/api/v1/revenue-pools", body).get_json()["error"]["code"] == code
    nothing = partner.post("/api/v1/revenue-pools", pool("none", views((a, 3, 0)), amount=0))
    assert nothing.get_json()["status"] == "accepted"
    for body in (
        pool("neg", views((a, 3, -1))),
        pool("many", views((a, 3, 1)) * 10_001),
        pool("float", views((a, 3, 1)), amount=1000.0),
        pool("huge", views((a, 3, 10**13))),
    ):
        response = partner.post("/api/v1/revenue-pools", body)
        assert response.status_code == 400
        assert error_of(response)["code"] == "invalid_body"
    receivable = ledger_account(db.session, "partner_receivable", "USD", partner.app.id)
    assert get_balance(db.session, receivable.id).posted == 1001
    assert check_ledger(db.session) == []


# --- bugs found by the review (fixed) ------------------------------------------------------


@pytest.mark.parametrize("where", ["viewer", "id", "property name"])
def test_a_lone_surrogate_does_not_crash_the_batch(make_partner, make_live_series, where):
    partner = make_partner()
    series = make_live_series(partner.app)
    hostile = {
        "viewer": unlock("s1", series, viewer="\ud800"),
        "id": unlock("\ud800", series),
        "property name": unlock("s3", series) | {"\udfff": 1},
    }[where]
    response = partner.post("/api/v1/unlocks", {"events": [unlock("good", series), hostile]})
    assert response.status_code in {200, 400}
    assert response.is_json


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-32-be"])
def test_a_lone_surrogate_sent_as_raw_bytes_is_invalid_json(
    make_partner, make_live_series, encoding
):
    # Not as a \u escape: as the bytes json.loads decodes with surrogatepass, in each of the
    # encodings it detects.
    partner = make_partner()
    series = make_live_series(partner.app)
    payload = {"events": [unlock("raw", series, viewer="\ud800")]}
    raw = json.dumps(payload, ensure_ascii=False).encode(encoding, "surrogatepass")
    response = partner.post("/api/v1/unlocks", None, body=raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
    assert partner.get("/api/v1/events/raw").status_code == 404


def test_a_rejected_event_whose_id_holds_nul_stands_alone(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [unlock("good", series), unlock("a\u0000b", series)]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == [
        "accepted",
        "invalid_event",
    ]
    assert partner.get("/api/v1/events/good").status_code == 200


@pytest.mark.parametrize("name", ["k" * 100, "a\u0000"])
def test_an_unknown_property_with_a_hostile_name_stands_alone(make_partner, make_live_series, name):
    partner = make_partner()
    series = make_live_series(partner.app)
    events = [unlock("good", series), unlock("odd", series) | {name: 1}]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == [
        "accepted",
        "invalid_event",
    ]
    assert partner.get("/api/v1/events/good").status_code == 200


EDGE_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("moment", EDGE_TIMES)
@pytest.mark.parametrize("endpoint", ["unlocks", "refunds", "revenue-pools", "catalog"])
def test_times_at_the_edge_of_the_calendar_are_refused(
    make_partner, make_live_series, endpoint, moment
):
    partner = make_partner()
    series = make_live_series(partner.app)
    if endpoint == "catalog":
        response = partner.get("/api/v1/catalog?updated_since=" + moment.replace("+", "%2B"))
        assert response.status_code == 400
        return
    if endpoint == "revenue-pools":
        response = partner.post(
            "/api/v1/revenue-pools", pool("p", views((series, 3, 1)), period_start=moment)
        )
        assert response.status_code == 400 and error_of(response)["field"] == "period_start"
        return
    event = (
        unlock("t", series, occurred_at=moment)
        if endpoint == "unlocks"
        else {"id": "t", "unlock_id": "u", "occurred_at": moment}
    )
    response = partner.post(f"/api/v1/{endpoint}", {"events": [event]})
    assert codes(response) == ["invalid_event"]


@pytest.mark.parametrize(
    "raw",
    [
        b'["2026-01-01T00:00:00+00:00", 100000000000000000000000000]',
        b'["0001-01-01T00:00:00+01:00", 1]',
        b"[" * 100_000,
    ],
)
def test_a_tampered_cursor_is_400(make_partner, make_live_series, raw):
    partner = make_partner()
    make_live_series(partner.app)
    response = partner.get("/api/v1/catalog?cursor=" + cursor_of(raw))
    assert response.status_code == 400
    assert error_of(response)["field"] == "cursor"


@pytest.mark.parametrize("limit", ["\u00b2", "1" * 5000])
def test_a_limit_of_odd_digits_is_400(make_partner, limit):
    partner = make_partner()
    response = partner.get("/api/v1/catalog?limit=" + limit)
    assert response.status_code == 400
    assert error_of(response)["field"] == "limit"


@pytest.mark.parametrize("field", ["id", "currency", "country"])
def test_a_trailing_newline_does_not_pass_a_pattern(make_partner, make_live_series, field):
    partner = make_partner()
    series = make_live_series(partner.app)
    value = {"id": "nl\n", "currency": "USD\n", "country": "US\n"}[field]
    response = partner.post("/api/v1/unlocks", {"events": [unlock("e", series, **{field: value})]})
    assert codes(response) == ["invalid_event"]


def test_an_api_path_with_a_newline_answers_json(make_partner):
    partner = make_partner()
    response = partner.get("/api/v1/events/nl%0A")
    assert response.status_code == 404
    assert response.is_json


def test_an_unknown_method_answers_json(make_partner):
    partner = make_partner()
    response = partner.request("TRACE", "/api/v1/unlocks")
    assert response.status_code == 405
    assert response.is_json


def test_options_does_not_advertise_methods_that_answer_405(make_partner):
    partner = make_partner()
    response = partner.request("OPTIONS", "/api/v1/unlocks")
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert not allowed & {"PUT", "PATCH", "DELETE"}


def test_a_chunked_body_over_the_limit_is_413(client, make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    body = json.dumps({"events": [unlock("big", series)]}).encode() + b" " * (3 * 1024 * 1024)
    stamp = str(int(time.time()))
    sig = v2_header(partner.secret, stamp, "POST", "/api/v1/unlocks", body)
    response = client.post(
        "/api/v1/unlocks",
        input_stream=io.BytesIO(body),
        headers={
            "X-Cliffhanger-Key": partner.key_id,
            "X-Cliffhanger-Timestamp": stamp,
            "X-Cliffhanger-Signature": sig,
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.is_json


def test_a_key_with_nul_is_401(make_partner):
    partner = make_partner()
    response = partner.get("/api/v1/catalog", key_id="ck_\u0000x")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unknown_key"


def test_occurred_at_is_rfc_3339(make_partner, make_live_series):
    partner = make_partner()
    series = make_live_series(partner.app)
    moment = datetime.now(UTC) - timedelta(hours=1)
    cases = {
        moment.strftime("%G-W%V-%uT%H:%M:%SZ"): "invalid_event",
        moment.strftime("%Y-%m-%dT%H:%M+00:00"): "invalid_event",
        moment.strftime("%Y-%m-%dT%H:%M:%S+0000"): "invalid_event",
        moment.strftime("%Y-%m-%dT%H:%M:%S+00:00:01"): "invalid_event",
        moment.strftime("%Y-%m-%dT%H:%M:%Sz"): "accepted",
    }
    events = [unlock(f"t{n}", series, occurred_at=t) for n, t in enumerate(cases)]
    assert codes(partner.post("/api/v1/unlocks", {"events": events})) == list(cases.values())
