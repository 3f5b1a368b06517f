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
from wtforms.validators import Length, Optional

from marketplace.splits.models import PARTICIPANT_ROLES


class SplitRowForm(Form):
    """One participant of a split sheet (a sub-form: the outer form carries the CSRF token)."""

    email = StringField("Email", validators=[Length(max=254)])
    role = SelectField(
        "Role",
        choices=[SelectChoice("", "Choose…"), *[SelectChoice(r, r) for r in PARTICIPANT_ROLES]],
    )
    credit_name = StringField("Credit name", validators=[Length(max=120)])
    bps = IntegerField("Share (basis points)", validators=[Optional()])

    def is_empty(self) -> bool:
        """Whether the person left the whole row blank (such rows are ignored)."""
        return not (self.email.data or self.credit_name.data or self.bps.data)


class SplitForm(FlaskForm):
    """A whole split sheet; "Add a row" re-shows the form with one more blank row."""

    rows = FieldList(FormField(SplitRowForm), min_entries=1, max_entries=50)
    add_row = SubmitField("Add a row")
    submit = SubmitField("Save split")
