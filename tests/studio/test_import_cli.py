"""Bulk import (CSV episodes, files next to the manifest), `flask studio publish`, and
localized versions with the original's writers offered as the default split."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from marketplace.splits import services as splits
from marketplace.studio import series as series_service
from marketplace.studio.models import Series
from tests.studio.conftest import MOV, MP4, PNG, stored_files, upload

MANIFEST = {
    "title": "Contract Bride",
    "synopsis": "She signed. He lied.",
    "language": "en",
    "genres": ["romance"],
    "tags": ["billionaire"],
    "poster": "poster.png",
    "pricing": {"currency": "USD", "free_episodes": 1, "episode_price": 49, "bundle_price": 999},
    "split": [
        {"email": "owner@example.com", "role": "producer", "credit_name": "O", "bps": 6000},
        {"email": "writer@example.com", "role": "writer", "credit_name": "W", "bps": 4000},
    ],
    "episodes": "episodes.csv",
    "publish_to": ["ReelBox"],
}
CSV = "title,duration_seconds,media\nPilot,90,e1.mp4\nTwist,85,e2.mov\nHosted,,https://cdn.example.com/3.mp4\n"


def test_cli_import_publish_and_show(app, runner, db, make_creator, make_partner, tmp_path):
    make_creator(email="owner@example.com")
    make_partner("ReelBox")
    make_partner("DramaPlus", currency="EUR", share_bps=3500)
    (tmp_path / "media").mkdir()
    (tmp_path / "e1.mp4").write_bytes(MP4)
    (tmp_path / "e2.mov").write_bytes(MOV)
    (tmp_path / "poster.png").write_bytes(PNG)
    (tmp_path / "episodes.csv").write_text(CSV)
    (tmp_path / "series.json").write_text(json.dumps(MANIFEST))
    result = runner.invoke(
        args=["studio", "import", str(tmp_path / "series.json"), "--owner", "owner@example.com"]
    )
    assert result.exit_code == 0, result.output
    series_id = json.loads(result.output)["series_id"]
    shown = json.loads(
        runner.invoke(args=["series", "show", str(series_id), "--format", "json"]).output
    )
    assert [e["media_type"] for e in shown["episodes"]] == ["mp4", "mov", None]
    assert shown["episodes"][2]["media_url"] == "https://cdn.example.com/3.mp4"
    assert shown["pricing"]["bundle_price"] == 999 and shown["status"] == "published"
    assert [p["accepted"] for p in shown["split"]["participants"]] == [True, False]
    assert [lst["partner"] for lst in shown["listings"]] == ["ReelBox"]

    result = runner.invoke(args=["studio", "publish", str(series_id), "--partner", "DramaPlus"])
    assert result.exit_code == 0, result.output
    assert {lst["partner"] for lst in json.loads(result.output)["listings"]} == {
        "ReelBox",
        "DramaPlus",
    }
    bad = runner.invoke(args=["studio", "publish", str(series_id), "--partner", "Nope"])
    assert bad.exit_code == 1 and "Nope" in bad.output


def test_csv_problems_name_their_line(app, client, db, login_as, make_creator):
    login_as(make_creator())
    manifest = dict(MANIFEST, publish_to=[], split=None)
    manifest.pop("poster")
    csv_text = "title,duration_seconds,media\nPilot,ninety,e1.mp4\nTwist,85,e2.mov\n"
    before = stored_files(app)
    page = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(manifest).encode()), "m.json"),
            "files": [upload(csv_text.encode(), "episodes.csv"), upload(MP4, "e1.mp4")],
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "episodes.csv line 2: duration_seconds" in page
    assert "episodes.csv line 3: media" in page and "e2.mov" in page
    assert stored_files(app) == before


def test_web_import_creates_the_series(app, client, db, login_as, make_creator):
    creator = login_as(make_creator(email="maker@example.com"))
    manifest = dict(MANIFEST, publish_to=[], episodes=[{"title": "One", "media": "e1.mp4"}])
    manifest["split"] = [
        {"email": creator.email, "role": "producer", "credit_name": "C", "bps": 10000}
    ]
    response = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(manifest).encode()), "m.json"),
            "files": [upload(MP4, "e1.mp4"), upload(PNG, "poster.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    series = db.session.scalar(select(Series).where(Series.title == "Contract Bride"))
    assert series.owner_id == creator.id and series.poster_path.endswith(".png")


def test_localized_version_offers_the_original_writers(client, db, login_as, make_creator):
    owner = login_as(make_creator())
    original = series_service.create_series(db.session, owner, title="Vows")
    splits.save_split(
        db.session,
        original,
        owner,
        [
            {"email": "w1@example.com", "role": "writer", "credit_name": "Writer One", "bps": 3000},
            {"email": "a1@example.com", "role": "actor", "credit_name": "Actor One", "bps": 7000},
        ],
        platform_fee_bps=1000,
    )
    response = client.post(f"/studio/series/{original.id}/localize", data={"language": "es"})
    assert response.status_code == 302
    spanish = db.session.scalar(select(Series).where(Series.original_series_id == original.id))
    assert spanish.language == "es" and spanish.episodes == []
    page = client.get(f"/studio/series/{spanish.id}/split").get_data(as_text=True)
    assert "Writer One" in page and "Actor One" not in page
    assert "Vows (es)" in client.get(f"/studio/series/{original.id}").get_data(as_text=True)


def test_reorder_and_replace_episodes(app, client, db, login_as, make_creator):
    owner = login_as(make_creator())
    series = series_service.create_series(db.session, owner, title="Order")
    for n in (1, 2, 3):
        series_service.add_episode(
            db.session, series, title=f"E{n}", media_url=f"https://cdn.example.com/{n}.mp4"
        )
    ids = [e.id for e in series.episodes]
    assert client.post(f"/studio/episodes/{ids[2]}/move/up").status_code == 302
    db.session.expire_all()
    assert [e.title for e in series.episodes] == ["E1", "E3", "E2"]
    response = client.post(
        f"/studio/episodes/{ids[0]}/edit",
        data={"title": "E1 new cut", "media": upload(MP4, "cut.mp4")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    first = series.episodes[0]
    assert first.title == "E1 new cut" and first.media_type == "mp4" and first.media_url is None
    assert client.post(f"/studio/episodes/{ids[1]}/delete").status_code == 302
    db.session.expire_all()
    assert [(e.number, e.title) for e in series.episodes] == [(1, "E1 new cut"), (2, "E3")]
