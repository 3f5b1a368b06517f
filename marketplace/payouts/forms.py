"""Payout forms: connecting a Stripe account, and the admins' decisions."""

from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ConnectForm(FlaskForm):
    """Start (or resume) Stripe Connect onboarding."""

    submit = SubmitField("Set up payouts with Stripe")


class ApproveBatchForm(FlaskForm):
    """An admin approves a batch (an optional note goes to the audit log)."""

    reason = StringField("Note (optional)", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Approve batch")


class RejectLineForm(FlaskForm):
    """An admin takes one line out of a batch, saying why."""

    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=500)])
    submit = SubmitField("Reject line")


class BuildBatchForm(FlaskForm):
    """An admin builds today's batch now instead of waiting for the schedule."""

    submit = SubmitField("Build today's batch")


class ExecuteBatchForm(FlaskForm):
    """An admin sends an approved batch's lines to Stripe."""

    submit = SubmitField("Send approved payouts")
