"""The deal terms a revenue plan carries besides its tiers and advances: flat fees and minimum
guarantees (owed by the creator), and a remake's royalties to members of its original's team
(declared when the localized version is made, copied into each of its plans).

Checks here refuse bad terms naming the field, before anything is saved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.allocation.guarantees import GUARANTEE_KINDS, GUARANTEE_PERIODS
from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.errors import Problem, ServiceError, is_int, raise_problems
from marketplace.splits.models import PlanGuarantee, PlanRoyalty, RemakeRoyalty, TeamMember
from marketplace.studio.models import Series
from marketplace.studio.series import stage_localized_version

BPS = 10_000


@dataclass(frozen=True, slots=True)
class GuaranteeTerms:
    """A flat fee or minimum guarantee asked for: `amount` minor units of `currency` per
    `period` ("month", "episode", "once") to beneficiary_id, owed by guarantor_id (default:
    the creator's own membership)."""

    beneficiary_id: int
    kind: str
    amount: int
    currency: str
    period: str = "once"
    guarantor_id: int | None = None


@dataclass(frozen=True, slots=True)
class RoyaltyTerms:
    """A remake's royalty: bps (1-9999) of its participants' pool to member_id, a member of
    the original series' team."""

    member_id: int
    bps: int


def creator_member(session: Session, series: Series) -> TeamMember | None:
    """The series owner's own membership of its team (None before the first split sheet)."""
    return session.scalars(
        select(TeamMember).where(
            TeamMember.series_id == series.id, TeamMember.user_id == series.owner_id
        )
    ).first()


def _member(session: Session, series_id: int, member_id: object) -> TeamMember | None:
    member = session.get(TeamMember, member_id) if is_int(member_id) else None
    return member if member is not None and member.series_id == series_id else None


def _guarantor_id(asked: GuaranteeTerms, creator: TeamMember | None) -> int | None:
    """Who owes a guarantee: the member named, else the creator's own membership."""
    if asked.guarantor_id is not None:
        return asked.guarantor_id
    return creator.id if creator else None


def guarantee_problems(
    session: Session, series: Series, guarantees: Sequence[GuaranteeTerms]
) -> list[Problem]:
    """What is wrong with the guarantees asked for, by field (empty when nothing)."""
    problems: list[Problem] = []
    creator = creator_member(session, series)
    for index, asked in enumerate(guarantees):
        field = f"guarantees[{index}]"
        if asked.kind not in GUARANTEE_KINDS:
            problems.append((f"{field}.kind", "Choose a flat fee or a minimum guarantee."))
        if asked.period not in GUARANTEE_PERIODS:
            problems.append((f"{field}.period", "Choose per month, per episode or once."))
        if not is_int(asked.amount) or asked.amount <= 0:
            problems.append((f"{field}.amount", "A guarantee is a positive amount."))
        if asked.currency != series.currency:
            problems.append(
                (
                    f"{field}.currency",
                    f"A guarantee is in the series' currency ({series.currency}),"
                    f" not {asked.currency}.",
                )
            )
        beneficiary = _member(session, series.id, asked.beneficiary_id)
        if beneficiary is None:
            problems.append((f"{field}.beneficiary_id", "Choose a member of this series' team."))
        guarantor_id = _guarantor_id(asked, creator)
        if _member(session, series.id, guarantor_id) is None:
            problems.append((f"{field}.guarantor_id", "Choose who owes it: a team member."))
        elif guarantor_id == asked.beneficiary_id:
            problems.append((f"{field}.guarantor_id", "Someone else guarantees a member's pay."))
    return problems


def plan_guarantee_rows(
    session: Session, series: Series, guarantees: Sequence[GuaranteeTerms]
) -> list[PlanGuarantee]:
    """The plan's guarantee rows (guarantee_problems must be empty)."""
    creator = creator_member(session, series)
    return [
        PlanGuarantee(
            beneficiary_id=g.beneficiary_id,
            guarantor_id=_guarantor_id(g, creator),
            kind=g.kind,
            period=g.period,
            amount=g.amount,
            currency=g.currency,
        )
        for g in guarantees
    ]


def plan_royalty_rows(session: Session, series: Series) -> list[PlanRoyalty]:
    """The royalties a plan of this series carries: those its remake declared."""
    return [
        PlanRoyalty(member_id=r.member_id, bps=r.bps)
        for r in session.scalars(
            select(RemakeRoyalty)
            .where(RemakeRoyalty.series_id == series.id)
            .order_by(RemakeRoyalty.member_id)
        )
    ]


def royalty_problems(
    session: Session, original: Series, royalties: Sequence[RoyaltyTerms]
) -> list[Problem]:
    """What is wrong with a remake's royalties, by field (empty when nothing)."""
    problems: list[Problem] = []
    seen = set()
    for index, asked in enumerate(royalties):
        field = f"royalties[{index}]"
        if _member(session, original.id, asked.member_id) is None:
            problems.append((f"{field}.member_id", "Choose a member of the original's team."))
        elif asked.member_id in seen:
            problems.append((f"{field}.member_id", "Name each member of the original once."))
        seen.add(asked.member_id)
        if not is_int(asked.bps) or not 0 < asked.bps < BPS:
            problems.append((f"{field}.bps", "A royalty is more than 0 % and under 100 %."))
    total = sum(r.bps for r in royalties if is_int(r.bps))
    if total >= BPS:
        problems.append(
            ("royalties", "The royalties together must stay under 100 % of the remake's pool.")
        )
    return problems


def create_remake(
    session: Session,
    original: Series,
    actor: User,
    *,
    language: str,
    title: str | None = None,
    royalties: Sequence[RoyaltyTerms] = (),
) -> Series:
    """A localized version (own cast) of a series that declares royalties to members of the
    original's team; its revenue plans carry them, so its team accepts them like any plan.
    Refuses bad royalties naming the field, with nothing saved; commits once."""
    raise_problems(royalty_problems(session, original, royalties))
    if original.original_series_id is not None:
        raise ServiceError("Make a remake from the original series.", field="original")
    version = stage_localized_version(session, original, actor, language=language, title=title)
    for asked in royalties:
        session.add(RemakeRoyalty(series_id=version.id, member_id=asked.member_id, bps=asked.bps))
    session.flush()
    record_audit(
        session,
        actor_id=actor.id,
        action="remake.create",
        subject_type="series",
        subject_id=version.id,
        details={"original": original.id, "royalties": [[r.member_id, r.bps] for r in royalties]},
    )
    session.commit()
    return version


def remake_royalties(session: Session, series_id: int) -> list[RemakeRoyalty]:
    """The royalties a remake declared (empty for any other series)."""
    return list(
        session.scalars(
            select(RemakeRoyalty)
            .where(RemakeRoyalty.series_id == series_id)
            .order_by(RemakeRoyalty.member_id)
        )
    )
