"""Schemathesis against the partner API's own document (GET /api/v1/openapi.json): every
operation, with bodies, paths and query strings generated from the schema and beyond it, each
request signed with v2 as a partner app would sign it. No answer may be a 5xx, and every answer
is JSON. SCHEMATHESIS_EXAMPLES (default 25) is the budget per operation."""

from __future__ import annotations

import json
import os
import time
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from marketplace.ingest.api.openapi import openapi_document
from tests.api.conftest import send_signed

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))


OPERATIONS = sorted(
    (path, method.upper())
    for path, methods in openapi_document()["paths"].items()
    for method in methods
)
"""Every operation of the document (the test loads the document the server serves)."""


def _body(kwargs: dict) -> bytes:
    """The bytes schemathesis would send (JSON, or raw data)."""
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data", b"")
    return data if isinstance(data, bytes) else str(data).encode("utf-8", "surrogatepass")


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_generated_request_makes_the_api_answer_5xx(
    app, client, make_partner, make_live_series, path, method
):
    # schemathesis' pytest plugin does not run under pytest 9 (it sets Function._nodeid):
    # its strategies are driven by hypothesis directly.
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    partner = make_partner()
    make_live_series(partner.app)
    statuses: set[int] = set()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy())
    def check(case):
        kwargs = case.as_transport_kwargs()
        query = kwargs.get("query_string") or {}
        target = kwargs["path"] + ("?" + urlencode(query, doseq=True) if query else "")
        headers = {k: v for k, v in kwargs["headers"].items()
                   if not k.lower().startswith("x-cliffhanger")}  # fmt: skip
        response = send_signed(
            client, partner.key_id, partner.secret, kwargs["method"], target, _body(kwargs),
            stamp=str(int(time.time())), headers=headers,
        )  # fmt: skip
        statuses.add(response.status_code)
        assert response.status_code < 500, (kwargs, response.get_data(as_text=True)[:500])
        assert response.is_json or path == "/docs", response.get_data(as_text=True)[:200]

    check()
    assert statuses - {401}, "every request was refused: the signing is wrong, not the API"
