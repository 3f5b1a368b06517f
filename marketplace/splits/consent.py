"""Consent to plan changes: a plan version that lowers someone's share, puts (more) recoupment
ahead of her or recovers an advance from her earnings takes effect only when each such member
has accepted, by a deadline. Until then the plan in force (or the split) stays; a decline or
the deadline passing keeps it for good, and the creator is told by mail. Each answer is kept
(plan_consents) as the history of who accepted what, and when."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.services import language_of
from marketplace.audit import record_audit
from marketplace.clock import utcnow
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.formatting import format_money, percent, speaking
from marketplace.mail import queue_mail
from marketplace.navigation import absolute
from marketplace.splits.models import PlanConsent, PlanGuarantee, RevenuePlan, SplitVersion
from marketplace.studio.models import Series

CONSENT_DAYS = 14
"""How long affected members have to answer a plan version."""


def _ahead_of(plan: RevenuePlan | None, member_id: int) -> Fraction:
    """The recoupment (with premiums) repaid to others before the profit split."""
    total = Fraction(0)
    for tier in plan.tiers if plan else []:
        cost = sum(h.amount for h in tier.holders)
        own = sum(h.amount for h in tier.holders if h.member_id == member_id)
        total += Fraction((cost - own) * tier.premium_bps, 10_000)
    return total


def _terms(guarantee: PlanGuarantee) -> tuple[int, str, str, int]:
    return (guarantee.beneficiary_id, guarantee.kind, guarantee.period, guarantee.amount)


def affected_members(
    plan: RevenuePlan,
    previous: RevenuePlan | None,
    split: SplitVersion | None,
    currency: str,
) -> dict[int, str]:
    """member id -> why the plan needs her consent, against the plan in force (or the split
    in force when there is no plan): a lower profit share, more recoupment ahead of her, or a
    new advance recovered from her earnings."""
    if previous is not None:
        before = {s.member_id: s.bps for s in previous.shares}
    else:
        before = {s.member_id: s.bps for s in split.shares} if split else {}
    now = {s.member_id: s.bps for s in plan.shares}
    old_advances = {a.recipient_id: a.amount for a in previous.advances} if previous else {}
    reasons: dict[int, str] = {}
    guarantors = {g.guarantor_id for g in plan.guarantees}
    for member_id in sorted(before.keys() | now.keys() | guarantors):
        why = []
        if now.get(member_id, 0) < before.get(member_id, 0):
            why.append(
                f"your profit share goes from {percent(before.get(member_id, 0))}"
                f" to {percent(now.get(member_id, 0))}"
            )
        ahead, was = _ahead_of(plan, member_id), _ahead_of(previous, member_id)
        if ahead > was:
            why.append(
                f"{format_money(int(-(-ahead // 1)), currency, 'en')} is repaid to others"
                " before the profit split"
            )
        royalty = sum(r.bps for r in plan.royalties if r.member_id != member_id)
        had = sum(r.bps for r in previous.royalties if r.member_id != member_id) if previous else 0
        if royalty > had:
            why.append(
                f"{percent(royalty)} of the pool goes first to the original series' team"
                " (a remake's royalty)"
            )
        owed = {_terms(g) for g in plan.guarantees if g.guarantor_id == member_id}
        had_owed = (
            {_terms(g) for g in previous.guarantees if g.guarantor_id == member_id}
            if (previous)
            else set()
        )
        if owed - had_owed:
            why.append("you guarantee another member's pay: any shortfall comes from your earnings")
        new_advance = sum(a.amount for a in plan.advances if a.recipient_id == member_id)
        if new_advance > old_advances.get(member_id, 0):
            why.append(
                f"an advance of {format_money(new_advance, currency, 'en')} is recovered from"
                " your earnings first"
            )
        if why:
            reasons[member_id] = "; ".join(why).capitalize() + "."
    return reasons


def request_consents(
    session: Session,
    series: Series,
    plan: RevenuePlan,
    reasons: dict[int, str],
    actor: User | None,
    now: datetime,
) -> None:
    """Make the plan pending: one consent row and one mail per affected member (the caller
    commits)."""
    plan.status = "pending"
    plan.deadline = now + timedelta(days=CONSENT_DAYS)
    plan.consents = [PlanConsent(member_id=m, reason=why) for m, why in sorted(reasons.items())]
    session.flush()
    for consent in plan.consents:
        with speaking(language_of(session, consent.member.email)):
            subject = _('Your consent: a new revenue plan for "%(series)s"', series=series.title)
            body = _(
                '%(who)s proposes revenue plan version %(number)s of "%(series)s". %(reason)s'
                "\n\nIt takes effect only if you and every other member it affects accept, by "
                "%(deadline)s UTC; until then nothing changes.\n\nAccept or decline: %(link)s\n",
                who=actor.display_name if actor else _("The creator"), number=plan.number,
                series=series.title, reason=consent.reason,
                deadline=f"{plan.deadline:%Y-%m-%d %H:%M}",
                link=absolute(f"/studio/plans/{plan.id}/consent"),
            )
        queue_mail(
            session,
            to=consent.member.email,
            subject=subject,
            body=body,
            kind="plan.consent",
            dedupe_key=f"plan-consent:{plan.id}:{consent.member_id}",
        )


def pending_consent(session: Session, plan_id: int, user: User) -> PlanConsent:
    """The user's consent row on a plan (NotFound when she has none: nothing to show)."""
    consent = session.scalars(
        select(PlanConsent)
        .where(PlanConsent.plan_id == plan_id)
        .join(PlanConsent.member)
        .where(PlanConsent.member.has(user_id=user.id))
    ).first()
    if consent is None:
        raise NotFound("No such plan to answer.")
    return consent


def answer_plan(
    session: Session, plan_id: int, user: User, *, accept: bool, now: datetime | None = None
) -> RevenuePlan:
    """Record a member's answer. A decline ends the plan (the current terms stay); the last
    acceptance puts it in force from now (and pays its advances). Commits."""
    from marketplace.splits.plans import activate_plan

    now = now or utcnow()
    consent = pending_consent(session, plan_id, user)
    plan = session.get_one(RevenuePlan, plan_id)
    if consent.member.user_id != user.id:
        raise Forbidden("Only the member can answer.")
    if plan.status == "pending" and plan.deadline is not None and plan.deadline <= now:
        _close(session, plan, "expired", now)
        session.commit()
        raise Conflict("The deadline to answer has passed; the plan did not take effect.")
    if plan.status != "pending" or consent.status != "pending":
        raise Conflict("This plan is not waiting for your answer.")
    consent.status = "accepted" if accept else "declined"
    consent.decided_at, consent.decided_by_id = now, user.id
    record_audit(
        session,
        actor_id=user.id,
        action=f"revenue_plan.{consent.status}",
        subject_type="revenue_plan",
        subject_id=plan.id,
        details={"member": consent.member_id},
    )
    if not accept:
        _close(session, plan, "declined", now)
    elif all(c.status == "accepted" for c in plan.consents):
        activate_plan(session, plan, now)
        _tell_creator(session, plan, "accepted")
    session.commit()
    return plan


def expire_plans(session: Session, now: datetime | None = None) -> int:
    """End every pending plan past its deadline (the current terms stay); tells each creator.
    Returns how many. Commits."""
    now = now or utcnow()
    plans = session.scalars(
        select(RevenuePlan).where(RevenuePlan.status == "pending", RevenuePlan.deadline <= now)
    ).all()
    for plan in plans:
        _close(session, plan, "expired", now)
    session.commit()
    return len(plans)


def _close(session: Session, plan: RevenuePlan, status: str, now: datetime) -> None:
    plan.status, plan.decided_at = status, now
    _tell_creator(session, plan, status)


def _tell_creator(session: Session, plan: RevenuePlan, outcome: str) -> None:
    """Mail the series' owner, in their language, that a plan was decided (outcome: accepted,
    declined or expired)."""
    series = session.get_one(Series, plan.series_id)
    owner = session.get_one(User, series.owner_id)
    page = absolute(f"/studio/series/{series.id}/plan")
    with speaking(language_of(session, owner.email)):
        what = {
            "accepted": _("accepted by everyone it affects: it is in force now"),
            "declined": _("declined by a member it affects: it will not take effect"),
            "expired": _(
                "not accepted by everyone it affects before the deadline: it will not take effect"
            ),
        }[outcome]
        state = {"accepted": _("accepted"), "declined": _("declined"), "expired": _("expired")}
        subject = _(
            'Revenue plan %(number)s of "%(title)s": %(status)s',
            number=plan.number, title=series.title, status=state.get(plan.status, plan.status),
        )
        body = _(
            'Revenue plan version %(number)s of "%(title)s" was %(what)s.\n\n'
            "Who answered: %(page)s\n",
            number=plan.number, title=series.title, what=what, page=page,
        )
    queue_mail(
        session,
        to=owner.email,
        subject=subject,
        body=body,
        kind="plan.decided",
        dedupe_key=f"plan-decided:{plan.id}:{plan.status}",
    )
