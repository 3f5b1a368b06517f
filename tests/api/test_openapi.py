"""The OpenAPI document is served, drives validation, and fuzzing it finds no 5xx."""

from __future__ import annotations

import json

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import limiter
from marketplace.ingest.api.openapi import SCHEMAS, openapi_document
from marketplace.ingest.api.validation import validate
from tests.api.schema_strategies import strategy_for


def resolved(name):
    """A component schema with its refs inlined (for jsonschema and hypothesis-jsonschema)."""
    return {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}


def test_the_document_is_served_and_the_docs_page_renders_it(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document == json.loads(json.dumps(openapi_document()))
    assert set(document["paths"]) == {
        "/catalog",
        "/unlocks",
        "/refunds",
        "/revenue-pools",
        "/coin-unlocks",
        "/bundles",
        "/purchases",
        "/views",
        "/events/{id}",
        "/settlements",
        "/settlements/{id}",
        "/settlements/reports",
        "/settlements/reports/{id}",
    }
    for batch in ("UnlockBatch", "CoinUnlockBatch", "BundleBatch", "PurchaseBatch", "ViewBatch"):
        jsonschema.Draft202012Validator.check_schema(resolved(batch))
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path in document["paths"]:
        assert path in html
    assert "free_episode" in html and "X-Cliffhanger-Signature" in html


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        strategy_for(SCHEMAS["UnlockEvent"]),
        strategy_for(SCHEMAS["RefundEvent"]),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "series_id",
                    "episode",
                    "amount",
                    "currency",
                    "occurred_at",
                    "country",
                    "viewer",
                    "unlock_id",
                    "x",
                ]
            ),
            st.one_of(st.integers(-5, 10**13), st.text(max_size=70), st.none(), st.booleans()),
        ),
    )
)
def test_compiled_validators_agree_with_jsonschema(value):
    for name in ("UnlockEvent", "RefundEvent"):
        ours = validate(name, value) is None
        theirs = jsonschema.Draft202012Validator(resolved(name)).is_valid(value)
        if ours != theirs:
            # Ours is stricter only on date-time strings (RFC 3339 with an offset) and on a
            # pattern's final "$" before a trailing newline: JSON Schema's "$" (ECMA-262) is the
            # very end, but jsonschema uses Python's re, whose "$" also matches before a final
            # "\n" (so it accepts "USD\n" for ^[A-Z]{3}$).
            assert theirs and not ours
            field = validate(name, value)[0]
            assert field == "occurred_at" or value[field].endswith("\n")


def _body_strategy():
    return st.one_of(
        strategy_for(SCHEMAS["UnlockBatch"]),
        strategy_for(SCHEMAS["RefundBatch"]),
        strategy_for(SCHEMAS["RevenuePool"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        ),
    )


def test_fuzzing_every_endpoint_from_the_document_finds_no_5xx(make_partner, make_live_series):
    partner = make_partner()
    make_live_series(partner.app)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=_body_strategy(),
        path=st.sampled_from(["/unlocks", "/refunds", "/revenue-pools"]),
        event_id=st.text(min_size=1, max_size=70).filter(
            lambda s: "/" not in s and "?" not in s and "#" not in s
        ),
        cursor=st.one_of(st.none(), st.text(max_size=20)),
    )
    def check(body, path, event_id, cursor):
        limiter.reset()  # this test is about 5xx; 429 has tests of its own
        response = partner.post("/api/v1" + path, body)
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.is_json
        response = partner.get("/api/v1/events/" + event_id)
        assert response.status_code in (200, 404)
        query = (
            ""
            if cursor is None
            else "?" + "&".join([f"cursor={cursor}", f"updated_since={cursor}", f"limit={cursor}"])
        )
        response = partner.get("/api/v1/catalog" + query)
        assert response.status_code < 500 and response.is_json

    check()
