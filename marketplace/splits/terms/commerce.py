"""Commerce splits: how a series' in-story commerce commissions are shared (e.g. the featured
actor 30 %), apart from its main split sheet. Versions, effective from a moment on; a series
without one shares commissions by its main split."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import Model
from marketplace.splits.models import TeamMember


class CommerceSplit(Model):
    """One version of a series' commerce split. Fields: series_id, platform_fee_bps (of the
    commission), effective_from, created_at; shares (member bps summing to 10000)."""

    __tablename__ = "commerce_splits"
    __table_args__ = (
        CheckConstraint(
            "platform_fee_bps >= 0 AND platform_fee_bps <= 10000", name="platform_fee_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    platform_fee_bps: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shares: Mapped[list[CommerceShare]] = relationship(
        order_by="CommerceShare.member_id", cascade="all, delete-orphan"
    )


class CommerceShare(Model):
    """A team member's basis points in one commerce split."""

    __tablename__ = "commerce_shares"
    __table_args__ = (
        UniqueConstraint("split_id", "member_id"),
        CheckConstraint("bps > 0 AND bps <= 10000", name="bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    split_id: Mapped[int] = mapped_column(ForeignKey("commerce_splits.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    bps: Mapped[int] = mapped_column(Integer)


def create_commerce_split(
    session: Session,
    series_id: int,
    shares: Mapping[int, int],
    *,
    platform_fee_bps: int,
    effective_from: datetime | None = None,
) -> CommerceSplit:
    """Add a commerce split version (member id -> bps, summing to 10000; members of the
    series); flushes, the caller commits."""
    if sum(shares.values()) != 10_000 or any(bps <= 0 for bps in shares.values()):
        raise ServiceError("Commerce shares are positive and sum to 100 %.", field="shares")
    members = set(
        session.scalars(
            select(TeamMember.id).where(
                TeamMember.series_id == series_id, TeamMember.id.in_(list(shares))
            )
        )
    )
    if members != set(shares):
        raise ServiceError("Every share must name a member of the series.", field="shares")
    split = CommerceSplit(
        series_id=series_id,
        platform_fee_bps=platform_fee_bps,
        effective_from=effective_from or datetime.now(UTC),
    )
    split.shares = [CommerceShare(member_id=m, bps=b) for m, b in sorted(shares.items())]
    session.add(split)
    session.flush()
    return split


def save_commerce_split(
    session: Session, series_id: int, shares: Mapping[int, int], *, platform_fee_bps: int
) -> CommerceSplit:
    """Set the series' commerce split from now on (a new version: commissions already
    accepted keep theirs); commits."""
    split = create_commerce_split(session, series_id, shares, platform_fee_bps=platform_fee_bps)
    session.commit()
    return split


def current_commerce_shares(session: Session, series_id: int) -> dict[int, int] | None:
    """The series' commerce split in force now, member id -> bps (None: it has none)."""
    found = commerce_splits_by_series(session, {series_id})[series_id]
    now = datetime.now(UTC)
    current = next((split for split in found if split[2] <= now), None)
    return dict(current[4]) if current is not None else None


CommerceTerms = tuple[int, int, datetime, int, tuple[tuple[int, int], ...]]
"""(id, series_id, effective_from, platform_fee_bps, ((member_id, bps), ...))."""


def commerce_splits_by_series(
    session: Session, series_ids: set[int]
) -> dict[int, list[CommerceTerms]]:
    """Every commerce split of these series, newest effective first (two queries)."""
    result: dict[int, list[CommerceTerms]] = {sid: [] for sid in series_ids}
    if not series_ids:
        return result
    splits = session.execute(
        select(
            CommerceSplit.id,
            CommerceSplit.series_id,
            CommerceSplit.effective_from,
            CommerceSplit.platform_fee_bps,
        )
        .where(CommerceSplit.series_id.in_(series_ids))
        .order_by(CommerceSplit.effective_from.desc(), CommerceSplit.id.desc())
    ).all()
    shares: dict[int, list[tuple[int, int]]] = {row[0]: [] for row in splits}
    if shares:
        for split_id, member_id, bps in session.execute(
            select(CommerceShare.split_id, CommerceShare.member_id, CommerceShare.bps)
            .where(CommerceShare.split_id.in_(shares))
            .order_by(CommerceShare.member_id)
        ):
            shares[split_id].append((member_id, bps))
    for split_id, series_id, effective_from, fee in splits:
        result[series_id].append(
            (split_id, series_id, effective_from, fee, tuple(shares[split_id]))
        )
    return result
