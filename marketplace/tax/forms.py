"""The W-9 and W-8BEN forms (shapes only; the tax services check the rules)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2
from wtforms.validators import DataRequired, Length, Optional

from marketplace.tax.rules import countries


def _country_choices(blank: str = "") -> list[SelectChoice]:
    return [SelectChoice("", blank), *(SelectChoice(c, n) for c, n in countries().items())]


class W9Form(FlaskForm):
    """Form W-9: a US person's taxpayer identification number and certification."""

    legal_name = StringField(
        _l("Legal name (as on your tax return)"), validators=[DataRequired(), Length(max=200)]
    )
    tin_type = SelectField(
        _l("Taxpayer identification number"),
        choices=[SelectChoice(t, t) for t in ("SSN", "ITIN", "EIN")],
    )
    tin = StringField(
        _l("Number"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    address = TextAreaField(_l("Address"), validators=[DataRequired(), Length(max=500)])
    certified = BooleanField(
        _l("Under penalties of perjury, I certify the number shown is my correct taxpayer "
        "identification number, I am not subject to backup withholding, and I am a US person. "
        "(Without this, 24 % backup withholding applies.)")
    )
    signed_name = StringField(
        _l("Signature (type your name)"), validators=[DataRequired(), Length(max=200)]
    )
    submit = SubmitField(_l("Submit W-9"))


class W8BENForm(FlaskForm):
    """Form W-8BEN: a foreign person's residence, foreign TIN and treaty claim."""

    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    residence_country = SelectField(_l("Country of tax residence"), validators=[DataRequired()])
    foreign_tin = StringField(
        _l("Foreign tax identifying number"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "off"},
    )
    address = TextAreaField(
        _l("Permanent residence address"), validators=[DataRequired(), Length(max=500)]
    )
    treaty_country = SelectField(_l("Treaty country (optional)"), validators=[Optional()])
    treaty_article = StringField(
        _l("Treaty article for royalties, e.g. 12(2)"), validators=[Optional(), Length(max=60)]
    )
    treaty_rate = StringField(
        _l("Treaty withholding rate (%)"), validators=[Optional(), Length(max=8)]
    )
    certified = BooleanField(
        _l("Under penalties of perjury, I certify that I am the beneficial owner of this income, "
        "not a US person, and a resident of the country above.")
    )
    signed_name = StringField(
        _l("Signature (type your name)"), validators=[DataRequired(), Length(max=200)]
    )
    submit = SubmitField(_l("Submit W-8BEN"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.residence_country.choices = _country_choices("Choose a country")
        self.treaty_country.choices = _country_choices("No treaty claim")
