"""The commerce split page: the series' owner shares in-story commerce commissions in percent
(basis points stored), bad input is refused beside its field with nothing saved, nobody else
reaches it, and a post without the CSRF token is refused."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from marketplace.splits.models import TeamMember
from marketplace.splits.terms.commerce import CommerceSplit, current_commerce_shares
from marketplace.studio.models import Series
from tests.services.test_revenue import make_world


def rows(members, shares):
    """The form's fields: one row per member, its share in percent ("" for none)."""
    data = {}
    for n, (member, share) in enumerate(zip(members, shares, strict=True)):
        data[f"rows-{n}-member_id"] = member.id
        data[f"rows-{n}-share"] = share
    return data


def test_the_owner_sets_the_featured_actor_to_30_percent(db, client, login_as, make_creator):
    owner = login_as(make_creator())
    _, series, (writer, actor, director), _ = make_world(db, owner)
    page = f"/studio/series/{series.id}/commerce-split"
    shown = client.get(page).get_data(as_text=True)
    assert "No commerce split yet" in shown and "M1 (actor): share (%)" in shown
    saved = client.post(page, data=rows((writer, actor, director), ("50", "30", "20")))
    assert saved.status_code == 302
    assert current_commerce_shares(db.session, series.id) == {
        writer.id: 5000,
        actor.id: 3000,
        director.id: 2000,
    }
    again = client.get(page).get_data(as_text=True)
    assert "In force now: M0 50%, M1 30%, M2 20%." in again
    assert re.search(r'name="rows-1-share"[^>]*value="30"', again)
    # A member left blank has no share; the others still add up to 100 %.
    assert (
        client.post(page, data=rows((writer, actor, director), ("70", "30", ""))).status_code == 302
    )
    assert current_commerce_shares(db.session, series.id) == {writer.id: 7000, actor.id: 3000}
    split_page = client.get(f"/studio/series/{series.id}/split").get_data(as_text=True)
    assert f'href="/studio/series/{series.id}/commerce-split"' in split_page


def test_bad_shares_are_refused_beside_their_field_with_nothing_saved(
    db, client, login_as, make_creator
):
    owner = login_as(make_creator())
    _, series, members, _ = make_world(db, owner)
    page = f"/studio/series/{series.id}/commerce-split"
    for shares, message in (
        (("50", "30", "10"), "Shares add up to 90%; they must add up to 100%."),
        (("50", "abc", "20"), "A share is a percentage above 0 and at most 100"),
        (("50", "30.555", "20"), "A share is a percentage above 0 and at most 100"),
        (("150", "-30", "-20"), "A share is a percentage above 0 and at most 100"),
    ):
        refused = client.post(page, data=rows(members, shares))
        assert refused.status_code == 422
        assert message in refused.get_data(as_text=True)
    # A member of another series is not one of this one's.
    other = Series(owner_id=owner.id, title="Other", episode_price=49, currency="USD")
    db.session.add(other)
    db.session.flush()
    stranger = TeamMember(series_id=other.id, email="s@example.com", credit_name="S", role="actor")
    db.session.add(stranger)
    db.session.flush()
    forged = rows(members, ("50", "30", "20")) | {"rows-2-member_id": stranger.id}
    assert client.post(page, data=forged).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(CommerceSplit)) == 0


def test_nobody_else_sees_or_changes_it(db, client, login_as, make_creator):
    _, series, members, _ = make_world(db, make_creator())
    login_as(make_creator())
    page = f"/studio/series/{series.id}/commerce-split"
    assert client.get(page).status_code == 404
    assert client.post(page, data=rows(members, ("50", "30", "20"))).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(CommerceSplit)) == 0


def test_a_post_without_the_csrf_token_is_refused(app, db, client, login_as, make_creator,
                                                  monkeypatch):  # fmt: skip
    owner = login_as(make_creator())
    _, series, members, _ = make_world(db, owner)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = f"/studio/series/{series.id}/commerce-split"
    response = client.post(page, data=rows(members, ("50", "30", "20")))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CommerceSplit)) == 0
