"""Forms for accounts: they check shape; services check rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2
from wtforms.validators import DataRequired, EqualTo, Length

from marketplace.accounts.services import MIN_PASSWORD_LENGTH
from marketplace.mail import KINDS, NON_ESSENTIAL


class SignupForm(FlaskForm):
    """Create an account as a creator or as a team member (participant)."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    display_name = StringField("Your name", validators=[Length(max=120)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )
    role = RadioField(
        "I am",
        choices=[
            SelectChoice("creator", "A creator: I publish series"),
            SelectChoice("participant", "On a team: actor, writer, director..."),
        ],
        default="creator",
        validators=[DataRequired()],
    )
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    """Log in with email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Log in")


class ChangePasswordForm(FlaskForm):
    """Replace the password, proving the current one."""

    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", "Passwords differ.")],
    )
    submit = SubmitField("Change password")


class LogoutForm(FlaskForm):
    """An empty form: logging out is a POST with a CSRF token."""

    submit = SubmitField("Log out")


def field_name(kind: str) -> str:
    """The form field of a kind of mail ("payout.paid" -> "mail_payout_paid")."""
    return "mail_" + kind.replace(".", "_")


class NotificationsForm(FlaskForm):
    """One checkbox per non-essential kind of mail (checked: send it)."""

    submit = SubmitField("Save preferences")


for _kind in NON_ESSENTIAL:
    setattr(NotificationsForm, field_name(_kind), BooleanField(KINDS[_kind]))


class LogoutEverywhereForm(FlaskForm):
    """An empty form: ends every session of the user, this one included."""

    submit = SubmitField("Log out everywhere")


class ConfirmSignupForm(FlaskForm):
    """The emailed link's page creates the account with a POST (a link scanner that only GETs
    the link creates nothing); the browser fills in its time zone (static/js/timezone.js)."""

    time_zone = HiddenField(
        validators=[Length(max=64)], render_kw={"data-browser-time-zone": ""}
    )
    submit = SubmitField("Create my account")


class SettingsForm(FlaskForm):
    """The person's time zone (every date is shown in it) and language."""

    time_zone = SelectField(
        _l("Time zone"), description=_l("Every date on the site is shown in it.")
    )
    language = SelectField(_l("Language"))
    submit = SubmitField(_l("Save settings"))
