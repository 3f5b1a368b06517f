"""The split editor's form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2
from wtforms.validators import DataRequired, Length, Optional

from marketplace.splits.models import PARTICIPANT_ROLES


class SplitRowForm(Form):
    """One participant of a split sheet (a sub-form: the outer form carries the CSRF token)."""

    email = StringField("Email", validators=[Length(max=254)])
    role = SelectField(
        "Role",
        choices=[SelectChoice("", "Choose…"), *[SelectChoice(r, r) for r in PARTICIPANT_ROLES]],
    )
    credit_name = StringField("Credit name", validators=[Length(max=120)])
    share = StringField("Share (%)", validators=[Length(max=12)])

    def is_empty(self) -> bool:
        """Whether the person left the whole row blank (such rows are ignored)."""
        return not (self.email.data or self.credit_name.data or (self.share.data or "").strip())


class SplitForm(FlaskForm):
    """A whole split sheet in percent; "Add a row" re-shows the form with one more blank row.
    Save comes first so that Enter in any field saves (a form's default button is its first)."""

    rows = FieldList(FormField(SplitRowForm), min_entries=1, max_entries=50)
    submit = SubmitField("Save split")
    add_row = SubmitField("Add a row")


class CommerceRowForm(Form):
    """One team member's share of the commerce split, in percent (blank: none)."""

    member_id = IntegerField("Member")
    share = StringField("Share (%)", validators=[Length(max=12)])


class CommerceSplitForm(FlaskForm):
    """How the series' in-story commerce commissions are shared: one row per team member."""

    rows = FieldList(FormField(CommerceRowForm), max_entries=200)
    submit = SubmitField("Save the commerce split")


class BudgetLineForm(FlaskForm):
    """A cost of the series: who carries it, in which recoupment tier, how much (typed in the
    currency's main unit, "2000.00"; `amount_minor` holds it in minor units after validation)."""

    holder_id = SelectField("Carried by", coerce=int)
    tier = SelectField(
        "Repaid in tier", coerce=int, choices=[SelectChoice(n, str(n)) for n in range(1, 5)]
    )
    description = StringField("What it paid for", validators=[Length(max=200)])
    amount = StringField("Amount")
    receipt_url = StringField("Receipt link (optional)", validators=[Optional(), Length(max=500)])
    add_line = SubmitField("Add the cost")


class PlanForm(FlaskForm):
    """A new plan version: each tier's premium (whole percent, 100 to 1,000), an optional
    advance and an optional flat fee or minimum guarantee (owed by the creator), amounts
    typed in the main unit."""

    premium_1 = IntegerField("Premium of tier 1 (%)", default=100, validators=[Optional()])
    premium_2 = IntegerField("Premium of tier 2 (%)", default=100, validators=[Optional()])
    premium_3 = IntegerField("Premium of tier 3 (%)", default=100, validators=[Optional()])
    premium_4 = IntegerField("Premium of tier 4 (%)", default=100, validators=[Optional()])
    advance_recipient = SelectField("Advance paid to", coerce=int)
    advance_payer = SelectField("Advance paid by", coerce=int)
    advance_amount = StringField("Advance amount (optional)")
    guarantee_beneficiary = SelectField("Guarantee to", coerce=int, default=0)
    guarantee_kind = SelectField(
        "Kind",
        default="minimum",
        choices=[
            SelectChoice("minimum", "Minimum guarantee (tops the share up)"),
            SelectChoice("flat_fee", "Flat fee (on top of the share)"),
        ],
    )
    guarantee_period = SelectField(
        "Per",
        default="once",
        choices=[
            SelectChoice("once", "once"),
            SelectChoice("month", "month"),
            SelectChoice("episode", "released episode"),
        ],
    )
    guarantee_amount = StringField("Guaranteed amount (optional)")
    publish = SubmitField("Publish the plan")


class RoyaltyRowForm(Form):
    """One royalty of a remake: a member of the original's team and a percent of the pool."""

    member_id = SelectField("Member of the original", coerce=int, default=0)
    percent = StringField("Percent of the remake's pool", validators=[Length(max=10)])


class RemakeForm(FlaskForm):
    """A localized version (its own cast) with royalties to the original's team."""

    language = StringField("Language code", validators=[DataRequired(), Length(max=20)])
    title = StringField("Title in that language", validators=[Length(max=200)])
    royalties = FieldList(FormField(RoyaltyRowForm), min_entries=3, max_entries=20)
    create = SubmitField("Create the remake")
