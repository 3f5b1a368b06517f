"""Split sheets: who shares a series' revenue, in versions that never rewrite the past.

Saving a split makes a new SplitVersion effective from now. The ledger keys every posting to
the version in force when the unlock happened (marketplace.ingest.revenue), so a new version
changes only money earned after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.services import normalise_email
from marketplace.audit import record_audit
from marketplace.errors import Problem, ServiceError, ValidationFailed, is_int, raise_problems
from marketplace.formatting import percent
from marketplace.splits.invitations import accept_membership, member_status, send_invitation
from marketplace.splits.models import PARTICIPANT_ROLES, SplitShare, SplitVersion, TeamMember
from marketplace.splits.notices import notify_split_changed
from marketplace.studio.models import Series

TOTAL_BPS = 10_000


def current_split(session: Session, series: Series) -> SplitVersion | None:
    """The series' latest split version, or None before the first one."""
    return session.scalars(
        select(SplitVersion)
        .where(SplitVersion.series_id == series.id)
        .order_by(SplitVersion.number.desc())
        .limit(1)
    ).first()


def split_is_complete(version: SplitVersion | None) -> bool:
    """Whether a version exists and its shares add up to exactly 10000."""
    return version is not None and sum(s.bps for s in version.shares) == TOTAL_BPS


def normalise_rows(
    rows: Sequence[dict[str, Any]], prefix: str = "split"
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Rows with a normalised `email` (from `email` or `user`), and every problem found."""
    normalised, problems = [], []
    for i, row in enumerate(rows):
        clean = dict(row)
        user = row.get("user")
        if user is not None:
            clean["email"] = user.email
        else:
            try:
                clean["email"] = normalise_email(str(row.get("email") or ""))
            except ServiceError as error:
                problems.append((f"{prefix}[{i}].email", error.message))
                clean["email"] = None
        if isinstance(clean.get("credit_name"), str):
            clean["credit_name"] = clean["credit_name"].strip()
        normalised.append(clean)
    return normalised, problems + split_problems(normalised, prefix)


def validate_split_rows(rows: Sequence[dict[str, Any]], prefix: str = "split") -> list[Problem]:
    """Every problem with split rows, without changing anything."""
    return normalise_rows(rows, prefix)[1]


def stage_split(
    session: Session,
    series: Series,
    actor: User | None,
    rows: Sequence[dict[str, Any]],
    *,
    platform_fee_bps: int,
    now: datetime | None = None,
) -> SplitVersion:
    """Make the next split version in the session (the caller commits); see save_split."""
    now = now or datetime.now(UTC)
    rows, problems = normalise_rows(rows)
    raise_problems(problems)
    if not 0 <= platform_fee_bps <= TOTAL_BPS:
        raise ValidationFailed([("platform_fee_bps", "The platform fee is out of range.")])
    latest = current_split(session, series)
    if latest is not None and now < latest.effective_from:
        # Versions are numbered in time order: revenue uses the one in force at each moment
        # (latest effective_from), pages show the highest number; a backdated one splits them.
        raise ServiceError(
            f"A new split version cannot take effect before version {latest.number} "
            f"(effective from {latest.effective_from:%Y-%m-%d %H:%M} UTC)."
        )
    owner_email = session.get_one(User, series.owner_id).email
    members = {
        m.email: m
        for m in session.scalars(select(TeamMember).where(TeamMember.series_id == series.id))
    }
    number = (
        session.scalar(
            select(func.max(SplitVersion.number)).where(SplitVersion.series_id == series.id)
        )
        or 0
    ) + 1
    version = SplitVersion(
        series_id=series.id,
        number=number,
        platform_fee_bps=platform_fee_bps,
        effective_from=now,
        created_by_id=actor.id if actor else None,
    )
    session.add(version)
    to_invite = []
    for row in rows:
        member = members.get(row["email"])
        if member is None:
            member = TeamMember(series_id=series.id, email=row["email"], invited_at=now)
            session.add(member)
        member.role, member.credit_name = row["role"], row["credit_name"]
        session.flush()
        user = row.get("user")
        if user is None and row["email"] == owner_email:
            user = session.get(User, series.owner_id)
        if user is not None and not member.accepted:
            accept_membership(session, member, user, now=now)
        elif not member.accepted and not member.invitation_nonce:
            to_invite.append((member, row["bps"]))
        version.shares.append(SplitShare(member_id=member.id, bps=row["bps"]))
    session.flush()
    for member, bps in to_invite:
        send_invitation(session, member, series, bps=bps, now=now)
    skip = {m.email for m, _ in to_invite}
    if actor is not None:
        skip.add(actor.email)
    notify_split_changed(session, series, version, skip=skip)
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="split.change",
        subject_type="series",
        subject_id=series.id,
        details={
            "version": number,
            "platform_fee_bps": platform_fee_bps,
            "shares": [
                {"member_id": s.member_id, "email": r["email"], "role": r["role"], "bps": s.bps}
                for s, r in zip(version.shares, rows, strict=True)
            ],
        },
    )
    return version


def save_split(
    session: Session,
    series: Series,
    actor: User | None,
    rows: Sequence[dict[str, Any]],
    *,
    platform_fee_bps: int,
    now: datetime | None = None,
) -> SplitVersion:
    """Save a new split version effective from `now` (default: this moment).

    rows: [{"email" or "user", "role", "credit_name", "bps"}]; roles from PARTICIPANT_ROLES,
    bps positive integers adding up to exactly 10000. Team members are reused by (series,
    email); a `user` row, or the owner's own email, is accepted at once; anyone else new gets
    an invitation email. The version records `platform_fee_bps` (PLATFORM_FEE_BPS). A `now`
    before the latest version's effective_from is refused (ServiceError): no backdating.
    """
    version = stage_split(session, series, actor, rows, platform_fee_bps=platform_fee_bps, now=now)
    session.commit()
    return version


@dataclass(frozen=True, slots=True)
class ParticipantLine:
    """One participant of a split version, for pages and the CLI: member, bps, state, label."""

    member: TeamMember
    bps: int
    state: str
    label: str


def participant_lines(
    version: SplitVersion | None, now: datetime | None = None
) -> list[ParticipantLine]:
    """The participants of a version with their invitation status."""
    if version is None:
        return []
    lines = []
    for share in sorted(version.shares, key=lambda s: (-s.bps, s.member_id)):
        state, label = member_status(share.member, now)
        lines.append(ParticipantLine(share.member, share.bps, state, label))
    return lines


def default_split_rows(session: Session, series: Series) -> list[dict[str, Any]]:
    """Rows to start the split form with: the current version's, or for a localized version
    with no split yet, the original's writers."""
    version = current_split(session, series)
    if version is None and series.original_series_id:
        original = session.get(Series, series.original_series_id)
        version = current_split(session, original) if original else None
        shares = [s for s in version.shares if s.member.role == "writer"] if version else []
    else:
        shares = list(version.shares) if version else []
    return [
        {
            "email": s.member.email,
            "role": s.member.role,
            "credit_name": s.member.credit_name,
            "bps": s.bps,
        }
        for s in shares
    ]


def split_problems(rows: Sequence[dict[str, Any]], prefix: str = "split") -> list[Problem]:
    """Problems with split rows (already holding normalised `email`): roles, bps, the sum."""
    problems: list[Problem] = []
    if not rows:
        return [(prefix, "Add at least one participant.")]
    seen: set[str] = set()
    total = 0
    shares_valid = True
    for i, row in enumerate(rows):
        where = f"{prefix}[{i}]"
        email = row.get("email")
        if email:
            if email in seen:
                problems.append((f"{where}.email", f"{email} is listed twice."))
            seen.add(email)
        if row.get("role") not in PARTICIPANT_ROLES:
            problems.append((f"{where}.role", f"Choose a role: {', '.join(PARTICIPANT_ROLES)}."))
        credit = row.get("credit_name")
        if not isinstance(credit, str) or not credit.strip() or len(credit) > 120:
            problems.append((f"{where}.credit_name", "Give the name to show in the credits."))
        bps = row.get("bps")
        if not is_int(bps) or not 0 < bps <= TOTAL_BPS:
            problems.append(
                (f"{where}.bps", "A share is a whole number of basis points from 1 to 10,000.")
            )
            shares_valid = False
        else:
            total += bps
    if shares_valid and total != TOTAL_BPS:
        problems.append(
            (
                prefix,
                f"Shares add up to {total:,} basis points ({percent(total)}); "
                f"they must add up to {TOTAL_BPS:,} (100%).",
            )
        )
    return problems
