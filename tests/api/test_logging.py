"""The partner API's errors and batches are traceable in the logs by request id."""

import logging

from marketplace.logs import RequestIdFilter
from tests.api.conftest import unlock


def test_an_api_error_body_carries_the_request_id_of_its_response(make_partner):
    partner = make_partner()
    response = partner.post("/api/v1/unlocks", None, body=b"{not json")
    assert response.status_code == 400
    assert response.json["error"]["request_id"] == response.headers["X-Request-Id"]


def test_each_batch_logs_its_outcomes_with_the_request_id(
    db, make_partner, make_live_series, caplog
):
    partner = make_partner(name="LogApp")
    series = make_live_series(partner.app)
    first = unlock("log-1", series)
    partner.post("/api/v1/unlocks", {"events": [first]})
    events = [first, unlock("log-2", series), unlock("log-3", series, episode=1)]
    caplog.clear()
    caplog.handler.addFilter(RequestIdFilter())  # as the app's configured handler does
    with caplog.at_level(logging.INFO, logger="marketplace.ingest"):
        response = partner.post(
            "/api/v1/unlocks", {"events": events}, headers={"X-Request-Id": "req-77"}
        )
    assert response.status_code == 200
    [line] = [r for r in caplog.records if r.name == "marketplace.ingest"]
    assert line.getMessage() == "unlock batch from LogApp: 1 accepted, 1 duplicate, 1 rejected"
    assert line.rejections == {"free_episode": 1}
    assert line.request_id == "req-77"
