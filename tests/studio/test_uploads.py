"""Uploads as the upload script sends them: the JSON answer names the episode and the
duration read from the file; a bulk upload's files add episodes in order without a flash per
file; the series page offers the bulk uploader and shows durations and the poster."""

from __future__ import annotations

import pytest

from marketplace.studio.models import Series
from marketplace.studio.storage import duration_text
from tests.media import HAVE_FFMPEG
from tests.studio.conftest import MP4, PNG, upload

XHR = {"X-Requested-With": "XMLHttpRequest"}


def test_duration_text_reads_like_a_clock():
    assert [duration_text(s) for s in (None, 0, 5, 95, 3600, 3723)] == [
        "",
        "",
        "0:05",
        "1:35",
        "1:00:00",
        "1:02:03",
    ]


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg for real videos")
def test_bulk_files_become_episodes_in_order_with_their_durations(
    db, client, login_as, make_creator
):
    owner = login_as(make_creator())
    series = Series(owner_id=owner.id, title="Rooftops", currency="USD")
    db.session.add(series)
    db.session.flush()
    url = f"/studio/series/{series.id}/episodes/new"
    answers = []
    for name in ("ep1.mp4", "ep2.mp4"):
        response = client.post(
            url,
            data={"bulk": "1", "title": name[:-4], "media": upload(MP4, name)},
            content_type="multipart/form-data",
            headers=XHR,
        )
        assert response.status_code == 200
        answers.append(response.get_json()["episode"])
    # The file's own duration (2 s, read by ffprobe), typed or not.
    assert [(a["number"], a["title"], a["duration"]) for a in answers] == [
        (1, "ep1", "0:02"),
        (2, "ep2", "0:02"),
    ]
    page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert "added." not in page  # no flash per bulk file: the uploader lists them
    assert page.count("<span data-duration>0:02</span>") == 2
    assert "data-bulk-upload hidden" in page and 'multiple accept="video/mp4' in page
    assert "/static/js/upload.js" in page

    # A single upload still confirms with a flash.
    client.post(url, data={"media": upload(MP4, "ep3.mp4")}, content_type="multipart/form-data")
    page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert "Episode 3 added." in page


def test_the_episode_form_offers_a_cancel_button(db, client, login_as, make_creator):
    owner = login_as(make_creator())
    series = Series(owner_id=owner.id, title="Rooftops", currency="USD")
    db.session.add(series)
    db.session.flush()
    page = client.get(f"/studio/series/{series.id}/episodes/new").get_data(as_text=True)
    assert "data-cancel hidden>Cancel upload</button>" in page


def test_posters_show_on_the_studio_and_series_pages(db, client, login_as, make_creator):
    owner = login_as(make_creator())
    series = Series(owner_id=owner.id, title="Posters", language="en", currency="USD")
    db.session.add(series)
    db.session.flush()
    response = client.post(
        f"/studio/series/{series.id}/edit",
        data={
            "title": "Posters",
            "language": "en",
            "currency": "USD",
            "poster": upload(PNG, "p.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    poster = f'src="/studio/posters/{series.id}"'
    assert poster in client.get("/studio/").get_data(as_text=True)
    assert poster in client.get(f"/studio/series/{series.id}").get_data(as_text=True)
