"""Acceptance 3: other creators get 404; participants see only the series they are on."""

from __future__ import annotations

import io

from marketplace.publishing import services as publishing
from marketplace.splits import invitations
from marketplace.splits import services as splits
from marketplace.studio import series as series_service
from marketplace.studio.storage import MediaStorage
from tests.studio.conftest import MP4, PNG


def make_published(app, db, owner, partner, rows):
    storage = MediaStorage(app.config["MEDIA_ROOT"], app.config["MAX_UPLOAD_BYTES"])
    series = series_service.create_series(db.session, owner, title=f"Series of {owner.email}")
    episode = series_service.add_episode(
        db.session, series, title="One", upload=io.BytesIO(MP4), storage=storage
    )
    series_service.set_poster(db.session, series, io.BytesIO(PNG), storage)
    series_service.set_pricing(db.session, series, free_episodes=1, episode_price=49)
    splits.save_split(db.session, series, owner, rows, platform_fee_bps=1000)
    publishing.publish_series(db.session, series, owner, [partner])
    return series, episode


def test_a_creator_gets_404_for_another_creators_series_and_media(
    app, client, db, login_as, make_creator, make_partner
):
    owner, other = make_creator(), make_creator()
    partner = make_partner()
    series, episode = make_published(
        app,
        db,
        owner,
        partner,
        [{"user": owner, "role": "producer", "credit_name": "O", "bps": 10000}],
    )
    member = splits.current_split(db.session, series).shares[0].member
    listing = series.listings[0]
    login_as(other)
    for path in (
        f"/studio/series/{series.id}",
        f"/studio/series/{series.id}/edit",
        f"/studio/series/{series.id}/pricing",
        f"/studio/series/{series.id}/split",
        f"/studio/series/{series.id}/publish",
        f"/studio/series/{series.id}/episodes/new",
        f"/studio/series/{series.id}/localize",
        f"/studio/episodes/{episode.id}/edit",
        f"/studio/media/{episode.id}",
        f"/studio/posters/{series.id}",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/studio/series/{series.id}/pricing",
        f"/studio/episodes/{episode.id}/delete",
        f"/studio/episodes/{episode.id}/move/down",
        f"/studio/listings/{listing.id}/withdraw",
        f"/studio/members/{member.id}/resend",
    ):
        assert client.post(path, data={"episode_price": "1"}).status_code == 404, path
    assert "Series of" not in client.get("/studio/").get_data(as_text=True)
    db.session.expire_all()
    assert listing.status == "live" and len(series.episodes) == 1
    # The owner can watch and see the poster.
    login_as(owner)
    assert client.get(f"/studio/media/{episode.id}").data == MP4
    assert client.get(f"/studio/posters/{series.id}").mimetype == "image/png"


def test_participants_see_only_their_series_and_no_studio(
    app, client, db, login_as, make_creator, make_participant, make_partner
):
    a, b = make_creator(), make_creator()
    pat, kim = make_participant(), make_participant(email="kim@example.com")
    partner = make_partner()
    on_it, _ = make_published(
        app,
        db,
        a,
        partner,
        [
            {"user": pat, "role": "actor", "credit_name": "Pat", "bps": 6000},
            {"email": kim.email, "role": "writer", "credit_name": "Kim", "bps": 4000},
        ],
    )
    not_on_it, _ = make_published(
        app,
        db,
        b,
        partner,
        [{"user": b, "role": "producer", "credit_name": "B", "bps": 10000}],
    )
    login_as(pat)
    mine = client.get("/earnings/series").get_data(as_text=True)
    assert on_it.title in mine and "60%" in mine and not_on_it.title not in mine
    assert on_it.title in client.get("/earnings/").get_data(as_text=True)
    assert client.get("/studio/").status_code == 403
    assert client.get(f"/studio/series/{on_it.id}").status_code == 403
    # Kim was invited but has not accepted: not on her list until she does.
    login_as(kim)
    assert on_it.title not in client.get("/earnings/series").get_data(as_text=True)
    member = next(
        s.member
        for s in splits.current_split(db.session, on_it).shares
        if s.member.email == kim.email
    )
    invitations.accept_invitation(db.session, invitations.invitation_token(member), kim)
    assert on_it.title in client.get("/earnings/series").get_data(as_text=True)


def test_anonymous_users_are_sent_to_log_in(client, db):
    response = client.get("/studio/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_studio_forms_carry_and_require_a_csrf_token(
    app, client, db, login_as, make_creator, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    creator = login_as(make_creator())
    series = series_service.create_series(db.session, creator, title="Tokens")
    for path in (
        "/studio/series/new",
        f"/studio/series/{series.id}/split",
        f"/studio/series/{series.id}/episodes/new",
        "/studio/import",
    ):
        assert 'name="csrf_token"' in client.get(path).get_data(as_text=True), path
    refused = client.post(f"/studio/series/{series.id}/pricing", data={"episode_price": "1"})
    assert refused.status_code == 400
