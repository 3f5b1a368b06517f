"""GET /api/v1/settlements[/{id}]: signed, and each partner app sees only its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketplace.partners.services import rotate_key
from marketplace.settlements.statements import close_period
from tests.api.conftest import send_signed
from tests.settlements.conftest import T0

OCT = datetime(2026, 10, 1, tzinfo=UTC)


def test_a_partner_reads_its_own_statements_only(db, client, make_world):
    world, other = make_world(), make_world()
    world.unlock(T0 + timedelta(days=2), amount=1000, country="BR")
    statement, _ = close_period(db.session, world.partner, T0, now=OCT + timedelta(days=4))
    key_id, secret = rotate_key(db.session, world.partner, None)
    other_key, other_secret = rotate_key(db.session, other.partner, None)
    listed = send_signed(client, key_id, secret, "GET", "/api/v1/settlements")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    [row] = listed.json["settlements"]
    assert (row["id"], row["amount_owed"], row["period"]) == (statement.id, 700, "2026-09")
    assert listed.json["next_before"] is None
    one = send_signed(client, key_id, secret, "GET", f"/api/v1/settlements/{statement.id}")
    assert one.status_code == 200
    assert one.json["lines"][0]["country"] == "BR" and one.json["due_at"].startswith("2026-10-31")
    theirs = send_signed(
        client, other_key, other_secret, "GET", f"/api/v1/settlements/{statement.id}"
    )
    assert theirs.status_code == 404 and theirs.json["error"]["code"] == "not_found"
    assert (
        send_signed(client, other_key, other_secret, "GET", "/api/v1/settlements").json[
            "settlements"
        ]
        == []
    )
    unsigned = client.get("/api/v1/settlements")
    assert unsigned.status_code == 401 and unsigned.json["error"]["code"] == "unauthorized"
    bad = send_signed(client, key_id, "wrong", "GET", "/api/v1/settlements")
    assert bad.status_code == 401 and bad.json["error"]["code"] == "bad_signature"
    query = send_signed(client, key_id, secret, "GET", "/api/v1/settlements?before=x")
    assert query.status_code == 400
