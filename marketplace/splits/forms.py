"""The split editor's form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
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

ROLE_LABELS = {
    "writer": _l("writer"), "actor": _l("actor"), "director": _l("director"),
    "producer": _l("producer"), "editor": _l("editor"), "composer": _l("composer"),
    "other": _l("other"),
}
"""How the split editor names each role (the value sent stays the English code)."""


class SplitRowForm(Form):
    """One participant of a split sheet (a sub-form: the outer form carries the CSRF token)."""

    email = StringField(_l("Email"), validators=[Length(max=254)])
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("", _l("Choose…")),
            *[SelectChoice(r, ROLE_LABELS[r]) for r in PARTICIPANT_ROLES],
        ],
    )
    credit_name = StringField(_l("Credit name"), validators=[Length(max=120)])
    share = StringField(_l("Share (%)"), validators=[Length(max=12)])

    def is_empty(self) -> bool:
        """Whether the person left the whole row blank (such rows are ignored)."""
        return not (self.email.data or self.credit_name.data or (self.share.data or "").strip())


class SplitForm(FlaskForm):
    """A whole split sheet in percent; "Add a row" re-shows the form with one more blank row.
    Save comes first so that Enter in any field saves (a form's default button is its first)."""

    rows = FieldList(FormField(SplitRowForm), min_entries=1, max_entries=50)
    submit = SubmitField(_l("Save split"))
    add_row = SubmitField(_l("Add a row"))


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

    holder_id = SelectField(_l("Carried by"), coerce=int)
    tier = SelectField(
        _l("Repaid in tier"), coerce=int, choices=[SelectChoice(n, str(n)) for n in range(1, 5)]
    )
    description = StringField(_l("What it paid for"), validators=[Length(max=200)])
    amount = StringField(_l("Amount"))
    receipt_url = StringField(
        _l("Receipt link (optional)"), validators=[Optional(), Length(max=500)]
    )
    add_line = SubmitField(_l("Add the cost"))


class PlanForm(FlaskForm):
    """A new plan version: each tier's premium (whole percent, 100 to 1,000), an optional
    advance and an optional flat fee or minimum guarantee (owed by the creator), amounts
    typed in the main unit."""

    premium_1 = IntegerField(_l("Premium of tier 1 (%)"), default=100, validators=[Optional()])
    premium_2 = IntegerField(_l("Premium of tier 2 (%)"), default=100, validators=[Optional()])
    premium_3 = IntegerField(_l("Premium of tier 3 (%)"), default=100, validators=[Optional()])
    premium_4 = IntegerField(_l("Premium of tier 4 (%)"), default=100, validators=[Optional()])
    advance_recipient = SelectField(_l("Advance paid to"), coerce=int)
    advance_payer = SelectField(_l("Advance paid by"), coerce=int)
    advance_amount = StringField(_l("Advance amount (optional)"))
    guarantee_beneficiary = SelectField(_l("Guarantee to"), coerce=int, default=0)
    guarantee_kind = SelectField(
        _l("Kind"),
        default="minimum",
        choices=[
            SelectChoice("minimum", _l("Minimum guarantee (tops the share up)")),
            SelectChoice("flat_fee", _l("Flat fee (on top of the share)")),
        ],
    )
    guarantee_period = SelectField(
        _l("Per"),
        default="once",
        choices=[
            SelectChoice("once", _l("once")),
            SelectChoice("month", _l("month")),
            SelectChoice("episode", _l("released episode")),
        ],
    )
    guarantee_amount = StringField(_l("Guaranteed amount (optional)"))
    publish = SubmitField(_l("Publish the plan"))


class RoyaltyRowForm(Form):
    """One royalty of a remake: a member of the original's team and a percent of the pool."""

    member_id = SelectField(_l("Member of the original"), coerce=int, default=0)
    percent = StringField(_l("Percent of the remake's pool"), validators=[Length(max=10)])


class RemakeForm(FlaskForm):
    """A localized version (its own cast) with royalties to the original's team."""

    language = StringField(_l("Language code"), validators=[DataRequired(), Length(max=20)])
    title = StringField(_l("Title in that language"), validators=[Length(max=200)])
    royalties = FieldList(FormField(RoyaltyRowForm), min_entries=3, max_entries=20)
    create = SubmitField(_l("Create the remake"))
