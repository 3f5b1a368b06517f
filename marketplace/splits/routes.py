"""Split sheets and invitations: the creator's split page, re-sending, accepting a link."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2

from marketplace.accounts.access import role_required
from marketplace.errors import NotFound, ServiceError, ValidationFailed, apply_service_error
from marketplace.extensions import db, limiter
from marketplace.formatting import format_money, parse_percent, percent, percent_field
from marketplace.splits import bp, invitations
from marketplace.splits import consent as plan_consents
from marketplace.splits import plans as revenue_plans
from marketplace.splits import services as splits
from marketplace.splits.forms import BudgetLineForm, PlanForm, SplitForm
from marketplace.splits.models import RevenuePlan, TeamMember
from marketplace.splits.positions import explain_plan, latest_plan, plan_history, plan_position
from marketplace.splits.terms.deal_terms import GuaranteeTerms
from marketplace.studio.forms import ActionForm
from marketplace.studio.models import Series
from marketplace.studio.rules import parse_price
from marketplace.studio.support import CREATOR, ROW_FIELD, owned_series_or_404

SHARE_PROBLEM = _l("A share is a percentage above 0 and at most 100, with at most two decimals.")


def _people_words(field: str | None, message: str, total: int) -> str:
    """The service's problems in percent, as the page asks for them (basis points stay in
    the API, the CLI and the manifest), in the reader's language."""
    if field == "split" and message.startswith("Shares add up to"):
        left = splits.TOTAL_BPS - total
        if left > 0:
            rest = _("%(share)s left to give", share=percent(left))
        else:
            rest = _("%(share)s too much", share=percent(-left))
        return _(
            "Shares add up to %(total)s; they must add up to %(whole)s (%(rest)s).",
            total=percent(total), whole=percent(splits.TOTAL_BPS), rest=rest,
        )
    if (field or "").endswith(".bps"):
        return str(SHARE_PROBLEM)
    return _(message)


def _show_split_errors(
    form: SplitForm, error: ServiceError, entry_index: list[int], total: int
) -> None:
    """Put each problem beside its row's field (row numbers are of the non-empty rows)."""
    problems = (
        error.problems if isinstance(error, ValidationFailed) else [(error.field, error.message)]
    )
    for field, message in problems:
        message = _people_words(field, message, total)
        match = ROW_FIELD.match(field or "")
        if match and int(match.group(1)) < len(entry_index):
            row = form.rows.entries[entry_index[int(match.group(1))]].form
            name = "share" if match.group(2) == "bps" else match.group(2)
            sub = getattr(row, name, None)
            if sub is not None:
                sub.errors = [*sub.errors, message]
                continue
        form.form_errors.append(message)


@bp.route("/series/<int:series_id>/split", methods=["GET", "POST"])
@role_required(CREATOR)
def split(series_id: int):
    """The split sheet: participants, roles, shares in percent, and each one's invitation
    status."""
    series = owned_series_or_404(series_id)
    fee_bps = current_app.config["PLATFORM_FEE_BPS"]
    if request.method == "GET":
        rows = splits.default_split_rows(db.session(), series)
        for row in rows:
            row["share"] = percent_field(row.pop("bps"))
        form = SplitForm(data={"rows": [*rows, {}]})
    else:
        form = SplitForm()
    # FieldList.errors is computed once during validation, so problems put on a row
    # afterwards do not show in form.errors: remember the refusal for the status instead.
    refused = False
    if form.validate_on_submit():
        if form.add_row.data:
            form.rows.append_entry()
        else:
            entry_index = [i for i, e in enumerate(form.rows.entries) if not e.form.is_empty()]
            rows = [
                {
                    "email": (form.rows.entries[i].form.email.data or "").strip(),
                    "role": form.rows.entries[i].form.role.data,
                    "credit_name": form.rows.entries[i].form.credit_name.data or "",
                    "bps": parse_percent(form.rows.entries[i].form.share.data),
                }
                for i in entry_index
            ]
            total = sum(row["bps"] or 0 for row in rows)
            try:
                saved = splits.save_split(
                    db.session(), series, current_user, rows, platform_fee_bps=fee_bps
                )
            except ServiceError as error:
                db.session.rollback()
                _show_split_errors(form, error, entry_index, total)
                refused = True
            else:
                shares = ", ".join(
                    f"{share.member.credit_name} {percent(share.bps)}" for share in saved.shares
                )
                flash(
                    _("Split version %(number)s saved, effective now: %(shares)s.",
                      number=saved.number, shares=shares),
                    "success",
                )
                return redirect(url_for("splits.split", series_id=series.id))
    version = splits.current_split(db.session(), series)
    status = 422 if refused or form.errors or form.form_errors else 200
    return render_template(
        "splits/split.html",
        form=form,
        series=series,
        version=version,
        participants=splits.participant_lines(version),
        fee_bps=fee_bps,
        fee_percent=percent(fee_bps),
        action_form=ActionForm(),
        percent=percent,
    ), status


def _amount(text: str | None, currency: str, field: str) -> int | None:
    """Money typed in the main unit, in minor units (None when left blank)."""
    if not (text or "").strip():
        return None
    return parse_price(text or "", currency, field)


GUARANTEE_FIELDS = {
    "guarantees[0].beneficiary_id": "guarantee_beneficiary",
    "guarantees[0].guarantor_id": "guarantee_beneficiary",
    "guarantees[0].kind": "guarantee_kind",
    "guarantees[0].period": "guarantee_period",
    "guarantees[0].amount": "guarantee_amount",
    "guarantees[0].currency": "guarantee_amount",
}
"""The plan service's fields of a guarantee -> the plan form's."""


def _guarantees(form: PlanForm, currency: str) -> list[GuaranteeTerms]:
    """The form's guarantee, if a member is chosen (owed by the creator's membership)."""
    if not form.guarantee_beneficiary.data:
        return []
    amount = _amount(form.guarantee_amount.data, currency, "guarantee_amount") or 0
    return [
        GuaranteeTerms(
            form.guarantee_beneficiary.data,
            form.guarantee_kind.data or "minimum",
            amount,
            currency,
            form.guarantee_period.data or "once",
        )
    ]


@bp.route("/series/<int:series_id>/plan", methods=["GET", "POST"])
@role_required(CREATOR)
def plan(series_id: int):
    """The revenue plan: the budget (costs and who carries them), tiers' premiums, an
    advance, and publishing a new plan version (effective now)."""
    series = owned_series_or_404(series_id)
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.series_id == series.id).order_by(TeamMember.id)
    ).all()
    choices = [SelectChoice(m.id, f"{m.credit_name} ({m.role})") for m in members]
    line_form, plan_form = BudgetLineForm(), PlanForm()
    line_form.holder_id.choices = choices
    plan_form.advance_recipient.choices = [SelectChoice(0, _l("No advance")), *choices]
    plan_form.advance_payer.choices = [SelectChoice(0, _l("-")), *choices]
    plan_form.guarantee_beneficiary.choices = [SelectChoice(0, _l("No guarantee")), *choices]
    lines = revenue_plans.budget_lines(db.session(), series.id)
    refused = False
    try:
        if line_form.add_line.data and line_form.validate_on_submit():
            revenue_plans.record_budget_line(
                db.session(),
                series,
                current_user,
                holder_id=line_form.holder_id.data,
                description=line_form.description.data or "",
                amount=_amount(line_form.amount.data, series.currency, "amount") or 0,
                tier=line_form.tier.data,
                receipt_url=line_form.receipt_url.data or None,
            )
            flash(_("Cost added to the budget."), "success")
            return redirect(url_for("splits.plan", series_id=series.id))
        if plan_form.publish.data and plan_form.validate_on_submit():
            used = max((line.tier for line in lines), default=0)
            tiers = [
                revenue_plans.TierTerms(n, (getattr(plan_form, f"premium_{n}").data or 100) * 100)
                for n in range(1, used + 1)
            ]
            advances = []
            if plan_form.advance_recipient.data:
                advances.append(
                    revenue_plans.AdvanceTerms(
                        plan_form.advance_recipient.data,
                        plan_form.advance_payer.data,
                        _amount(plan_form.advance_amount.data, series.currency, "advance_amount")
                        or 0,
                    )
                )
            saved = revenue_plans.create_revenue_plan(
                db.session(),
                series,
                current_user,
                tiers=tiers,
                advances=advances,
                guarantees=_guarantees(plan_form, series.currency),
            )
            if saved.status == "pending":
                flash(
                    _("Plan version %(number)s is waiting for the answers of the members"
                      " whose share it changes; it takes effect once all accept.",
                      number=saved.number),
                    "info",
                )
            else:
                flash(
                    _("Plan version %(number)s published, effective now.", number=saved.number),
                    "success",
                )
            return redirect(url_for("splits.plan", series_id=series.id))
    except ServiceError as error:
        db.session.rollback()
        refused = True
        target = line_form if line_form.add_line.data else plan_form
        if isinstance(error, ValidationFailed):
            for field, message in error.problems:
                field = GUARANTEE_FIELDS.get(field, field)
                apply_service_error(target, ServiceError(message, field=field))
        else:
            apply_service_error(target, error)
    current = latest_plan(db.session(), series.id)
    status = 422 if refused or line_form.errors or plan_form.errors else 200
    return render_template(
        "splits/plan.html",
        series=series,
        lines=lines,
        line_form=line_form,
        plan_form=plan_form,
        plan=current,
        position=plan_position(db.session(), current) if current else None,
        explanation=explain_plan(current, _money(series.currency)) if current else [],
        history=plan_history(db.session(), series.id),
        percent=percent,
    ), status


@bp.route("/plans/<int:plan_id>/consent", methods=["GET", "POST"])
@role_required(CREATOR, "participant")
def plan_consent(plan_id: int):
    """A plan version that changes the member's share: what it changes, and accept/decline."""
    try:
        consent = plan_consents.pending_consent(db.session(), plan_id, current_user)
    except NotFound:
        abort(404)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        accept = request.form.get("answer") == "accept"
        try:
            plan_consents.answer_plan(db.session(), plan_id, current_user, accept=accept)
        except ServiceError as error:
            flash(error.localized(), "error")
        else:
            flash(_("Thank you: your answer is recorded."), "success")
        return redirect(url_for("splits.plan_consent", plan_id=plan_id))
    proposed = db.session.get_one(RevenuePlan, plan_id)
    series = db.session.get_one(Series, proposed.series_id)
    return render_template(
        "splits/consent.html",
        plan=proposed,
        series=series,
        consent=consent,
        explanation=explain_plan(proposed, _money(series.currency)),
        form=form,
    )


def _money(currency: str):
    return lambda amount: format_money(amount, currency, "en")


@bp.route("/members/<int:member_id>/resend", methods=["POST"])
@role_required(CREATOR)
def resend_invitation(member_id: int):
    """Send a participant a fresh link (new nonce, new 30 days); older links stop working."""
    member = db.session.get(TeamMember, member_id)
    if member is None:
        abort(404)
    series = owned_series_or_404(member.series_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        invitations.resend_invitation(db.session(), member, current_user)
    except ServiceError as error:
        flash(error.localized(), "error")
    else:
        flash(_("A new invitation was sent to %(email)s.", email=member.email), "success")
    return redirect(url_for("splits.split", series_id=series.id))


def _invitation_or_404(token: str) -> invitations.Invitation:
    try:
        return invitations.read_invitation(db.session(), token)
    except NotFound:
        abort(404)


@bp.route("/invitations/<token>")
def invitation(token: str):
    """An invitation link: anyone holding it may read it (the signed token is the key)."""
    found = _invitation_or_404(token)
    return render_template(
        "splits/invitation.html",
        invitation=found,
        token=token,
        form=ActionForm(),
        share_bps=_current_share(found),
        percent=percent,
    )


def _current_share(found: invitations.Invitation) -> int | None:
    version = splits.current_split(db.session(), found.series)
    if version is None:
        return None
    return next((s.bps for s in version.shares if s.member_id == found.member.id), None)


def _account_key() -> str:
    """Rate-limit key of the logged-in account (the client address for anonymous requests)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def _invitation_limit() -> str:
    return current_app.config["INVITATION_LIMIT"]


@bp.route("/invitations/<token>/accept", methods=["POST"])
@limiter.limit(_invitation_limit)
@limiter.limit(_invitation_limit, key_func=_account_key)
@role_required(CREATOR, "participant")
def accept_invitation(token: str):
    """Accept an invitation as the logged-in user (whatever email they signed up with)."""
    found = _invitation_or_404(token)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        invitations.accept_invitation(db.session(), token, current_user)
    except ServiceError as error:
        flash(error.localized(), "error")
        return redirect(url_for("splits.invitation", token=token))
    flash(_("You are on the team of “%(series)s”.", series=found.series.title), "success")
    return redirect(url_for("earnings.series_list"))



# The remake and commerce split pages register themselves on `bp` when imported.
from marketplace.splits import commerce_routes, remake_routes  # noqa: E402, F401
