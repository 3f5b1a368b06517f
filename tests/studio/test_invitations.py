"""Invitations: signed links that expire after 30 days, re-sending retires older links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.errors import NotFound, ServiceError
from marketplace.mail import OutboxMessage
from marketplace.splits import invitations
from marketplace.splits import services as splits
from marketplace.studio import series as series_service
from tests.studio.conftest import invitation_path

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def invited_member(db, owner):
    series = series_service.create_series(db.session, owner, title="Invites")
    version = splits.save_split(
        db.session,
        series,
        owner,
        [{"email": "new@example.com", "role": "composer", "credit_name": "N", "bps": 10000}],
        platform_fee_bps=1000,
        now=T0,
    )
    return series, version.shares[0].member


def test_expiry_resend_and_replaced_links(client, db, login_as, make_creator, make_participant):
    owner = make_creator()
    _series, member = invited_member(db, owner)
    first = invitations.invitation_token(member)
    assert (
        invitations.read_invitation(db.session, first, now=T0 + timedelta(days=29)).state == "open"
    )
    assert (
        invitations.read_invitation(db.session, first, now=T0 + timedelta(days=31)).state
        == "expired"
    )
    assert invitations.member_status(member, T0 + timedelta(days=31))[0] == "expired"
    with pytest.raises(ServiceError, match="expired"):
        invitations.accept_invitation(
            db.session, first, make_participant(), now=T0 + timedelta(days=31)
        )
    with pytest.raises(NotFound):
        invitations.read_invitation(db.session, first[:-3] + "abc")

    # The creator re-sends from the split page: a new email, a new nonce and 30 more days.
    login_as(owner)
    response = client.post(f"/studio/members/{member.id}/resend")
    assert response.status_code == 302
    count = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.to_address == "new@example.com")
    )
    assert count == 2
    db.session.expire_all()
    assert member.invitation_expires_at > datetime.now(UTC) + timedelta(days=29)
    assert invitations.read_invitation(db.session, first).state == "replaced"
    fresh = invitation_path(db, "new@example.com")
    assert "newer invitation" in client.get(f"/studio/invitations/{first}").get_data(as_text=True)
    assert client.get(fresh).status_code == 200
    assert client.get("/studio/invitations/forged-token").status_code == 404


def test_accepting_needs_a_login_and_works_once(
    client, db, login_as, make_creator, make_participant
):
    _, member = invited_member(db, make_creator())
    token = invitations.invitation_token(member)
    invitations.resend_invitation(db.session, member, make_creator())
    path = invitation_path(db, "new@example.com")
    response = client.post(path + "/accept")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    login_as(make_participant())
    assert client.post(path + "/accept").status_code == 302
    assert "already been accepted" in client.post(path + "/accept", follow_redirects=True).get_data(
        as_text=True
    )
    assert invitations.read_invitation(db.session, token).state == "accepted"


def test_admin_reads_the_outbox_and_nobody_else_does(
    client, db, login_as, make_creator, make_admin
):
    owner = make_creator()
    invited_member(db, owner)
    login_as(owner)
    assert client.get("/admin/outbox").status_code == 403
    login_as(make_admin())
    page = client.get("/admin/outbox?to=new@example.com").get_data(as_text=True)
    assert "You are invited to" in page and "/studio/invitations/" in page
    assert "You are invited to" not in client.get("/admin/outbox?to=x@example.com").get_data(
        as_text=True
    )
