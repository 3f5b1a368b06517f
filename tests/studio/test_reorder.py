"""Episodes reordered in one go (what dragging sends), with a confirmation naming the moves;
a wrong list changes nothing and says why. The series page offers the drag handles and keeps
the up and down buttons as the step-by-step alternative."""

from __future__ import annotations

from marketplace.studio.models import Episode, Series


def _series(db, owner, titles):
    series = Series(owner_id=owner.id, title="Harbour", currency="USD")
    db.session.add(series)
    db.session.flush()
    for number, title in enumerate(titles, start=1):
        db.session.add(Episode(series_id=series.id, number=number, title=title))
    db.session.flush()
    db.session.expire(series)
    return series


def test_a_dragged_order_is_saved_and_the_moves_are_named(db, client, login_as, make_creator):
    owner = login_as(make_creator())
    series = _series(db, owner, ["Arrival", "Storm", "Dawn"])
    first, second, third = (e.id for e in series.episodes)
    page = client.get(f"/studio/series/{series.id}").get_data(as_text=True)
    assert page.count("data-drag-handle hidden") == 3
    assert f'name="order" value="{first},{second},{third}"' in page
    assert 'aria-label="Move episode 2 up"' in page  # the step-by-step alternative stays

    response = client.post(
        f"/studio/series/{series.id}/episodes/order",
        data={"order": f"{third},{first},{second}"},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "Episodes renumbered: Dawn is now 1, Arrival is now 2, Storm is now 3." in text
    db.session.expire_all()
    assert [(e.number, e.title) for e in series.episodes] == [
        (1, "Dawn"),
        (2, "Arrival"),
        (3, "Storm"),
    ]


def test_a_wrong_order_changes_nothing(db, client, login_as, make_creator):
    owner = login_as(make_creator())
    series = _series(db, owner, ["Arrival", "Storm"])
    first, second = (e.id for e in series.episodes)
    url = f"/studio/series/{series.id}/episodes/order"
    text = client.post(url, data={"order": f"{first}"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "List every episode of the series exactly once. Nothing changed." in text
    text = client.post(url, data={"order": "x,y"}, follow_redirects=True).get_data(as_text=True)
    assert "The new order could not be read; nothing changed." in text
    text = client.post(url, data={"order": f"{first},{second}"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "The order is unchanged." in text
    db.session.expire_all()
    assert [e.title for e in series.episodes] == ["Arrival", "Storm"]
