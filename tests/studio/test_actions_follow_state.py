"""Buttons that no longer apply are not offered, and confirmations say what changed:
Publish when the series is blocked or already live everywhere, "Published to X" only when it
newly went live there."""

from __future__ import annotations

from datetime import timedelta

from marketplace.clock import utcnow
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Episode, Series


def _ready_series(db, owner) -> Series:
    """A series with a video, a price and a complete split: it can go live."""
    series = Series(owner_id=owner.id, title="Night Shift", episode_price=49, currency="USD")
    db.session.add(series)
    db.session.flush()
    db.session.add(
        Episode(series_id=series.id, number=1, title="One", media_url="https://cdn.test/1.mp4")
    )
    member = TeamMember(
        series_id=series.id,
        email=owner.email,
        credit_name="Rosa",
        role="producer",
        user_id=owner.id,
        accepted_at=utcnow() - timedelta(days=1),
    )
    db.session.add(member)
    db.session.flush()
    version = SplitVersion(
        series_id=series.id, number=1, platform_fee_bps=1000, effective_from=utcnow()
    )
    version.shares = [SplitShare(member_id=member.id, bps=10_000)]
    db.session.add(version)
    db.session.flush()
    db.session.expire(series)
    return series


def test_publish_is_disabled_with_the_reason_while_blocked(db, client, login_as, make_creator):
    owner = login_as(make_creator())
    series = Series(owner_id=owner.id, title="Draft", currency="USD")
    db.session.add(series)
    db.session.flush()
    detail = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert "Set a price per paid episode." in detail
    assert 'disabled aria-describedby="publish-blockers">Publish to partner apps' in detail
    assert f'href="/studio/series/{series.id}/publish"' not in detail
    page = client.get(f"/studio/series/{series.id}/publish").get_data(as_text=True)
    assert 'aria-describedby="publish-reason"' in page and "disabled" in page


def test_published_to_only_where_it_newly_went_live(
    db, client, login_as, make_creator, make_partner
):
    owner = login_as(make_creator())
    reel, box = make_partner("ReelBox"), make_partner("StoryBox")
    series = _ready_series(db, owner)
    detail = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert ">Publish to partner apps</a>" in detail

    response = client.post(
        f"/studio/series/{series.id}/publish", data={"partners": [reel.id]}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert 'flash-success">Published to ReelBox.</p>' in page
    assert ">Publish to more partner apps</a>" in page

    # Only the app it is already live on: information, nothing changed.
    response = client.post(
        f"/studio/series/{series.id}/publish", data={"partners": [reel.id]}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert 'flash-info">Already live on ReelBox: nothing changed.</p>' in page
    assert "Published to" not in page

    form = client.get(f"/studio/series/{series.id}/publish").get_data(as_text=True)
    assert "ReelBox (USD, partner keeps 30%) · already live" in form

    response = client.post(
        f"/studio/series/{series.id}/publish",
        data={"partners": [reel.id, box.id]},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert 'flash-success">Published to StoryBox. Already live on ReelBox.</p>' in page
    # Live everywhere: no Publish button at all, on the series page nor on the form.
    assert "Live on every partner app: nothing left to publish." in page
    assert "Publish to more partner apps" not in page
    form = client.get(f"/studio/series/{series.id}/publish").get_data(as_text=True)
    assert 'data-publish-state="everywhere"' in form and 'value="Publish"' not in form


def test_the_state_texts_speak_spanish(db, client, login_as, make_creator, make_partner):
    owner = login_as(make_creator())
    owner.language = "es"
    reel = make_partner("ReelBox")
    series = _ready_series(db, owner)
    page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert ">Publicar en apps socias</a>" in page
    assert "Añadir muchos episodios a la vez" in page
    assert '"upload_many": "Subir %(count)s archivos"' in page  # the upload script's texts
    client.post(f"/studio/series/{series.id}/publish", data={"partners": [reel.id]})
    again = client.post(
        f"/studio/series/{series.id}/publish", data={"partners": [reel.id]}, follow_redirects=True
    )
    assert "Ya está publicada en ReelBox: no se cambió nada." in again.get_data(as_text=True)
