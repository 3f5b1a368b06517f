"""Who shares a series' revenue: team members, split versions and their shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

PARTICIPANT_ROLES = ("writer", "actor", "director", "producer", "editor", "composer", "other")


class TeamMember(Model):
    """A person on a series' team: an existing user, or someone invited by email.

    Until the invitation is accepted (user_id set, accepted_at set), their share is earned into
    an escrow account of this membership; it is never paid and never moved to someone else.
    Fields: email (normalised), user_id (NULL until accepted), credit_name, role,
    invited_at, invitation_expires_at (30 days after the last (re-)send), accepted_at,
    invitation_nonce (changes on re-send so older links stop working).
    """

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("series_id", "email"),
        CheckConstraint(
            "role IN ('writer', 'actor', 'director', 'producer', 'editor', 'composer', 'other')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    credit_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invitation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invitation_nonce: Mapped[str] = mapped_column(String(32), default="")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def accepted(self) -> bool:
        """Whether the person has accepted (their money goes to their own payable)."""
        return self.accepted_at is not None and self.user_id is not None


class SplitVersion(Model):
    """One version of a series' split sheet; editing makes a new version effective from now.

    Money already posted keeps the version it was posted under (each version is its own
    allocation bucket in the ledger). Fields: number (1, 2, ...), platform_fee_bps (from
    PLATFORM_FEE_BPS when the version was made), effective_from, created_by.
    """

    __tablename__ = "split_versions"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint(
            "platform_fee_bps >= 0 AND platform_fee_bps <= 10000", name="platform_fee_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    platform_fee_bps: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shares: Mapped[list[SplitShare]] = relationship(
        back_populates="version", order_by="SplitShare.member_id", cascade="all, delete-orphan"
    )


class SplitShare(Model):
    """A team member's basis points in one split version (the version's shares sum to 10000)."""

    __tablename__ = "split_shares"
    __table_args__ = (
        UniqueConstraint("version_id", "member_id"),
        CheckConstraint("bps > 0 AND bps <= 10000", name="bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("split_versions.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"), index=True)
    bps: Mapped[int] = mapped_column(Integer)

    version: Mapped[SplitVersion] = relationship(back_populates="shares")
    member: Mapped[TeamMember] = relationship()
