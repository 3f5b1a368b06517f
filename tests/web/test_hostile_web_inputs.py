"""Hostile input the web pages met in the attack of the issue, each a 4xx now (never 500): NUL in
text (PostgreSQL refuses it), 40-digit numbers in query strings and URLs, a 50,000-deep
manifest, a CSV field past the csv module's limit, forms posted without some of their fields.
tests/web/test_fuzz_routes.py covers every route the same way."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from marketplace.studio import series as series_service
from marketplace.studio.models import Series

HUGE = "9" * 40


def import_manifest(client, manifest: bytes, *files):
    data = {"manifest": (io.BytesIO(manifest), "series.json")}
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/studio/import", data=data, content_type="multipart/form-data")


def test_nul_in_any_form_field_or_parameter_is_400(client, db, login_as, make_creator):
    creator = login_as(make_creator())
    series = series_service.create_series(db.session, creator, title="Clean")
    attempts = [
        (f"/studio/series/{series.id}/edit", {"title": "A\x00B", "language": "en"}),
        ("/studio/series/new", {"title": "Nul\x00", "language": "en", "currency": "USD"}),
        ("/auth/login", {"email": "a\x00@example.com", "password": "x"}),
    ]
    for path, data in attempts:
        assert client.post(path, data=data).status_code == 400, path
    assert client.get("/studio/?q=\x00").status_code == 400
    db.session.expire_all()
    assert db.session.get(Series, series.id).title == "Clean"


def test_forty_digit_numbers_in_urls_and_query_strings_are_4xx(client, db, login_as, cast):
    login_as(cast.admin)
    for path in (f"/admin/payouts/{HUGE}", f"/admin/ledger/accounts?page={HUGE}",
                 f"/admin/audit?page={HUGE}", f"/admin/ledger/adjust?account_id={HUGE}",
                 f"/admin/ledger/accounts/{HUGE}", f"/admin/ledger?page=-{HUGE}"):  # fmt: skip
        assert client.get(path).status_code < 500, path
    login_as(cast.creator)
    assert client.get(f"/studio/series/{HUGE}").status_code == 404
    assert client.get(f"/studio/series/{cast.series.id}/dashboard?days={HUGE}").status_code < 500
    login_as(cast.participant)
    answer = client.get(f"/earnings/statement/lines?month=2026-01&currency=USD&line=earning"
                        f"&series_id={HUGE}&episode={HUGE}&partner_id={HUGE}&kind=unlock")
    assert answer.status_code < 500


def test_a_deeply_nested_manifest_is_refused(client, db, login_as, make_creator):
    login_as(make_creator())
    deep = b'{"title": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = import_manifest(client, deep)
    assert response.status_code == 422
    assert "nested too deeply" in response.get_data(as_text=True)


def test_a_csv_field_over_the_limit_is_refused(client, db, login_as, make_creator):
    login_as(make_creator())
    before = db.session.scalar(select(func.count()).select_from(Series))
    csv_text = b"title,media\n" + b'"' + b"x" * 200_000 + b'",https://cdn.example.test/1.mp4\n'
    manifest = json.dumps({"title": "Big", "episodes": "episodes.csv"}).encode()
    response = import_manifest(client, manifest, ("episodes.csv", csv_text))
    assert response.status_code == 422
    assert "cannot be read" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Series)) == before


@pytest.mark.parametrize("missing", ["currency", "free_episodes", "episode_price"])
def test_a_form_posted_without_some_fields_is_a_form_error(client, db, login_as, cast, missing):
    login_as(cast.creator)
    form = {"currency": "USD", "free_episodes": "1", "episode_price": "0.49"}
    del form[missing]
    response = client.post(f"/studio/series/{cast.series.id}/pricing", data=form)
    assert response.status_code in (302, 422)


def test_mail_headers_hold_no_line_breaks(db):
    from email.message import EmailMessage

    from marketplace.mail import queue_mail

    message = queue_mail(db.session, to="a@example.com\r\nBcc: all@example.com",
                         subject="You are invited to \"Night\r\nBcc: x@evil.example\" " + "y" * 300,
                         body="hello")  # fmt: skip
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "\n" not in message.to_address and len(message.subject) == 200
    email = EmailMessage()
    email["Subject"] = message.subject  # raised ValueError (CR/LF in a header) before
    email["To"] = message.to_address
    assert email["Bcc"] is None
