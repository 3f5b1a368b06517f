"""Acceptance 1: from sign-up to a published series with three participants, one of them
invited by email and accepting through the emailed link."""

from __future__ import annotations

import json

from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.audit import AuditEvent
from marketplace.splits.models import SplitVersion, TeamMember
from marketplace.studio.models import Series
from tests.helpers import signup_link_path, split_form
from tests.studio.conftest import MP4, invitation_path, upload

PASSWORD = "a long enough password"


def signup(client, db, email, role, next_path=None):
    """Sign up, then follow the emailed link: the answer of the link's button."""
    url = "/auth/signup" + (f"?next={next_path}" if next_path else "")
    sent = client.post(
        url,
        data={"email": email, "password": PASSWORD, "confirm": PASSWORD, "role": role},
    )
    assert sent.status_code == 200 and "Check your email" in sent.get_data(as_text=True)
    return client.post(signup_link_path(db, email))


def test_signup_to_published_series_with_an_invited_participant(
    app, client, db, runner, make_participant, make_partner
):
    writer = make_participant(email="sam@example.com")
    partner = make_partner("ReelBox")

    # A creator signs up and creates a series.
    assert signup(client, db, "maya@example.com", "creator").status_code == 302
    response = client.post(
        "/studio/series/new",
        data={
            "title": "Vows at Midnight",
            "language": "en",
            "genres": "romance, drama",
            "currency": "USD",
        },
    )
    assert response.status_code == 302
    series = db.session.scalar(select(Series).where(Series.title == "Vows at Midnight"))
    assert series.genres == ["romance", "drama"] and series.status == "draft"

    # Not publishable yet: the page says why.
    page = client.get(f"/studio/series/{series.id}/publish").get_data(as_text=True)
    assert "Add at least one episode with a video." in page

    # Two episodes: an upload (by XHR, as the progress bar sends it) and a hosted link.
    response = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "The ring", "duration_seconds": "95", "media": upload(MP4, "e1.mp4")},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 200
    assert response.get_json()["redirect"] == f"/studio/series/{series.id}"
    client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "The veil", "media_url": "https://cdn.example.com/e2.mp4"},
    )
    db.session.expire_all()
    assert [(e.number, e.media_type) for e in series.episodes] == [(1, "mp4"), (2, None)]
    media = client.get(f"/studio/media/{series.episodes[0].id}")
    assert media.status_code == 200 and media.data == MP4 and media.mimetype == "video/mp4"

    # Pricing: typed in dollars, kept in cents.
    response = client.post(
        f"/studio/series/{series.id}/pricing",
        data={
            "currency": "USD",
            "free_episodes": "1",
            "episode_price": "0.49",
            "bundle_price": "9.99",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (series.episode_price, series.bundle_price) == (49, 999)

    # Split: the creator herself, an existing user, and a newcomer invited by email.
    response = client.post(
        f"/studio/series/{series.id}/split",
        data=split_form(
            [
                ("maya@example.com", "producer", "Maya R.", 4000),
                ("sam@example.com", "writer", "Sam W.", 3500),
                ("Alex.Actor@Example.com", "actor", "Alex A.", 2500),
            ]
        ),
    )
    assert response.status_code == 302
    page = client.get(f"/studio/series/{series.id}/split").get_data(as_text=True)
    assert "10%" in page  # the platform fee is shown
    assert page.count("invited, expires on") == 2 and "Re-send" in page
    version = db.session.scalar(select(SplitVersion).where(SplitVersion.series_id == series.id))
    assert version.platform_fee_bps == app.config["PLATFORM_FEE_BPS"]
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "split.change")
    ).subject_id == str(series.id)

    # The newcomer follows the emailed link, signs up from it and accepts.
    link = invitation_path(db, "alex.actor@example.com")
    client.post("/auth/logout")
    page = client.get(link).get_data(as_text=True)
    assert "alex.actor@example.com" in page and "Sign up" in page
    response = signup(client, db, "alex@elsewhere.example", "participant", next_path=link)
    assert response.status_code == 302 and response.headers["Location"] == link
    response = client.post(link + "/accept")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/earnings/series")
    mine = client.get("/earnings/series").get_data(as_text=True)
    assert "Vows at Midnight" in mine and "actor" in mine and "25%" in mine
    alex = db.session.scalar(select(User).where(User.email == "alex@elsewhere.example"))
    member = db.session.scalar(
        select(TeamMember).where(TeamMember.email == "alex.actor@example.com")
    )
    assert member.user_id == alex.id and member.accepted
    # The link cannot be used twice.
    assert "has been accepted" in client.get(link).get_data(as_text=True)

    # Back as the creator: statuses, then publish.
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": "maya@example.com", "password": PASSWORD})
    page = client.get(f"/studio/series/{series.id}/split").get_data(as_text=True)
    assert page.count("invited, expires on") == 1  # Sam has not accepted yet: escrow
    response = client.post(f"/studio/series/{series.id}/publish", data={"partners": [partner.id]})
    assert response.status_code == 302
    db.session.expire_all()
    assert series.status == "published"
    assert [(lst.partner.name, lst.status) for lst in series.listings] == [("ReelBox", "live")]
    page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert "ReelBox" in page and "withdraw" in page and "$0.49 per episode" in page
    for path in (
        "/studio/",
        f"/studio/episodes/{series.episodes[0].id}/edit",
        f"/studio/series/{series.id}/pricing",
        f"/studio/series/{series.id}/edit",
    ):
        assert client.get(path).status_code == 200, path

    # The CLI shows the same state.
    result = runner.invoke(args=["series", "show", str(series.id), "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    people = {p["email"]: p for p in shown["split"]["participants"]}
    assert shown["split"]["platform_fee_bps"] == 1000
    assert people["alex.actor@example.com"]["user_id"] == alex.id
    assert people["alex.actor@example.com"]["accepted"] is True
    assert people["sam@example.com"] | {"member_id": 0} == {
        "member_id": 0,
        "user_id": None,
        "email": "sam@example.com",
        "role": "writer",
        "credit_name": "Sam W.",
        "bps": 3500,
        "accepted": False,
    }
    assert people["maya@example.com"]["accepted"] is True
    assert shown["listings"][0]["status"] == "live" and shown["listings"][0]["live_at"]
    assert writer.id  # an existing account, still invited (it must accept too)

    # Withdrawing stops the listing (the partner API refuses new unlocks for it).
    response = client.post(f"/studio/listings/{series.listings[0].id}/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    assert series.listings[0].status == "withdrawn" and series.listings[0].withdrawn_at
    assert series.status == "withdrawn"
