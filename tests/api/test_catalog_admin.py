"""The catalogue (pagination, incremental sync, signed media links), admin pages and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from marketplace.audit import AuditEvent
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import decrypt_secret


def test_catalog_lists_live_series_with_cursor_pagination(db, make_partner, make_live_series):
    partner, other = make_partner(), make_partner()
    mine = [make_live_series(partner.app, title=f"S{i}") for i in range(5)]
    make_live_series(other.app, title="Not mine")
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = partner.get("/api/v1/catalog" + query).get_json()
        seen.extend(page["series"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(s["id"] for s in seen) == sorted(s.id for s in mine)
    first = seen[0]
    assert first["episode_price"] == {"amount": 49, "currency": "USD"}
    assert first["free_episodes"] == 2 and len(first["episodes"]) == 10
    assert first["episodes"][0]["media_url"].startswith("https://cdn.example.test/")
    since = (datetime.now(UTC) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert partner.get(f"/api/v1/catalog?updated_since={since}").get_json()["series"] == []
    assert partner.get("/api/v1/catalog?cursor=bogus").status_code == 400
    assert partner.get("/api/v1/catalog?limit=0").status_code == 400


def test_uploaded_media_are_served_through_signed_links(
    app, db, client, make_partner, make_live_series
):
    partner = make_partner()
    series = make_live_series(partner.app, episodes=1, free=0)
    episode = series.episodes[0]
    from pathlib import Path

    root = Path(app.config["MEDIA_ROOT"])
    key = f"episodes/{series.id}/test.mp4"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    episode.media_url, episode.media_path = None, key
    db.session.flush()
    link = partner.get("/api/v1/catalog").get_json()["series"][0]["episodes"][0]["media_url"]
    assert "/api/v1/media/" in link
    response = client.get(link.split("localhost", 1)[1])
    assert response.status_code == 200
    assert response.data.startswith(b"\x00\x00\x00\x18ftyp")
    assert client.get("/api/v1/media/forged-token").status_code == 404


def test_a_media_link_stops_when_its_series_leaves_that_partner_app(
    app, db, client, make_partner, make_live_series
):
    from pathlib import Path

    from marketplace.ingest.api.catalog import media_signer
    from marketplace.publishing.services import withdraw_listing
    from marketplace.studio.models import Listing

    partner, other = make_partner(), make_partner()
    series = make_live_series(partner.app, episodes=1, free=0)
    episode = series.episodes[0]
    key = f"episodes/{series.id}/test.mp4"
    path = Path(app.config["MEDIA_ROOT"]) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    episode.media_url, episode.media_path = None, key
    db.session.flush()
    link = partner.get("/api/v1/catalog").get_json()["series"][0]["episodes"][0]["media_url"]
    link = link.split("localhost", 1)[1]
    with app.app_context():
        elsewhere = media_signer().dumps(["e", episode.id, other.app.id])
        unbound = media_signer().dumps(["e", episode.id])  # signed before links named an app
    assert client.get(link).status_code == 200
    assert client.get(f"/api/v1/media/{elsewhere}").status_code == 410  # never listed there
    listing = db.session.query(Listing).filter_by(series_id=series.id).one()
    withdraw_listing(db.session, listing, None)
    db.session.flush()
    gone = client.get(link)
    assert gone.status_code == 410 and gone.get_json()["error"]["code"] == "withdrawn"
    assert client.get(f"/api/v1/media/{unbound}").status_code == 200  # until it expires


def test_admin_creates_a_partner_and_sees_the_secret_once(db, client, login_as, make_admin):
    login_as(make_admin())
    assert client.get("/admin/partners").status_code == 200
    response = client.post(
        "/admin/partners",
        data={"name": "ReelBox", "currency": "usd", "share_bps": 3000, "hold_days": 7},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    partner = db.session.query(PartnerApp).filter_by(name="ReelBox").one()
    key = partner.keys[0]
    secret = decrypt_secret(key.secret_encrypted)
    assert secret in html and key.key_id in html
    assert secret not in key.secret_encrypted
    listing = client.get("/admin/partners").get_data(as_text=True)
    assert key.key_id in listing and secret not in listing
    rotated = client.post(f"/admin/partners/{partner.id}/rotate").get_data(as_text=True)
    assert "24 hours" in rotated
    actions = [a.action for a in db.session.query(AuditEvent).filter_by(subject_id=str(partner.id))]
    assert actions == ["partner.create", "partner.rotate_key"]
    db.session.expire_all()
    assert partner.keys[0].expires_at is not None


def test_admin_partner_form_errors_and_access(db, client, login_as, make_admin, make_creator):
    login_as(make_admin())
    response = client.post(
        "/admin/partners", data={"name": "X", "currency": "QQQ", "share_bps": 3000, "hold_days": 7}
    )
    assert "not a currency we know" in response.get_data(as_text=True)
    login_as(make_creator())
    assert client.get("/admin/partners").status_code == 403


def test_cli_creates_a_partner(runner, db):
    result = runner.invoke(
        args=[
            "partners",
            "create",
            "--name",
            "DramaBox",
            "--currency",
            "USD",
            "--share-bps",
            "3000",
            "--hold-days",
            "7",
        ]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert set(printed) == {"id", "key_id", "secret"}
    partner = db.session.get(PartnerApp, printed["id"])
    assert decrypt_secret(partner.keys[0].secret_encrypted) == printed["secret"]
    again = runner.invoke(args=["partners", "create", "--name", "DramaBox", "--share-bps", "1"])
    assert again.exit_code != 0


def test_incremental_sync_reports_withdrawn_series(db, make_partner, make_live_series):
    from marketplace.publishing.services import withdraw_listing

    partner = make_partner()
    kept, dropped = make_live_series(partner.app, title="Kept"), make_live_series(partner.app)
    first_sync = datetime.now(UTC) - timedelta(seconds=1)
    full = partner.get("/api/v1/catalog").get_json()["series"]
    assert {s["id"]: s["status"] for s in full} == {kept.id: "live", dropped.id: "live"}
    (listing,) = dropped.listings
    withdraw_listing(db.session, listing, None)
    since = first_sync.isoformat().replace("+00:00", "Z")
    changes = partner.get(f"/api/v1/catalog?updated_since={since}").get_json()["series"]
    tombstone = next(s for s in changes if s["id"] == dropped.id)
    assert tombstone["status"] == "withdrawn" and "title" not in tombstone
    assert tombstone["withdrawn_at"] == tombstone["updated_at"]
    assert [s["id"] for s in partner.get("/api/v1/catalog").get_json()["series"]] == [kept.id]
    later = (listing.withdrawn_at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert partner.get(f"/api/v1/catalog?updated_since={later}").get_json()["series"] == []


def test_an_admin_revokes_a_leaked_key_at_once(db, client, login_as, make_admin, make_partner):
    partner = make_partner()
    admin = login_as(make_admin())
    page = client.get("/admin/partners").get_data(as_text=True)
    assert "Revoke now" in page and partner.key_id in page
    path = f"/admin/partners/{partner.app.id}/revoke"
    assert client.post(path, data={"key_id": partner.key_id, "reason": ""}).status_code == 302
    assert partner.get("/api/v1/catalog").status_code == 200  # no reason, nothing revoked
    other = make_partner()
    wrong = client.post(path, data={"key_id": other.key_id, "reason": "not this app's key"})
    assert wrong.status_code == 404
    done = client.post(path, data={"key_id": partner.key_id, "reason": "posted in a forum"})
    assert done.status_code == 302
    assert partner.get("/api/v1/catalog").status_code == 401
    assert other.get("/api/v1/catalog").status_code == 200
    audit = db.session.query(AuditEvent).filter_by(action="partner.revoke_key").one()
    assert (audit.actor_id, audit.reason) == (admin.id, "posted in a forum")
    assert "revoked" in client.get("/admin/partners").get_data(as_text=True)


def test_cli_revokes_a_key_and_rotates_with_a_grace_period(runner, db, make_partner):
    partner = make_partner()
    rotated = runner.invoke(args=["partners", "rotate-key", "--name", partner.app.name,
                                  "--grace-hours", "0"])  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert partner.get("/api/v1/catalog").status_code == 401  # no grace: the old key stopped
    new_key = json.loads(rotated.output)["key_id"]
    result = runner.invoke(args=["partners", "revoke-key", "--key-id", new_key,
                                 "--reason", "leaked"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["key_id"] == new_key
    again = runner.invoke(args=["partners", "revoke-key", "--key-id", new_key, "--reason", "x"])
    assert again.exit_code == 1 and "revoked already" in again.output
    unknown = runner.invoke(args=["partners", "revoke-key", "--key-id", "ck_nope", "--reason", "x"])
    assert unknown.exit_code == 1
