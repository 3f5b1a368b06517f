"""Uploads are judged by their whole content: a video must parse (ffprobe) as the container its
first bytes claim, with a playable video stream, and its duration fills the episode's; a poster
must decode (Pillow). A file with the right first bytes and anything else after them (HTML, a
script) is refused and nothing is stored."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from marketplace.studio import series as series_service
from marketplace.studio.models import Episode
from marketplace.studio.storage import MediaStorage
from tests.media import image, video
from tests.studio.conftest import stored_files, upload

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>" * 20
FTYP_THEN_HTML = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + HTML
WEBM_HEAD_THEN_HTML = video("webm")[:64] + HTML
JPEG_MAGIC_THEN_HTML = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + HTML
PNG_MAGIC_THEN_HTML = b"\x89PNG\r\n\x1a\n" + HTML


@pytest.mark.parametrize("content", [FTYP_THEN_HTML, WEBM_HEAD_THEN_HTML, video("mp4")[:400]])
def test_a_video_header_followed_by_anything_else_is_refused(
    app, client, db, login_as, make_creator, content
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Fake")
    before = stored_files(app)
    response = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "Pilot", "media": upload(content, "pilot.mp4")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not a playable video" in response.get_data(as_text=True)
    assert db.session.scalar(select(Episode.id).where(Episode.series_id == series.id)) is None
    assert stored_files(app) == before


@pytest.mark.parametrize("content", [JPEG_MAGIC_THEN_HTML, PNG_MAGIC_THEN_HTML, image("png")[:40]])
def test_an_image_header_followed_by_anything_else_is_not_a_poster(
    app, client, db, login_as, make_creator, content
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Fake")
    before = stored_files(app)
    response = client.post(
        f"/studio/series/{series.id}/edit",
        data={"title": "Fake", "language": "en", "poster": upload(content, "poster.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not a PNG, JPEG or WebP image" in response.get_data(as_text=True)
    db.session.expire_all()
    assert series.poster_path is None and stored_files(app) == before


@pytest.mark.parametrize("kind", ["mp4", "mov", "webm"])
def test_the_videos_duration_and_size_come_from_the_file(client, db, login_as, make_creator, kind):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Real")
    response = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "Pilot", "duration_seconds": "999",
              "media": upload(video(kind, 90, 160, 3), f"pilot.{kind}")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    [episode] = db.session.scalars(select(Episode).where(Episode.series_id == series.id)).all()
    assert (episode.media_type, episode.duration_seconds) == (kind, 3)
    assert (episode.media_width, episode.media_height) == (90, 160)
    assert not episode.landscape


def test_a_landscape_video_is_taken_with_a_warning(client, db, login_as, make_creator):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Wide")
    response = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "Wide", "media": upload(video("mp4", 160, 90, 2), "wide.mp4")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "this video is landscape (160x90)" in response.get_data(as_text=True)


def test_real_posters_of_each_type_are_accepted(app, db, make_creator):
    storage = MediaStorage.from_app()
    for kind in ("png", "jpeg", "webp"):
        stored = storage.save(io.BytesIO(image(kind)), folder="posters/1", kind="image")
        assert (stored.media_type, stored.width, stored.height) == (kind, 60, 90)
        storage.delete(stored.key)
