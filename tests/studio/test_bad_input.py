"""Acceptance 2: bad input gets a clear error and stores nothing."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.splits.models import SplitVersion, TeamMember
from marketplace.studio.models import Episode, Series
from marketplace.studio.series import create_series
from tests.studio.conftest import MP4, PDF, WEBM, stored_files, upload


def test_oversize_upload_is_a_form_error_and_stores_nothing(
    app, client, db, login_as, make_creator, monkeypatch
):
    creator = login_as(make_creator())
    series = create_series(db.session, creator, title="Big")
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1000)
    before = stored_files(app)
    big = MP4 + b"\0" * 2000
    page = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "Too big", "media": upload(big, "big.mp4")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "The file is larger than the 1000 bytes limit." in page.get_data(as_text=True)
    as_json = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"media": upload(big, "big.mp4")},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert as_json.status_code == 422
    assert as_json.get_json()["error"]["field"] == "media"
    # Beyond MAX_CONTENT_LENGTH the request is refused before it is read: still a clear error.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1500)
    refused = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"media": upload(big, "big.mp4")},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert refused.status_code == 413
    assert "larger than the 1000 bytes limit" in refused.get_json()["error"]["message"]
    refused_page = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"media": upload(big, "big.mp4")},
        content_type="multipart/form-data",
    )
    assert refused_page.status_code == 413 and b"Nothing was stored" in refused_page.data
    assert db.session.scalar(select(func.count(Episode.id))) == 0
    assert stored_files(app) == before


def test_renamed_non_video_is_rejected_by_content(app, client, db, login_as, make_creator):
    creator = login_as(make_creator())
    series = create_series(db.session, creator, title="Fake")
    before = stored_files(app)
    page = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "Not a video", "media": upload(PDF, "episode1.mp4")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "not an mp4, mov or webm video" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Episode.id))) == 0
    assert stored_files(app) == before
    # ...while a real webm named .bin is accepted: the content decides.
    ok = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"media": upload(WEBM, "clip.bin")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert series.episodes[0].media_type == "webm"


def test_split_summing_to_9999_names_the_sum(client, db, login_as, make_creator):
    creator = login_as(make_creator())
    series = create_series(db.session, creator, title="Off by one")
    data = {"submit": "Save split"}
    for i, (email, bps) in enumerate([("a@example.com", 5000), ("b@example.com", 4999)]):
        data |= {
            f"rows-{i}-email": email,
            f"rows-{i}-role": "actor",
            f"rows-{i}-credit_name": email[0],
            f"rows-{i}-share": str(Decimal(bps) / 100),
        }
    page = client.post(f"/studio/series/{series.id}/split", data=data)
    assert page.status_code == 422
    assert (
        "Shares add up to 99.99%; they must add up to 100% (0.01% left to give)."
        in page.get_data(as_text=True)
    )
    assert db.session.scalar(select(func.count(SplitVersion.id))) == 0
    assert db.session.scalar(select(func.count(TeamMember.id))) == 0


def test_split_rows_with_bad_role_or_email_are_shown_on_their_row(
    client, db, login_as, make_creator
):
    creator = login_as(make_creator())
    series = create_series(db.session, creator, title="Rows")
    data = {
        "submit": "Save split",
        "rows-0-email": "not-an-email",
        "rows-0-role": "",
        "rows-0-credit_name": "X",
        "rows-0-share": "100",
    }
    page = client.post(f"/studio/series/{series.id}/split", data=data).get_data(as_text=True)
    assert 'id="rows-0-email-error"' in page and 'id="rows-0-role-error"' in page


def test_zero_or_negative_price_is_refused(client, db, login_as, make_creator):
    creator = login_as(make_creator())
    series = create_series(db.session, creator, title="Free?")
    for price in ("0", "-0.49", "0.001"):
        page = client.post(
            f"/studio/series/{series.id}/pricing",
            data={"currency": "USD", "free_episodes": "3", "episode_price": price},
        )
        assert page.status_code == 422, price
        text = page.get_data(as_text=True)
        assert "more than zero" in text or "at most 2 decimal places" in text
    db.session.expire_all()
    assert series.episode_price is None and series.free_episodes == 5


FIVE_PROBLEMS = {
    "title": "",
    "language": "english!",
    "pricing": {"currency": "USD", "free_episodes": 2, "episode_price": 0},
    "split": [
        {"email": "a@example.com", "role": "writer", "credit_name": "A", "bps": 5000},
        {"email": "b@example.com", "role": "actor", "credit_name": "B", "bps": 4999},
    ],
    "episodes": [
        {"title": "One", "duration_seconds": 90, "media": "e1.mp4"},
        {"title": "Two", "duration_seconds": 80, "media": "missing.mp4"},
    ],
}


def test_manifest_with_five_problems_reports_all_and_creates_nothing(
    app, client, db, login_as, make_creator
):
    login_as(make_creator())
    before = stored_files(app)
    page = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(FIVE_PROBLEMS).encode()), "series.json"),
            "files": [upload(MP4, "e1.mp4")],
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "5 problems found; nothing was created" in text
    for where in ("title", "language", "pricing.episode_price", "split", "episodes[1].media"):
        assert f"<strong>{where}</strong>" in text, where
    assert "9,999 basis points" in text and "missing.mp4" in text
    assert db.session.scalar(select(func.count(Series.id))) == 0
    assert db.session.scalar(select(func.count(TeamMember.id))) == 0
    assert stored_files(app) == before


def test_cli_import_reports_the_same_five_problems(app, runner, db, make_creator, tmp_path):
    make_creator(email="owner@example.com")
    (tmp_path / "e1.mp4").write_bytes(MP4)
    (tmp_path / "series.json").write_text(json.dumps(FIVE_PROBLEMS))
    result = runner.invoke(
        args=["studio", "import", str(tmp_path / "series.json"), "--owner", "owner@example.com"]
    )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 5, result.output
    assert db.session.scalar(select(func.count(Series.id))) == 0
