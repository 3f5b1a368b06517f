"""Studio forms: they check shape (types, lengths); services check the rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.errors import ServiceError
from marketplace.studio.rules import parse_price


def words(text: str | None) -> list[str]:
    """Comma-separated words typed by a person, as a list."""
    return [w.strip() for w in (text or "").split(",") if w.strip()]


class SeriesForm(FlaskForm):
    """A series' descriptive fields (and its currency when it is created)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    synopsis = TextAreaField("Synopsis", validators=[Length(max=5000)])
    language = StringField(
        "Language code", default="en", validators=[DataRequired(), Length(max=20)]
    )
    genres = StringField("Genres (comma-separated)", validators=[Length(max=400)])
    tags = StringField("Tags (comma-separated)", validators=[Length(max=400)])
    currency = StringField(
        "Currency of your prices", default="USD", validators=[DataRequired(), Length(3, 3)]
    )
    poster = FileField("Poster image (PNG, JPEG or WebP)")
    submit = SubmitField("Save")


class PricingForm(FlaskForm):
    """The first N free episodes, then a price per episode, and an optional bundle price.

    Prices are typed in the currency's main unit ("0.49"); `episode_price_minor` and
    `bundle_price_minor` hold them as integer minor units after validation.
    """

    currency = StringField("Currency", validators=[DataRequired(), Length(3, 3)])
    free_episodes = IntegerField("Free episodes (the first N)", validators=[NumberRange(min=0)])
    episode_price = StringField("Price per paid episode", validators=[DataRequired()])
    bundle_price = StringField("Bundle price for the whole series (optional)")
    submit = SubmitField("Save pricing")

    episode_price_minor: int | None = None
    bundle_price_minor: int | None = None

    def _minor(self, field) -> int | None:
        if not (field.data or "").strip():
            return None
        try:
            return parse_price(field.data, self.currency.data or "USD", field.name)
        except ServiceError as error:
            raise ValidationError(error.message) from None

    def validate_episode_price(self, field) -> None:
        """Convert the per-episode price to minor units."""
        self.episode_price_minor = self._minor(field)

    def validate_bundle_price(self, field) -> None:
        """Convert the bundle price to minor units."""
        self.bundle_price_minor = self._minor(field)


class EpisodeForm(FlaskForm):
    """An episode: title, duration, and a video upload or an https link."""

    title = StringField("Title", validators=[Length(max=200)])
    duration_seconds = IntegerField(
        "Duration (seconds)",
        validators=[Optional()],
        description="Read from the video itself when you upload one; type it for a link.",
    )
    media = FileField("Video file (mp4, mov or webm)")
    media_url = URLField("…or an https link to the video", validators=[Optional()])
    submit = SubmitField("Save episode")


class LocalizeForm(FlaskForm):
    """A localized version: its language and title."""

    language = StringField("Language code", validators=[DataRequired(), Length(max=20)])
    title = StringField("Title in that language", validators=[Length(max=200)])
    submit = SubmitField("Create localized version")


class ActionForm(FlaskForm):
    """An empty form: a POST button carrying only the CSRF token."""

    submit = SubmitField("Go")


class ReorderForm(FlaskForm):
    """A series' episode ids in their new order, comma-separated (filled by dragging)."""

    order = HiddenField("Order", validators=[Length(max=20_000)])
