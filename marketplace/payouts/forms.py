"""Payout forms: connecting a Stripe account, and the admins' decisions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.tax.rules import countries


class ConnectForm(FlaskForm):
    """Start (or resume) Stripe Connect onboarding, in the country the payee lives in."""

    country = SelectField(
        _l("Country you live in"),
        validators=[DataRequired()],
        default="US",
        description=_l("Stripe opens your payout account there; it decides the currencies you "
        "can be paid in."),
    )
    submit = SubmitField(_l("Set up payouts with Stripe"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, name) for code, name in countries().items()]


class DevOnboardingForm(FlaskForm):
    """Emulated sandbox only: what the account holder enters in Stripe's hosted onboarding
    that matters here (bank accounts in more currencies than the default one)."""

    banks = SelectMultipleField(
        _l("Also add a bank account in"),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=True,
    )
    submit = SubmitField(_l("Finish onboarding"))


class ApproveBatchForm(FlaskForm):
    """An admin approves a batch (an optional note goes to the audit log)."""

    reason = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Approve batch"))


class RejectLineForm(FlaskForm):
    """An admin takes one line out of a batch, saying why."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Reject line"))


class BuildBatchForm(FlaskForm):
    """An admin builds today's batch now instead of waiting for the schedule."""

    submit = SubmitField(_l("Build today's batch"))


class ExecuteBatchForm(FlaskForm):
    """An admin sends an approved batch's lines to Stripe."""

    submit = SubmitField(_l("Send approved payouts"))
