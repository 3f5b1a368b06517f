"""Invitations to a series' team: signed links by email, acceptance, re-sending.

A link carries {member_id, nonce} signed with SECRET_KEY (itsdangerous, salted). It is good
for 30 days from its sending and only while its nonce is the member's current one, so a
re-send (new nonce, new 30 days) retires the older links. Until someone accepts, the member's
share is earned into the member's own ledger account (escrow): never paid, never moved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.services import language_of
from marketplace.audit import record_audit
from marketplace.errors import Conflict, NotFound, ServiceError
from marketplace.formatting import percent, speaking
from marketplace.mail import queue_mail
from marketplace.navigation import absolute
from marketplace.splits.models import TeamMember
from marketplace.studio.models import Series

SALT = "cliffhanger.studio.invitation"
VALID_FOR = timedelta(days=30)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def invitation_token(member: TeamMember) -> str:
    """The signed token of a member's current invitation."""
    return _serializer().dumps({"member_id": member.id, "nonce": member.invitation_nonce})


def invitation_link(member: TeamMember) -> str:
    """The absolute link to a member's current invitation (as put in the email)."""
    return absolute(f"/studio/invitations/{invitation_token(member)}")


def member_status(member: TeamMember, now: datetime | None = None) -> tuple[str, str]:
    """(state, label) for people: accepted / invited, expires on ... / expired on ...."""
    now = now or datetime.now(UTC)
    if member.accepted:
        return "accepted", "accepted"
    expires = member.invitation_expires_at
    if expires is None or expires <= now:
        when = f" on {expires:%Y-%m-%d}" if expires else ""
        return "expired", f"invitation expired{when}"
    return "invited", f"invited, expires on {expires:%Y-%m-%d}"


def send_invitation(
    session: Session, member: TeamMember, series: Series, *, bps: int | None, now: datetime
) -> None:
    """Give the member a new nonce and 30 days, and queue the email (the caller commits)."""
    member.invitation_nonce = secrets.token_hex(16)
    member.invited_at = now
    member.invitation_expires_at = now + VALID_FOR
    session.flush()
    with speaking(language_of(session, member.email)):
        share = (
            _(", with %(share)s of the participants' share of revenue", share=percent(bps))
            if bps else ""
        )
        body = _(
            'You have been added to the team of "%(series)s" on Cliffhanger as %(role)s '
            "(credited as %(credit)s)%(share)s.\n\n"
            "Accept the invitation here; the link works for 30 days, until %(until)s:\n"
            "%(link)s\n\n"
            "Until you accept, your earnings are kept for you in escrow.\n"
            "This invitation was sent to %(email)s.\n",
            series=series.title, role=member.role, credit=member.credit_name, share=share,
            until=f"{member.invitation_expires_at:%Y-%m-%d}", link=invitation_link(member),
            email=member.email,
        )
        subject = _('You are invited to "%(series)s" on Cliffhanger', series=series.title)
    queue_mail(session, to=member.email, subject=subject, body=body, kind="invitation")


def resend_invitation(
    session: Session, member: TeamMember, actor: User, *, now: datetime | None = None
) -> TeamMember:
    """A new link (new nonce, new 30 days, new email) for a member who has not accepted."""
    if member.accepted:
        raise Conflict("This participant has already accepted.")
    series = session.get_one(Series, member.series_id)
    send_invitation(session, member, series, bps=None, now=now or datetime.now(UTC))
    record_audit(
        session,
        actor_id=actor.id,
        action="invitation.resend",
        subject_type="team_member",
        subject_id=member.id,
        details={"series_id": series.id, "email": member.email},
    )
    session.commit()
    return member


@dataclass(frozen=True, slots=True)
class Invitation:
    """What an invitation link points to: member, series, and state (open, expired,
    replaced by a newer link, accepted)."""

    member: TeamMember
    series: Series
    state: str


def read_invitation(session: Session, token: str, now: datetime | None = None) -> Invitation:
    """The invitation behind a token; NotFound for a forged or unknown one."""
    now = now or datetime.now(UTC)
    try:
        data, signed_at = _serializer().loads(token, return_timestamp=True)
        member = session.get(TeamMember, int(data["member_id"]))
        nonce = str(data["nonce"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("This invitation link is not valid.") from None
    if member is None:
        raise NotFound("This invitation link is not valid.")
    series = session.get_one(Series, member.series_id)
    if member.accepted:
        state = "accepted"
    elif nonce != member.invitation_nonce:
        state = "replaced"
    elif now - signed_at > VALID_FOR or (
        member.invitation_expires_at is not None and member.invitation_expires_at <= now
    ):
        state = "expired"
    else:
        state = "open"
    return Invitation(member=member, series=series, state=state)


def accept_membership(
    session: Session, member: TeamMember, user: User, *, now: datetime | None = None
) -> TeamMember:
    """Link a member to a user (money from now on, and in escrow so far, is theirs)."""
    member.user_id = user.id
    member.accepted_at = now or datetime.now(UTC)
    record_audit(
        session,
        actor_id=user.id,
        action="invitation.accept",
        subject_type="team_member",
        subject_id=member.id,
        details={"series_id": member.series_id, "invited_email": member.email},
    )
    return member


def accept_invitation(
    session: Session, token: str, user: User, *, now: datetime | None = None
) -> TeamMember:
    """Accept the invitation behind a token as `user` (any email; the invited one is shown)."""
    invitation = read_invitation(session, token, now)
    if invitation.state == "accepted":
        raise Conflict("This invitation has already been accepted.")
    if invitation.state == "replaced":
        raise ServiceError("A newer invitation was sent; use the link in the latest email.")
    if invitation.state == "expired":
        raise ServiceError("This invitation has expired; ask the creator to re-send it.")
    accept_membership(session, invitation.member, user, now=now)
    session.commit()
    return invitation.member
