"""Review of the creator studio at its edges: uploads, numbering, pricing and splits after
publication, invitations, localized versions and the all-or-nothing manifest import.

Tests marked xfail(strict=True) show a bug that is still there (the reason names it); the others
pin behaviour that was checked and found right.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger.balances import get_balance
from marketplace.chart import ledger_account
from marketplace.errors import ServiceError
from marketplace.ingest.api.catalog import catalog_page
from marketplace.ingest.poster import post_pending
from marketplace.ingest.revenue import split_version_at
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.mail import OutboxMessage
from marketplace.publishing import services as publishing
from marketplace.publishing.manifest import import_manifest
from marketplace.splits import invitations
from marketplace.splits import services as splits
from marketplace.splits.models import SplitVersion, TeamMember
from marketplace.studio import series as series_service
from marketplace.studio.models import Episode, Series
from marketplace.studio.storage import MediaStorage, human_size
from tests.helpers import split_form
from tests.studio.conftest import MOV, MP4, PDF, PNG, WEBM, invitation_path, stored_files, upload

FAR = datetime.now(UTC) + timedelta(days=365)
MOV_HEAD = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\0" * 20
KEY = re.compile(r"^episodes/(\d+)/[0-9a-f]{32}\.(mp4|mov|webm)$")


# --- helpers ---------------------------------------------------------------------------------


def live_series(db, owner, partner, *, episodes=5, free=2, rows=None, since=None):
    """A series with hosted episodes, priced, split, and live on `partner` since two days ago."""
    since = since or datetime.now(UTC) - timedelta(days=2)
    series = series_service.create_series(db.session, owner, title="Live one")
    for n in range(1, episodes + 1):
        series_service.add_episode(
            db.session, series, title=f"E{n}", media_url=f"https://cdn.example.com/{n}.mp4"
        )
    series_service.set_pricing(db.session, series, free_episodes=free, episode_price=49)
    rows = rows or [{"user": owner, "role": "producer", "credit_name": "O", "bps": 10000}]
    splits.save_split(db.session, series, owner, rows, platform_fee_bps=1000, now=since)
    publishing.publish_series(db.session, series, owner, [partner], now=since)
    return series


def report_unlock(db, partner, series, event_id, episode, occurred_at):
    """A partner reports one paid unlock (49 cents) and the poster posts it; returns its
    result."""
    unlock = UnlockIn(event_id, series.id, episode, 49, "USD", occurred_at)
    result = ingest_unlocks(db.session, partner, [unlock])[0]
    post_pending(db.session())
    return result


def earnings(db, member) -> int:
    """What a team member has earned so far (posted, USD)."""
    account = ledger_account(db.session, "member_earnings", "USD", member.id)
    return get_balance(db.session, account.id, now=FAR).posted


def incremental_sync(db, partner, since):
    """The partner's catalogue changes since `since`, by series id (read afresh)."""
    db.session.expire_all()  # the studio's requests changed rows behind this session
    page = catalog_page(db.session, partner, updated_since=since, cursor=None, limit=50)
    return {s["id"]: s for s in page["series"]}


def new_files(app, before):
    return stored_files(app) - before


def post_upload(client, series_id, data):
    return client.post(
        f"/studio/series/{series_id}/episodes/new", data=data, content_type="multipart/form-data"
    )


# --- uploads -------------------------------------------------------------------------------


def test_upload_limit_is_inclusive_one_byte_over_is_refused(
    app, client, db, login_as, make_creator, monkeypatch
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Limit")
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", len(MP4))
    before = stored_files(app)
    exact = post_upload(client, series.id, {"media": upload(MP4, "exact.mp4")})
    assert exact.status_code == 302
    over = post_upload(client, series.id, {"media": upload(MP4 + b"\0", "over.mp4")})
    assert over.status_code == 422
    assert f"larger than the {human_size(len(MP4))} limit" in over.get_data(as_text=True)
    db.session.expire_all()
    assert [e.media_bytes for e in series.episodes] == [len(MP4)]
    assert len(new_files(app, before)) == 1


def test_zero_byte_upload_is_refused_and_stores_nothing(app, client, db, login_as, make_creator):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Empty")
    before = stored_files(app)
    page = post_upload(client, series.id, {"title": "Nothing", "media": upload(b"", "e.mp4")})
    assert page.status_code == 422 and "The file is empty." in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Episode.id))) == 0
    assert stored_files(app) == before


def test_client_file_names_never_reach_storage(app, client, db, login_as, make_creator):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Names")
    before = stored_files(app)
    root = Path(app.config["MEDIA_ROOT"])
    names = ["../../../escape.mp4", "épisode 1 — 最終回 😀.mp4", "x" * 1000 + ".mp4", "/etc/e.mov"]
    for name in names:
        assert post_upload(client, series.id, {"media": upload(MP4, name)}).status_code == 302
    added = new_files(app, before)
    assert len(added) == len(names)
    assert all(KEY.match(key) and key.split("/")[1] == str(series.id) for key in added)
    assert not list(root.parent.glob("**/escape.mp4"))
    db.session.expire_all()
    assert [e.media_type for e in series.episodes] == ["mp4"] * 4  # content decides, not ".mov"


def test_the_same_file_twice_makes_two_independent_episodes(
    app, client, db, login_as, make_creator
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Twice")
    for _ in range(2):
        assert post_upload(client, series.id, {"media": upload(MP4, "same.mp4")}).status_code == 302
    db.session.expire_all()
    first, second = series.episodes
    assert first.media_path != second.media_path
    assert client.post(f"/studio/episodes/{first.id}/delete").status_code == 302
    db.session.expire_all()
    assert [(e.id, e.number) for e in series.episodes] == [(second.id, 1)]
    assert client.get(f"/studio/media/{second.id}").data == MP4


def test_replacing_a_video_keeps_the_old_file_until_a_valid_one_replaces_it(
    app, client, db, login_as, make_creator
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Recut")
    post_upload(client, series.id, {"title": "Cut 1", "media": upload(MP4, "cut1.mp4")})
    db.session.expire_all()
    episode = series.episodes[0]
    old_key = episode.media_path
    root = Path(app.config["MEDIA_ROOT"])
    edit = f"/studio/episodes/{episode.id}/edit"

    refused = client.post(
        edit,
        data={"title": "Cut 2", "media": upload(PDF, "cut2.mp4")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    db.session.expire_all()
    assert (episode.title, episode.media_path) == ("Cut 1", old_key)
    assert client.get(f"/studio/media/{episode.id}").data == MP4

    replaced = client.post(
        edit,
        data={"title": "Cut 2", "media": upload(WEBM, "cut2.webm")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 302
    db.session.expire_all()
    assert episode.title == "Cut 2" and episode.media_type == "webm"
    assert not (root / old_key).exists()
    assert client.get(f"/studio/media/{episode.id}").data == WEBM

    webm_key = episode.media_path
    to_link = client.post(
        edit, data={"title": "Cut 2", "media_url": "https://cdn.example.com/cut2.mp4"}
    )
    assert to_link.status_code == 302
    db.session.expire_all()
    assert episode.media_path is None and not (root / webm_key).exists()


def test_a_partner_media_link_plays_the_replacement_video(
    app, client, db, login_as, make_creator, make_partner, storage
):
    owner = login_as(make_creator())
    partner = make_partner()
    series = live_series(db, owner, partner, episodes=1, free=0)
    episode = series.episodes[0]
    series_service.update_episode(
        db.session,
        episode,
        title="E1",
        duration_seconds=None,
        upload=io.BytesIO(MP4),
        storage=storage,
    )
    page = catalog_page(db.session, partner, updated_since=None, cursor=None, limit=10)
    link = page["series"][0]["episodes"][0]["media_url"]
    path = link.removeprefix(app.config["SERVER_NAME_FOR_LINKS"].rstrip("/"))
    assert client.get(path).data == MP4
    client.post(
        f"/studio/episodes/{episode.id}/edit",
        data={"title": "E1", "media": upload(WEBM, "better.webm")},
        content_type="multipart/form-data",
    )
    assert client.get(path).data == WEBM  # the link names the episode, not the file


def test_a_bad_poster_is_refused_and_a_good_one_replaces_the_old_file(
    app, client, db, login_as, make_creator, storage
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Poster")
    series_service.set_poster(db.session, series, io.BytesIO(PNG), storage)
    old = series.poster_path
    edit = f"/studio/series/{series.id}/edit"
    form = {"title": "Poster", "language": "en"}
    before = stored_files(app)
    bad = client.post(
        edit, data=form | {"poster": upload(MP4, "p.png")}, content_type="multipart/form-data"
    )
    assert bad.status_code == 422 and stored_files(app) == before
    good = client.post(
        edit, data=form | {"poster": upload(PNG, "p.png")}, content_type="multipart/form-data"
    )
    assert good.status_code == 302
    db.session.expire_all()
    assert series.poster_path != old and not (storage.root / old).exists()


def test_a_rejected_series_edit_leaves_the_poster_alone(
    app, client, db, login_as, make_creator, storage
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Keep")
    series_service.set_poster(db.session, series, io.BytesIO(PNG), storage)
    old = series.poster_path
    page = client.post(
        f"/studio/series/{series.id}/edit",
        data={"title": "Keep", "language": "e", "poster": upload(PNG + b"new", "new.png")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422  # "Use a language code such as en, es or pt-BR."
    db.session.expire_all()
    assert series.poster_path == old
    assert (storage.root / old).exists()


# --- episodes of a live series ---------------------------------------------------------------


def _add(db, series, storage):
    series_service.add_episode(db.session, series, title="E6", media_url="https://x.example/6")


def _retitle(db, series, storage):
    episode = series.episodes[0]
    series_service.update_episode(db.session, episode, title="New title", duration_seconds=None)


def _reorder(db, series, storage):
    ids = [e.id for e in series.episodes]
    series_service.reorder_episodes(db.session, series, list(reversed(ids)))


def _delete(db, series, storage):
    series_service.delete_episode(db.session, series.episodes[0], storage)


@pytest.mark.parametrize("change", [_add, _retitle, _reorder, _delete], ids=lambda f: f.__name__)
def test_episode_changes_of_a_live_series_reach_the_partners_sync(
    db, make_creator, make_partner, storage, change
):
    partner = make_partner()
    series = live_series(db, make_creator(), partner)
    since = datetime.now(UTC)
    change(db, series, storage)
    db.session.expire_all()
    expected = [(e.number, e.title) for e in series.episodes]
    synced = incremental_sync(db, partner, since)
    assert series.id in synced
    assert [(e["number"], e["title"]) for e in synced[series.id]["episodes"]] == expected


def test_a_price_change_after_publication_reaches_the_partners_sync(
    client, db, login_as, make_creator, make_partner
):
    partner = make_partner()
    series = live_series(db, login_as(make_creator()), partner)
    since = datetime.now(UTC)
    response = client.post(
        f"/studio/series/{series.id}/pricing",
        data={"currency": "USD", "free_episodes": "3", "episode_price": "0.99"},
    )
    assert response.status_code == 302
    synced = incremental_sync(db, partner, since)[series.id]
    assert synced["free_episodes"] == 3
    assert synced["episode_price"] == {"amount": 99, "currency": "USD"}


def test_the_last_video_of_a_live_series_cannot_silently_disappear(
    client, db, login_as, make_creator, make_partner
):
    series = live_series(db, login_as(make_creator()), make_partner(), episodes=1, free=0)
    client.post(f"/studio/episodes/{series.episodes[0].id}/delete")
    db.session.expire_all()
    assert len(series.episodes) == 1 or all(lst.status == "withdrawn" for lst in series.listings)


# --- pricing ---------------------------------------------------------------------------------


def test_unlocks_posted_before_free_episodes_change_stay_paid(db, make_creator, make_partner):
    owner, partner = make_creator(), make_partner()
    series = live_series(db, owner, partner, free=2)
    member = splits.current_split(db.session, series).shares[0].member
    occurred = datetime.now(UTC) - timedelta(hours=1)
    result = report_unlock(db, partner, series, "u1", 3, occurred)
    assert result["status"] == "accepted"
    earned = earnings(db, member)
    assert earned > 0
    series_service.set_pricing(db.session, series, free_episodes=4, episode_price=49)
    assert earnings(db, member) == earned
    again = report_unlock(db, partner, series, "u1", 3, occurred)
    assert again["status"] == "duplicate"  # the partner's retry: same answer, not posted twice
    assert earnings(db, member) == earned


def test_a_late_report_of_an_unlock_made_while_the_episode_was_paid_is_accepted(
    db, make_creator, make_partner
):
    owner, partner = make_creator(), make_partner()
    series = live_series(db, owner, partner, free=2)
    occurred = datetime.now(UTC) - timedelta(hours=1)  # episode 3 was paid then
    series_service.set_pricing(db.session, series, free_episodes=4, episode_price=49)
    assert report_unlock(db, partner, series, "late", 3, occurred)["status"] == "accepted"
    # Made after the change, the same episode is free; lowering it again pays episode 4 again.
    assert report_unlock(db, partner, series, "now", 3, datetime.now(UTC))["error"]["code"] == (
        "free_episode"
    )
    series_service.set_pricing(db.session, series, free_episodes=1, episode_price=49)
    assert report_unlock(db, partner, series, "later", 4, datetime.now(UTC))["status"] == (
        "accepted"
    )
    # And the first report still stands under the rules of its own moment.
    assert report_unlock(db, partner, series, "late-2", 3, occurred)["status"] == "accepted"


@pytest.mark.parametrize("typed", ["0,49", "1.000,00"])
def test_a_decimal_comma_is_not_read_as_a_hundred_times_the_price(
    client, db, login_as, make_creator, typed
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Comma")
    response = client.post(
        f"/studio/series/{series.id}/pricing",
        data={"currency": "USD", "free_episodes": "1", "episode_price": typed},
    )
    db.session.expire_all()
    assert response.status_code == 422 or series.episode_price in (49, 100_000)


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("episode_price", "sNaN"),
        ("episode_price", "1e999999"),
        ("episode_price", "99999999999999999999"),
        ("free_episodes", str(10**20)),
    ],
)
def test_absurd_pricing_is_a_form_error(client, db, login_as, make_creator, field, typed):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Absurd")
    data = {"currency": "USD", "free_episodes": "1", "episode_price": "0.49"}
    response = client.post(f"/studio/series/{series.id}/pricing", data=data | {field: typed})
    assert response.status_code == 422


def test_an_absurd_duration_is_a_form_error(client, db, login_as, make_creator):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Long")
    response = client.post(
        f"/studio/series/{series.id}/episodes/new",
        data={"title": "Long", "duration_seconds": str(10**20)},
    )
    assert response.status_code == 422


def test_a_new_series_refuses_an_unknown_currency(client, db, login_as, make_creator):
    login_as(make_creator())
    response = client.post(
        "/studio/series/new", data={"title": "Zed", "language": "en", "currency": "zzz"}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Series.id)).where(Series.title == "Zed")) == 0


# --- split sheets ----------------------------------------------------------------------------


def test_an_email_twice_in_other_case_or_with_spaces_is_a_duplicate(
    client, db, login_as, make_creator
):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Dup")
    page = client.post(
        f"/studio/series/{series.id}/split",
        data=split_form(
            [
                ("Sam@Example.com", "writer", "Sam", 5000),
                ("  sam@example.COM ", "actor", "Sam again", 5000),
            ]
        ),
    )
    text = page.get_data(as_text=True)
    assert '<p class="error" id="rows-1-email-error">sam@example.com is listed twice.</p>' in text
    assert db.session.scalar(select(func.count(SplitVersion.id))) == 0
    assert db.session.scalar(select(func.count(TeamMember.id))) == 0


def test_a_split_refused_for_a_row_problem_answers_422(client, db, login_as, make_creator):
    series = series_service.create_series(db.session, login_as(make_creator()), title="Status")
    page = client.post(
        f"/studio/series/{series.id}/split",
        data=split_form([("not-an-email", "writer", "W", 10000)]),
    )
    assert 'id="rows-0-email-error"' in page.get_data(as_text=True)
    assert page.status_code == 422


def test_the_creators_own_email_in_other_case_is_on_the_team_at_once(
    client, db, login_as, make_creator
):
    owner = login_as(make_creator(email="maya.review@example.com"))
    series = series_service.create_series(db.session, owner, title="Mine")
    response = client.post(
        f"/studio/series/{series.id}/split",
        data=split_form(
            [
                (" Maya.Review@EXAMPLE.com ", "producer", "Maya", 6000),
                ("guest@example.com", "actor", "Guest", 4000),
            ]
        ),
    )
    assert response.status_code == 302
    members = {m.email: m for m in db.session.scalars(select(TeamMember))}
    assert members["maya.review@example.com"].user_id == owner.id
    assert members["maya.review@example.com"].accepted
    assert not members["guest@example.com"].accepted
    mails = db.session.scalars(select(OutboxMessage.to_address)).all()
    assert mails == ["guest@example.com"]  # the creator is not invited to her own series


def test_a_late_unlock_from_before_a_split_change_is_split_the_old_way(
    db, make_creator, make_partner
):
    owner, partner = make_creator(), make_partner()
    rows = [
        {"user": owner, "role": "producer", "credit_name": "O", "bps": 5000},
        {"email": "dropped@example.com", "role": "editor", "credit_name": "D", "bps": 5000},
    ]
    series = live_series(db, owner, partner, rows=rows)
    dropped = db.session.scalar(select(TeamMember).where(TeamMember.email == "dropped@example.com"))
    before_change = datetime.now(UTC) - timedelta(hours=2)
    splits.save_split(
        db.session,
        series,
        owner,
        [{"user": owner, "role": "producer", "credit_name": "O", "bps": 10000}],
        platform_fee_bps=1000,
    )
    late = report_unlock(db, partner, series, "late", 3, before_change)
    assert late["status"] == "accepted"
    earned = earnings(db, dropped)
    assert earned > 0  # the version in force at occurred_at, in escrow for the dropped editor
    fresh = report_unlock(db, partner, series, "fresh", 3, datetime.now(UTC))
    assert fresh["status"] == "accepted" and earnings(db, dropped) == earned
    # Dropped from the split, never accepted: the link still lets them claim the escrow.
    assert (
        invitations.read_invitation(db.session, invitations.invitation_token(dropped)).state
        == "open"
    )


def test_a_backdated_split_version_is_refused_or_in_force(db, make_creator):
    owner = make_creator()
    series = series_service.create_series(db.session, owner, title="Backdated")
    now = datetime.now(UTC)
    only = [{"user": owner, "role": "producer", "credit_name": "O", "bps": 10000}]
    other = [*only, {"email": "x@example.com", "role": "actor", "credit_name": "X", "bps": 1}]
    other[0] = dict(other[0], bps=9999)
    first = splits.save_split(db.session, series, owner, only, platform_fee_bps=1000, now=now)
    with pytest.raises(ServiceError, match="cannot take effect before version 1"):
        splits.save_split(
            db.session, series, owner, other, platform_fee_bps=1000, now=now - timedelta(days=1)
        )
    # Refused, so the version the page shows is the one revenue uses, before and after `now`.
    shown = splits.current_split(db.session, series)
    assert shown.id == first.id
    for moment in (now, now + timedelta(minutes=1)):
        assert split_version_at(db.session, series.id, moment).id == first.id


# --- invitations ------------------------------------------------------------------------------


def test_any_account_may_accept_once_then_nobody_else(
    client, db, login_as, make_creator, make_participant
):
    owner = make_creator()
    series = series_service.create_series(db.session, owner, title="Invited")
    splits.save_split(
        db.session,
        series,
        owner,
        [{"email": "invitee@example.com", "role": "actor", "credit_name": "I", "bps": 10000}],
        platform_fee_bps=1000,
    )
    link = invitation_path(db, "invitee@example.com")
    other = login_as(make_participant(email="someone.else@example.com"))
    page = client.get(link).get_data(as_text=True)
    assert "sent to <strong>invitee@example.com</strong>" in page and "any account" in page
    assert client.post(link + "/accept").status_code == 302
    member = db.session.scalar(select(TeamMember).where(TeamMember.email == "invitee@example.com"))
    assert member.user_id == other.id
    third = login_as(make_participant())
    answer = client.post(link + "/accept", follow_redirects=True).get_data(as_text=True)
    assert "already been accepted" in answer
    db.session.expire_all()
    assert member.user_id == other.id != third.id


def test_an_expired_link_says_so_and_cannot_be_accepted(
    client, db, login_as, make_creator, make_participant
):
    owner = make_creator()
    series = series_service.create_series(db.session, owner, title="Late")
    splits.save_split(
        db.session,
        series,
        owner,
        [{"email": "slow@example.com", "role": "writer", "credit_name": "S", "bps": 10000}],
        platform_fee_bps=1000,
        now=datetime.now(UTC) - timedelta(days=31),
    )
    link = invitation_path(db, "slow@example.com")
    login_as(make_participant())
    assert "This invitation has expired" in client.get(link).get_data(as_text=True)
    answer = client.post(link + "/accept", follow_redirects=True).get_data(as_text=True)
    assert "expired; ask the creator to re-send it" in answer
    member = db.session.scalar(select(TeamMember).where(TeamMember.email == "slow@example.com"))
    assert not member.accepted


# --- localized versions -----------------------------------------------------------------------


def test_a_spanish_version_copies_pricing_but_not_episodes(client, db, login_as, make_creator):
    owner = login_as(make_creator())
    original = series_service.create_series(db.session, owner, title="Vows", currency="EUR")
    series_service.add_episode(db.session, original, media_url="https://cdn.example.com/1.mp4")
    series_service.set_pricing(
        db.session, original, free_episodes=3, episode_price=59, bundle_price=1999
    )
    same = client.post(f"/studio/series/{original.id}/localize", data={"language": " EN "})
    assert same.status_code == 422
    response = client.post(
        f"/studio/series/{original.id}/localize", data={"language": "es", "title": "Votos"}
    )
    assert response.status_code == 302
    spanish = db.session.scalar(select(Series).where(Series.original_series_id == original.id))
    assert (spanish.title, spanish.language, spanish.status) == ("Votos", "es", "draft")
    assert (spanish.currency, spanish.free_episodes, spanish.episode_price) == ("EUR", 3, 59)
    assert spanish.bundle_price == 1999 and spanish.episodes == []


def test_a_second_spanish_version_is_refused(client, db, login_as, make_creator):
    original = series_service.create_series(db.session, login_as(make_creator()), title="Once")
    first = client.post(f"/studio/series/{original.id}/localize", data={"language": "es"})
    assert first.status_code == 302
    second = client.post(f"/studio/series/{original.id}/localize", data={"language": "ES"})
    assert second.status_code == 422
    count = select(func.count(Series.id)).where(Series.original_series_id == original.id)
    assert db.session.scalar(count) == 1


# --- manifest import --------------------------------------------------------------------------


def manifest_with(episodes, **extra):
    return {
        "title": "Atomic",
        "poster": "poster.png",
        "pricing": {"currency": "USD", "free_episodes": 1, "episode_price": 49},
        "split": [
            {"email": "newbie@example.com", "role": "actor", "credit_name": "N", "bps": 10000}
        ],
        "episodes": episodes,
        **extra,
    }


def test_one_bad_episode_in_a_manifest_changes_nothing(
    app, client, db, login_as, make_creator, make_partner
):
    login_as(make_creator())
    make_partner("ReelBox")
    files = [upload(MP4, "e1.mp4"), upload(WEBM, "e2.webm"), upload(PDF, "e3.mp4")]
    files.append(upload(PNG, "poster.png"))
    episodes = [{"media": "e1.mp4"}, {"media": "e2.webm"}, {"media": "e3.mp4"}]
    before = stored_files(app)
    page = client.post(
        "/studio/import",
        data={
            "manifest": (
                io.BytesIO(json.dumps(manifest_with(episodes, publish_to=["ReelBox"])).encode()),
                "m.json",
            ),
            "files": files,
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 422 and "episodes[2].media" in page.get_data(as_text=True)
    for model in (Series, Episode, TeamMember, SplitVersion, OutboxMessage):
        assert db.session.scalar(select(func.count(model.id))) == 0, model.__name__
    assert stored_files(app) == before


class FileReplacedMidImport:
    """A manifest's folder changing under an import (a FileSource): e2.mp4 is a video when the
    manifest is checked and a PDF by the time it is stored, so the import fails late."""

    def __init__(self):
        self.e2_reads = 0

    def open(self, name):
        if name == "e2.mp4":
            self.e2_reads += 1
            content = MP4 if self.e2_reads == 1 else PDF
        else:
            content = {"e1.mp4": MP4, "poster.png": PNG}.get(name)
        return None if content is None else contextlib.nullcontext(io.BytesIO(content))


def test_a_late_failure_in_an_import_removes_the_files_already_stored(
    app, db, make_creator, storage
):
    # Was a duration of 10**20 overflowing at the insert; durations are now checked first
    # (see the test below), so the late failure is a file that changed after the check.
    owner = make_creator()
    episodes = [{"media": "e1.mp4"}, {"media": "e2.mp4"}]
    files = FileReplacedMidImport()
    before = stored_files(app)
    with pytest.raises(ServiceError, match="not an mp4"):
        import_manifest(
            db.session,
            manifest_with(episodes),
            files,
            owner,
            storage=storage,
            platform_fee_bps=1000,
        )
    assert db.session.scalar(select(func.count(Series.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert stored_files(app) == before


def test_an_absurd_duration_in_a_manifest_is_listed_as_a_problem(
    app, client, db, login_as, make_creator
):
    login_as(make_creator())
    episodes = [{"media": "e1.mp4", "duration_seconds": 10**20}]
    page = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(manifest_with(episodes)).encode()), "m.json"),
            "files": [upload(MP4, "e1.mp4"), upload(PNG, "poster.png")],
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "episodes[0].duration_seconds" in page.get_data(as_text=True)


def test_web_import_matches_uploads_by_base_name_and_normalises_emails(
    app, client, db, login_as, make_creator
):
    owner = login_as(make_creator(email="owner.review@example.com"))
    manifest = manifest_with(
        [{"media": "../../clips/e1.mp4"}, {"media": "e2.mov"}],
        split=[
            {
                "email": " Owner.Review@Example.COM",
                "role": "producer",
                "credit_name": "O",
                "bps": 7000,
            },
            {"email": "Newbie@Example.com ", "role": "actor", "credit_name": "N", "bps": 3000},
        ],
    )
    before = stored_files(app)
    response = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(manifest).encode()), "m.json"),
            "files": [upload(MP4, "e1.mp4"), upload(MP4, "../e2.mov"), upload(PNG, "poster.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert len(new_files(app, before)) == 3
    series = db.session.scalar(select(Series).where(Series.owner_id == owner.id))
    members = {m.email: m for m in db.session.scalars(select(TeamMember))}
    assert members["owner.review@example.com"].user_id == owner.id
    assert not members["newbie@example.com"].accepted
    assert [e.media_type for e in series.episodes] == ["mp4", "mp4"]

    twice = manifest_with(
        [{"media": "e1.mp4"}],
        split=[
            {"email": "a@example.com", "role": "actor", "credit_name": "A", "bps": 5000},
            {"email": " A@EXAMPLE.com", "role": "writer", "credit_name": "A", "bps": 5000},
        ],
    )
    page = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(twice).encode()), "m.json"),
            "files": [upload(MP4, "e1.mp4"), upload(PNG, "poster.png")],
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 422 and "a@example.com is listed twice." in page.get_data(
        as_text=True
    )


def test_web_import_takes_files_each_within_the_limit(
    app, client, db, login_as, make_creator, monkeypatch
):
    login_as(make_creator())
    limit = 2 * 1024 * 1024
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", limit)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", limit + 1024 * 1024)  # as config.py
    clip = MP4 + b"\0" * (limit * 3 // 4)
    manifest = {"title": "Two long ones", "episodes": [{"media": "a.mp4"}, {"media": "b.mp4"}]}
    response = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(manifest).encode()), "m.json"),
            "files": [upload(clip, "a.mp4"), upload(clip, "b.mp4")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    # The import still has a cap of its own.
    monkeypatch.setitem(app.config, "MAX_IMPORT_BYTES", limit)
    response = client.post(
        "/studio/import",
        data={
            "manifest": (io.BytesIO(json.dumps(manifest).encode()), "m.json"),
            "files": [upload(clip, "a.mp4"), upload(clip, "b.mp4")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_cli_import_refuses_files_outside_the_manifest_folder(
    app, runner, db, make_creator, tmp_path
):
    make_creator(email="cli.owner@example.com")
    (tmp_path / "outside.mp4").write_bytes(MP4)
    folder = tmp_path / "series"
    folder.mkdir()
    manifest = {
        "title": "Escape",
        "episodes": [{"media": "../outside.mp4"}, {"media": str(tmp_path / "outside.mp4")}],
    }
    (folder / "m.json").write_text(json.dumps(manifest))
    result = runner.invoke(
        args=["studio", "import", str(folder / "m.json"), "--owner", "cli.owner@example.com"]
    )
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count(Series.id))) == 0


def test_storage_limit_is_inclusive_for_stream_and_check(tmp_path):
    storage = MediaStorage(tmp_path, max_bytes=len(MOV))
    assert storage.check(io.BytesIO(MOV)) == "mov"
    assert storage.save(io.BytesIO(MOV), folder="episodes/1").size == len(MOV)
    with pytest.raises(ServiceError, match="larger than"):
        storage.check(io.BytesIO(MOV + b"\0"))
    with pytest.raises(ServiceError, match="larger than"):
        storage.save(io.BytesIO(MOV + b"\0"), folder="episodes/1")
    assert [p.suffix for p in tmp_path.rglob("*") if p.is_file()] == [".mov"]
